//! The field-wise three-way merge of two TOML tables that share a base.
//!
//! For every key: equal on both sides, or changed on one side only, takes that value
//! (a deletion is a change); a list changed on both sides merges by element; a table changed
//! on both sides merges key by key; a scalar changed on both sides is settled by the rules
//! of `rules.rs`, and where they have none it is a conflict. A field deleted on one side and
//! changed on the other keeps the change. Keys are never dropped otherwise, known or not.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use toml::{Table, Value};

use super::lines;
use super::rules::{Rules, Scalar, compare, identity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Ours,
    Theirs,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Theirs => "theirs",
        }
    }
}

/// What to do with a field that both sides changed and no rule settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictStyle {
    /// Write a conflict hunk around that field and report it (the merge driver).
    Markers,
    /// Keep this side's value and report the other's (repairs).
    Prefer(Side),
}

/// One field where the two sides differed, and what the merge made of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// `title`, `deps[fg-abcd (blocks)].note`, ...
    pub field: String,
    pub outcome: String,
}

/// A field both sides changed that no rule settles.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub field: String,
    /// The key as written in its table.
    pub key: String,
    pub base: Option<Value>,
    pub ours: Value,
    pub theirs: Value,
    /// The placeholder value standing in for the hunk in the merged table.
    pub sentinel: String,
}

pub(super) struct Merger<'r> {
    rules: &'r Rules,
    style: ConflictStyle,
    pub decisions: Vec<Decision>,
    pub conflicts: Vec<Conflict>,
}

/// A short, one-line rendering of a value for decisions.
pub fn show(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "(absent)".into();
    };
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    let text = text.replace('\n', " ");
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Keys of `ours` in order, then keys only `theirs` has, in its order.
fn union_keys<'a>(ours: &'a Table, theirs: &'a Table) -> Vec<&'a String> {
    let mut keys: Vec<&String> = ours.keys().collect();
    keys.extend(theirs.keys().filter(|k| !ours.contains_key(*k)));
    keys
}

impl<'r> Merger<'r> {
    pub fn new(rules: &'r Rules, style: ConflictStyle) -> Self {
        Merger {
            rules,
            style,
            decisions: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    fn decide(&mut self, field: &str, outcome: String) {
        self.decisions.push(Decision {
            field: field.to_owned(),
            outcome,
        });
    }

    /// Merges two tables; `prefix` is the path of the table ("" at the top).
    pub fn tables(
        &mut self,
        prefix: &str,
        base: Option<&Table>,
        ours: &Table,
        theirs: &Table,
    ) -> Table {
        let top = prefix.is_empty();
        let mut merged: HashMap<String, Value> = HashMap::new();
        let mut done: HashSet<&str> = HashSet::new();
        if top {
            for group in self.rules.groups {
                self.group(group, base, ours, theirs, &mut merged);
                done.extend(group.keys.iter().copied());
            }
        }
        for key in union_keys(ours, theirs) {
            if done.contains(key.as_str()) {
                continue;
            }
            let b = base.and_then(|t| t.get(key));
            let field = join(prefix, key);
            if let Some(v) = self.value(&field, key, top, b, ours.get(key), theirs.get(key)) {
                merged.insert(key.clone(), v);
            }
        }
        // Ours' order, then theirs' new keys; at the top, the order forge writes.
        let mut out = Table::new();
        if top {
            for key in self.rules.order {
                if let Some(v) = merged.remove(*key) {
                    out.insert((*key).to_owned(), v);
                }
            }
        }
        for key in union_keys(ours, theirs) {
            if let Some(v) = merged.remove(key.as_str()) {
                out.insert(key.clone(), v);
            }
        }
        out
    }

    /// Takes a whole group of fields from one side.
    fn group(
        &mut self,
        group: &super::rules::Group,
        base: Option<&Table>,
        ours: &Table,
        theirs: &Table,
        merged: &mut HashMap<String, Value>,
    ) {
        let tuple = |t: Option<&Table>| -> Vec<Option<Value>> {
            group
                .keys
                .iter()
                .map(|k| t.and_then(|t| t.get(*k)).cloned())
                .collect()
        };
        let (b, o, t) = (tuple(base), tuple(Some(ours)), tuple(Some(theirs)));
        let lead = group.keys[0];
        let winner = if o == t || t == b {
            Side::Ours
        } else if o == b {
            Side::Theirs
        } else {
            let rank = |v: &Option<Value>| {
                v.as_ref()
                    .and_then(Value::as_str)
                    .and_then(|s| group.ranking.iter().position(|r| *r == s))
            };
            let (ro, rt) = (rank(&o[0]), rank(&t[0]));
            let by_rank = match ro.cmp(&rt) {
                std::cmp::Ordering::Greater => Some(Side::Ours),
                std::cmp::Ordering::Less => Some(Side::Theirs),
                std::cmp::Ordering::Equal => None,
            };
            let by_time = || {
                group.tiebreak.iter().find_map(|k| {
                    let (a, c) = (ours.get(*k)?, theirs.get(*k)?);
                    match compare(a, c)? {
                        std::cmp::Ordering::Greater => Some(Side::Ours),
                        std::cmp::Ordering::Less => Some(Side::Theirs),
                        std::cmp::Ordering::Equal => None,
                    }
                })
            };
            let side = by_rank.or_else(by_time).unwrap_or(Side::Ours);
            let (won, lost) = match side {
                Side::Ours => (&o, &t),
                Side::Theirs => (&t, &o),
            };
            let why = if by_rank.is_some() {
                format!("{} takes precedence", show(won[0].as_ref()))
            } else {
                "the later change wins".to_owned()
            };
            self.decide(
                lead,
                format!(
                    "changed on both sides: kept {} {} ({why}); the other side had {}",
                    side.as_str(),
                    describe_tuple(group.keys, won),
                    describe_tuple(group.keys, lost),
                ),
            );
            side
        };
        let chosen = match winner {
            Side::Ours => o.clone(),
            Side::Theirs => t.clone(),
        };
        if o != t && (o == b || t == b) {
            self.decide(lead, format!("from {}", winner.as_str()));
        }
        for (key, value) in group.keys.iter().zip(chosen) {
            if let Some(v) = value {
                merged.insert((*key).to_owned(), v);
            }
        }
    }

    /// The merged value of one key, or None if it is deleted.
    fn value(
        &mut self,
        field: &str,
        key: &str,
        top: bool,
        b: Option<&Value>,
        o: Option<&Value>,
        t: Option<&Value>,
    ) -> Option<Value> {
        if o == t {
            return o.cloned();
        }
        if o == b {
            self.decide(field, format!("from theirs: {}", show(t)));
            return t.cloned();
        }
        if t == b {
            self.decide(field, format!("from ours: {}", show(o)));
            return o.cloned();
        }
        // Both changed, differently.
        let (o, t) = match (o, t) {
            (Some(o), Some(t)) => (o, t),
            (Some(kept), None) | (None, Some(kept)) => {
                let side = if o.is_some() { "ours" } else { "theirs" };
                self.decide(
                    field,
                    format!("deleted on one side, changed on the other: kept the change ({side})"),
                );
                return Some(kept.clone());
            }
            (None, None) => unreachable!("equal sides returned above"),
        };
        match (o, t) {
            (Value::Table(ot), Value::Table(tt)) => {
                let bt = b.and_then(Value::as_table);
                return Some(Value::Table(self.tables(field, bt, ot, tt)));
            }
            (Value::Array(oa), Value::Array(ta)) => {
                let empty = Vec::new();
                let ba = b.and_then(Value::as_array).unwrap_or(&empty);
                return Some(Value::Array(self.arrays(field, key, ba, oa, ta)));
            }
            _ => {}
        }
        let rule = if top {
            self.rules.scalar(key)
        } else {
            Scalar::Text
        };
        let settled = match rule {
            Scalar::Max | Scalar::Min => compare(o, t).map(|ord| {
                let ours_wins = (ord == std::cmp::Ordering::Greater) == (rule == Scalar::Max);
                let what = if rule == Scalar::Max {
                    "larger"
                } else {
                    "smaller"
                };
                (if ours_wins { o } else { t }.clone(), format!("the {what}"))
            }),
            Scalar::Rank(ranking) => {
                let rank = |v: &Value| {
                    v.as_str()
                        .and_then(|s| ranking.iter().position(|r| *r == s))
                };
                match (rank(o), rank(t)) {
                    (Some(x), Some(y)) => {
                        Some((if x >= y { o } else { t }.clone(), "the higher".to_owned()))
                    }
                    _ => None,
                }
            }
            Scalar::Text => match (b, o, t) {
                (Some(Value::String(bs)), Value::String(os), Value::String(ts)) => {
                    lines::merge_clean(bs, os, ts)
                        .map(|m| (Value::String(m), "merged line by line".to_owned()))
                }
                _ => None,
            },
        };
        if let Some((value, how)) = settled {
            self.decide(
                field,
                format!(
                    "changed on both sides: {how}: {} (ours {}, theirs {})",
                    show(Some(&value)),
                    show(Some(o)),
                    show(Some(t))
                ),
            );
            return Some(value);
        }
        self.conflict(field, key, b, o, t)
    }

    fn conflict(
        &mut self,
        field: &str,
        key: &str,
        b: Option<&Value>,
        o: &Value,
        t: &Value,
    ) -> Option<Value> {
        match self.style {
            ConflictStyle::Prefer(side) => {
                let (kept, other) = match side {
                    Side::Ours => (o, t),
                    Side::Theirs => (t, o),
                };
                self.decide(
                    field,
                    format!(
                        "changed on both sides: kept {} {}; the other side had {}",
                        side.as_str(),
                        show(Some(kept)),
                        show(Some(other))
                    ),
                );
                Some(kept.clone())
            }
            ConflictStyle::Markers => {
                let sentinel = format!("@@forge-conflict-{}@@", self.conflicts.len());
                self.decide(field, "changed on both sides: conflict".to_owned());
                self.conflicts.push(Conflict {
                    field: field.to_owned(),
                    key: key.to_owned(),
                    base: b.cloned(),
                    ours: o.clone(),
                    theirs: t.clone(),
                    sentinel: sentinel.clone(),
                });
                Some(Value::String(sentinel))
            }
        }
    }

    /// Merges two lists by element: additions from either side are kept, removals from
    /// either side applied; an element both sides changed (a table with the same identity)
    /// merges field by field.
    fn arrays(
        &mut self,
        field: &str,
        key: &str,
        base: &[Value],
        ours: &[Value],
        theirs: &[Value],
    ) -> Vec<Value> {
        let id = |v: &Value| identity(key, v);
        let in_base: HashMap<String, &Value> = base.iter().map(|v| (id(v), v)).rev().collect();
        let in_theirs: HashMap<String, &Value> = theirs.iter().map(|v| (id(v), v)).rev().collect();
        let in_ours: HashSet<String> = ours.iter().map(id).collect();
        let mut out = Vec::with_capacity(ours.len() + theirs.len());
        let mut seen = HashSet::new();
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for e in ours {
            let k = id(e);
            let b = in_base.get(&k).copied();
            let t = in_theirs.get(&k).copied();
            if b.is_some() && t.is_none() {
                removed.push(format!("-{k} (theirs)"));
                continue;
            }
            if b.is_none() && t.is_none() && !seen.contains(&k) {
                added.push(format!("+{k} (ours)"));
            }
            seen.insert(k.clone());
            let merged = match (e, t) {
                (Value::Table(et), Some(Value::Table(tt))) if et != tt => {
                    let bt = b.and_then(Value::as_table);
                    Value::Table(self.tables(&format!("{field}[{k}]"), bt, et, tt))
                }
                _ => e.clone(),
            };
            out.push(merged);
        }
        for e in theirs {
            let k = id(e);
            if !in_ours.contains(&k) && !in_base.contains_key(&k) && seen.insert(k.clone()) {
                added.push(format!("+{k} (theirs)"));
                out.push(e.clone());
            }
        }
        for e in base {
            let k = id(e);
            if !in_ours.contains(&k) && in_theirs.contains_key(&k) {
                removed.push(format!("-{k} (ours)"));
            }
        }
        let mut changes = added;
        changes.extend(removed);
        if !changes.is_empty() {
            self.decide(field, format!("merged by element: {}", changes.join(", ")));
        }
        out
    }
}

fn describe_tuple(keys: &[&str], values: &[Option<Value>]) -> String {
    keys.iter()
        .zip(values)
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} = {}", show(Some(v)))))
        .collect::<Vec<_>>()
        .join(", ")
}
