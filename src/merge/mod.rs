//! Merging `.forge/` files that two branches changed: the field-wise three-way merge behind
//! `forge merge-driver` (git's custom merge driver for bead and assumption files) and behind
//! `forge resolve` (repairing files that a merge without the driver left with conflict
//! markers).
//!
//! Nothing depends on the driver being registered: beads and assumptions live one per file,
//! so branches that touch different ones never conflict. The driver only makes merges of
//! the *same* file better than git's line merge. The rules are in `rules.rs` and, for users,
//! in docs/merge.md.
//!
//! - `lines`: a line-based diff3, for text fields and for files that do not parse
//! - `markers`: splitting a conflict-marked file back into its sides
//! - `table`: the field-wise merge of TOML tables
//! - `rules`: what each field of a bead or assumption does when both sides changed it
//! - `register`: the driver's entries in git's config and `.forge/.gitattributes`
//! - `resolve`: repairing conflict-marked files in the working tree

pub mod lines;
pub mod markers;
pub mod register;
pub mod resolve;
pub mod rules;
pub mod table;

use serde::Serialize;
use toml::{Table, Value};

pub use rules::FileKind;
use table::{Conflict, Merger};
pub use table::{ConflictStyle, Decision, Side};

/// The result of a merge.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The merged file.
    pub text: String,
    /// Every field where the sides differed and what was taken.
    pub decisions: Vec<Decision>,
    /// Fields written as conflict hunks (only with [`ConflictStyle::Markers`]).
    pub conflicts: Vec<String>,
}

impl Outcome {
    pub fn clean(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// A side that is not a TOML table, so it cannot be merged field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unparseable {
    pub side: Side,
    pub message: String,
}

fn parse(text: &str) -> Result<Table, String> {
    if let Some(line) = markers::first_marker(text) {
        return Err(format!("line {line}: a git conflict marker"));
    }
    toml::from_str::<Table>(text).map_err(|e| e.message().trim().to_owned())
}

/// Merges three versions of a TOML file field by field. `base` is None when there is no
/// common version (both sides added the file), or when it does not parse (a virtual base
/// of a criss-cross merge can hold conflict markers): then every difference counts as a
/// change on both sides, and lists keep every element either side has.
pub fn merge_toml(
    kind: FileKind,
    base: Option<&str>,
    ours: &str,
    theirs: &str,
    style: ConflictStyle,
) -> Result<Outcome, Unparseable> {
    let o = parse(ours).map_err(|message| Unparseable {
        side: Side::Ours,
        message,
    })?;
    let t = parse(theirs).map_err(|message| Unparseable {
        side: Side::Theirs,
        message,
    })?;
    let b = base.and_then(|b| parse(b).ok());
    let mut merger = Merger::new(kind.rules(), style);
    let mut table = merger.tables("", b.as_ref(), &o, &t);
    let decisions = std::mem::take(&mut merger.decisions);
    let mut conflicts = std::mem::take(&mut merger.conflicts);
    let text = render(&mut table, &mut conflicts);
    Ok(Outcome {
        text,
        decisions,
        conflicts: conflicts.into_iter().map(|c| c.field).collect(),
    })
}

/// `key = value` as forge writes it in a table, for a conflict hunk.
fn key_line(key: &str, value: &Value) -> Option<String> {
    let hunk_safe = |v: &Value| match v {
        Value::Table(_) => false,
        Value::Array(items) => !items.iter().any(Value::is_table),
        _ => true,
    };
    if !hunk_safe(value) {
        return None;
    }
    let mut one = Table::new();
    one.insert(key.to_owned(), value.clone());
    toml::to_string(&one).ok()
}

fn replace_sentinel(value: &mut Value, sentinel: &str, with: &Value) -> bool {
    match value {
        Value::String(s) if s == sentinel => {
            *value = with.clone();
            true
        }
        Value::Table(t) => t
            .iter_mut()
            .any(|(_, v)| replace_sentinel(v, sentinel, with)),
        Value::Array(items) => items
            .iter_mut()
            .any(|v| replace_sentinel(v, sentinel, with)),
        _ => false,
    }
}

/// Writes the merged table, with a conflict hunk in place of each conflict's placeholder.
/// A conflict whose placeholder does not sit on a line of its own (inside an inline table)
/// or whose values cannot be written as one `key = value` takes ours instead, so that the
/// file still says everything.
fn render(table: &mut Table, conflicts: &mut Vec<Conflict>) -> String {
    loop {
        let text = toml::to_string(&*table).expect("a TOML table always serialises");
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut placed: Vec<(usize, &Conflict)> = Vec::new();
        let mut unplaceable = None;
        for (i, c) in conflicts.iter().enumerate() {
            let expected = key_line(&c.key, &Value::String(c.sentinel.clone()));
            let at = expected.and_then(|exp| {
                let mut hits = lines.iter().enumerate().filter(|(_, l)| **l == exp);
                match (hits.next(), hits.next()) {
                    (Some((n, _)), None) => Some(n),
                    _ => None,
                }
            });
            let sides_fit = [Some(&c.ours), Some(&c.theirs), c.base.as_ref()]
                .into_iter()
                .flatten()
                .all(|v| key_line(&c.key, v).is_some());
            match at {
                Some(n) if sides_fit => placed.push((n, c)),
                _ => {
                    unplaceable = Some(i);
                    break;
                }
            }
        }
        if let Some(i) = unplaceable {
            let c = conflicts.remove(i);
            let mut root = Value::Table(std::mem::take(table));
            replace_sentinel(&mut root, &c.sentinel, &c.ours);
            *table = match root {
                Value::Table(t) => t,
                _ => unreachable!(),
            };
            continue;
        }
        let mut out = String::with_capacity(text.len() + 256);
        for (n, line) in lines.iter().enumerate() {
            match placed.iter().find(|(at, _)| *at == n) {
                Some((_, c)) => {
                    let side =
                        |v: Option<&Value>| v.and_then(|v| key_line(&c.key, v)).unwrap_or_default();
                    let (o, b, t) = (
                        side(Some(&c.ours)),
                        side(c.base.as_ref()),
                        side(Some(&c.theirs)),
                    );
                    let (o, b, t) = (
                        lines::split_lines(&o),
                        lines::split_lines(&b),
                        lines::split_lines(&t),
                    );
                    lines::write_hunk(&mut out, &b, &o, &t);
                }
                None => out.push_str(line),
            }
        }
        return out;
    }
}

/// Merges whole texts line by line, as git's own merge would: for files that do not parse.
pub fn merge_lines(base: Option<&str>, ours: &str, theirs: &str) -> (String, usize) {
    lines::merge_with_markers(base.unwrap_or(""), ours, theirs)
}

#[cfg(test)]
mod tests;
