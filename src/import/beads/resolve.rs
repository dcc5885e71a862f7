//! Checking the issues of one file against each other and against the beads already in
//! forge: statuses, dependency targets and types, single parents, cycles. An issue that
//! depends on an invalid one is invalid too, so that nothing is imported with a dependency
//! silently missing.

use std::collections::HashMap;

use super::map::{Fate, dep_kind, fate};
use super::parse::{Issue, Problem};
use crate::bead::graph::Graph;
use crate::bead::{BeadSummary, DepKind};

/// What becomes of one issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Created as a new bead.
    New,
    /// Imported before, as this bead: left alone.
    Existing(String),
    /// Deleted in beads (`tombstone`): not imported.
    Deleted,
    /// Not imported, for this reason.
    Invalid(String),
}

pub struct Batch<'i> {
    pub issues: &'i [Issue],
    pub plans: Vec<Plan>,
    by_id: HashMap<&'i str, usize>,
    /// Dependencies dropped because their target was deleted in beads.
    pub notes: Vec<Problem>,
}

impl<'i> Batch<'i> {
    /// Checks `issues`; `imported` maps beads ids imported before to their beads.
    /// `unreadable`: the lines that did not parse; an issue that depends on one of them (by
    /// the id the line holds) is invalid too.
    pub fn new(
        issues: &'i [Issue],
        imported: &HashMap<&str, &str>,
        unreadable: &[Problem],
    ) -> Self {
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        let mut plans = Vec::with_capacity(issues.len());
        for (i, issue) in issues.iter().enumerate() {
            let plan = if let Some(&first) = by_id.get(issue.id.as_str()) {
                Plan::Invalid(format!(
                    "id {} is already used on line {}",
                    issue.id, issues[first].line
                ))
            } else {
                by_id.insert(&issue.id, i);
                match fate(&issue.status) {
                    Err(message) => Plan::Invalid(message),
                    Ok(Fate::Deleted) => Plan::Deleted,
                    Ok(Fate::Bead(_)) => match imported.get(issue.id.as_str()) {
                        Some(bead) => Plan::Existing((*bead).to_owned()),
                        None => Plan::New,
                    },
                }
            };
            plans.push(plan);
        }
        let mut batch = Batch {
            issues,
            plans,
            by_id,
            notes: Vec::new(),
        };
        for i in 0..issues.len() {
            if matches!(batch.plans[i], Plan::New | Plan::Existing(_))
                && let Err(message) = batch.check_deps(i, imported, unreadable)
            {
                batch.plans[i] = Plan::Invalid(message);
            }
        }
        batch.cascade();
        batch
    }

    /// The issue with beads id `id` in this file, if any.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    fn check_deps(
        &mut self,
        i: usize,
        imported: &HashMap<&str, &str>,
        unreadable: &[Problem],
    ) -> Result<(), String> {
        let issue = &self.issues[i];
        let mut parents = Vec::new();
        for dep in &issue.deps {
            let Some((kind, _)) = dep_kind(&dep.kind) else {
                return Err(format!(
                    "the dependency on {} has type \"{}\", which forge cannot map",
                    dep.target,
                    dep.kind.escape_default()
                ));
            };
            match self.by_id.get(dep.target.as_str()) {
                Some(&j) if self.plans[j] == Plan::Deleted => {
                    self.notes.push(Problem {
                        line: issue.line,
                        id: Some(issue.id.clone()),
                        message: format!(
                            "{}: the {} dependency on {} is dropped: {} was deleted in beads",
                            issue.id, dep.kind, dep.target, dep.target
                        ),
                    });
                    continue;
                }
                Some(_) => {}
                // Imported before from another file: the dependency is kept.
                None if imported.contains_key(dep.target.as_str()) => {}
                None => {
                    let bad = unreadable
                        .iter()
                        .find(|p| p.id.as_deref() == Some(dep.target.as_str()));
                    return Err(match bad {
                        Some(p) => format!(
                            "depends on {} ({}), which is not imported: line {} is invalid",
                            dep.target, dep.kind, p.line
                        ),
                        None => format!(
                            "depends on {} ({}), which is not in the file{}",
                            dep.target,
                            dep.kind,
                            if unreadable.iter().any(|p| p.id.is_none()) {
                                " (or only on a line that could not be read)"
                            } else {
                                ""
                            }
                        ),
                    });
                }
            }
            if kind == DepKind::Parent {
                parents.push(dep.target.as_str());
            }
        }
        if parents.len() > 1 {
            return Err(format!(
                "has {} parents ({}); a forge bead has one",
                parents.len(),
                parents.join(", ")
            ));
        }
        Ok(())
    }

    /// Marks invalid every issue that depends on an invalid one, until none is left.
    pub fn cascade(&mut self) {
        loop {
            let mut changed = false;
            for i in 0..self.issues.len() {
                if !matches!(self.plans[i], Plan::New | Plan::Existing(_)) {
                    continue;
                }
                let bad = self.issues[i].deps.iter().find_map(|d| {
                    let j = self.index_of(&d.target)?;
                    matches!(self.plans[j], Plan::Invalid(_)).then_some((d, j))
                });
                if let Some((dep, j)) = bad {
                    self.plans[i] = Plan::Invalid(format!(
                        "depends on {} ({}), which is not imported: line {} is invalid",
                        dep.target, dep.kind, self.issues[j].line
                    ));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Marks invalid each new issue with a dependency that closes a cycle. `beads` are the
    /// summaries of every bead in forge plus the new ones; `new` maps the new beads' ids to
    /// their issues; `names` maps bead ids to beads ids, for the message.
    pub fn refuse_cycles(
        &mut self,
        beads: &[BeadSummary<'_>],
        new: &HashMap<&str, usize>,
        names: &HashMap<&str, &str>,
    ) {
        let graph = Graph::new(beads);
        for b in beads {
            let Some(&i) = new.get(b.id) else { continue };
            let cycle = b
                .deps
                .iter()
                .find_map(|d| Some((d, graph.cycle_with(b.id, d.id, d.kind)?)));
            if let Some((dep, cycle)) = cycle {
                let name = |id: &str| names.get(id).map_or(id.to_owned(), |n| (*n).to_owned());
                let path: Vec<String> = cycle.iter().map(|id| name(id)).collect();
                self.plans[i] = Plan::Invalid(format!(
                    "the {} dependency on {} would make a cycle: {}",
                    dep.kind,
                    name(dep.id),
                    path.join(" -> ")
                ));
            }
        }
        self.cascade();
    }

    /// The invalid issues as problems, by line.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = self
            .issues
            .iter()
            .zip(&self.plans)
            .filter_map(|(issue, plan)| match plan {
                Plan::Invalid(message) => Some(Problem {
                    line: issue.line,
                    id: Some(issue.id.clone()),
                    message: message.clone(),
                }),
                _ => None,
            })
            .collect();
        out.sort_by_key(|p| p.line);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::IssueDep;
    use super::*;
    use crate::bead::Kind;

    fn issue(line: usize, id: &str, status: &str, deps: &[(&str, &str)]) -> Issue {
        Issue {
            line,
            id: id.into(),
            title: id.into(),
            status: status.into(),
            issue_type: "task".into(),
            deps: deps
                .iter()
                .map(|(t, k)| IssueDep {
                    target: (*t).into(),
                    kind: (*k).into(),
                })
                .collect(),
            ..Issue::default()
        }
    }

    fn message(plan: &Plan) -> &str {
        match plan {
            Plan::Invalid(m) => m,
            other => panic!("{other:?} is not invalid"),
        }
    }

    #[test]
    fn missing_targets_cascade_to_dependents() {
        let issues = [
            issue(1, "a", "open", &[("nowhere", "blocks")]),
            issue(2, "b", "open", &[("a", "blocks")]),
            issue(3, "c", "open", &[("b", "related")]),
            issue(4, "d", "open", &[]),
        ];
        let batch = Batch::new(&issues, &HashMap::new(), &[]);
        assert_eq!(
            message(&batch.plans[0]),
            "depends on nowhere (blocks), which is not in the file"
        );
        assert!(message(&batch.plans[1]).contains("line 1 is invalid"));
        assert!(message(&batch.plans[2]).contains("depends on b (related)"));
        assert_eq!(batch.plans[3], Plan::New);
        assert_eq!(batch.problems().len(), 3);
    }

    #[test]
    fn a_dependency_on_an_unparsed_line_names_it() {
        let issues = [
            issue(2, "a", "open", &[("b", "blocks")]),
            issue(3, "c", "open", &[("d", "blocks")]),
        ];
        let unreadable = [
            Problem {
                line: 1,
                id: Some("b".into()),
                message: "unknown field".into(),
            },
            Problem {
                line: 4,
                id: None,
                message: "not JSON".into(),
            },
        ];
        let batch = Batch::new(&issues, &HashMap::new(), &unreadable);
        assert_eq!(
            message(&batch.plans[0]),
            "depends on b (blocks), which is not imported: line 1 is invalid"
        );
        assert!(message(&batch.plans[1]).ends_with("(or only on a line that could not be read)"));
    }

    fn summary<'a>(id: &'a str, kind: Kind, deps: &[(&'a str, DepKind)]) -> BeadSummary<'a> {
        BeadSummary {
            id,
            title: id,
            kind,
            status: crate::bead::Status::Open,
            priority: 2,
            value: 50,
            risk: crate::bead::Risk::Low,
            labels: vec![],
            created: "2026-01-01T00:00:00Z",
            updated: "2026-01-01T00:00:00Z",
            deps: deps
                .iter()
                .map(|&(id, kind)| crate::bead::DepRef { id, kind })
                .collect(),
        }
    }

    #[test]
    fn cycles_are_named_in_beads_ids_and_cascade() {
        // x and y block each other; c is a child of the existing epic E and also waits for
        // it, which E (waiting for its open children) never allows; z depends on x.
        let issues = [
            issue(1, "x", "open", &[("y", "blocks")]),
            issue(2, "y", "open", &[("x", "blocks")]),
            issue(3, "c", "open", &[("E", "parent-child"), ("E", "blocks")]),
            issue(4, "z", "open", &[("x", "related")]),
            issue(5, "ok", "open", &[("E", "parent-child")]),
        ];
        let imported = HashMap::from([("E", "fg-e")]);
        let mut batch = Batch::new(&issues, &imported, &[]);
        assert!(batch.plans.iter().all(|p| *p == Plan::New));
        let beads = [
            summary("fg-e", Kind::Epic, &[]),
            summary("fg-x", Kind::Task, &[("fg-y", DepKind::Blocks)]),
            summary("fg-y", Kind::Task, &[("fg-x", DepKind::Blocks)]),
            summary(
                "fg-c",
                Kind::Task,
                &[("fg-e", DepKind::Parent), ("fg-e", DepKind::Blocks)],
            ),
            summary("fg-z", Kind::Task, &[("fg-x", DepKind::Related)]),
            summary("fg-ok", Kind::Task, &[("fg-e", DepKind::Parent)]),
        ];
        let new = HashMap::from([
            ("fg-x", 0),
            ("fg-y", 1),
            ("fg-c", 2),
            ("fg-z", 3),
            ("fg-ok", 4),
        ]);
        let names = HashMap::from([
            ("fg-e", "E"),
            ("fg-x", "x"),
            ("fg-y", "y"),
            ("fg-c", "c"),
            ("fg-z", "z"),
            ("fg-ok", "ok"),
        ]);
        batch.refuse_cycles(&beads, &new, &names);
        assert_eq!(
            message(&batch.plans[0]),
            "the blocks dependency on y would make a cycle: x -> y -> x"
        );
        assert!(message(&batch.plans[1]).contains("y -> x -> y"));
        assert_eq!(
            message(&batch.plans[2]),
            "the parent dependency on E would make a cycle: E -> c -> E"
        );
        assert!(message(&batch.plans[3]).contains("line 1 is invalid"));
        assert_eq!(batch.plans[4], Plan::New);
    }

    #[test]
    fn deleted_targets_are_dropped_with_a_note_and_imports_are_recognised() {
        let issues = [
            issue(1, "gone", "tombstone", &[]),
            issue(2, "a", "open", &[("gone", "blocks"), ("old", "blocks")]),
            issue(3, "old", "closed", &[]),
        ];
        let imported = HashMap::from([("old", "fg-0ld1")]);
        let batch = Batch::new(&issues, &imported, &[]);
        assert_eq!(
            batch.plans,
            [Plan::Deleted, Plan::New, Plan::Existing("fg-0ld1".into())]
        );
        assert!(batch.notes[0].message.contains("gone was deleted in beads"));
    }

    #[test]
    fn duplicates_two_parents_bad_types_and_statuses() {
        let issues = [
            issue(1, "e1", "open", &[]),
            issue(2, "e2", "open", &[]),
            issue(3, "e1", "open", &[]),
            issue(
                4,
                "c",
                "open",
                &[("e1", "parent-child"), ("e2", "parent-child")],
            ),
            issue(5, "d", "open", &[("e1", "tickles")]),
            issue(6, "s", "someday", &[]),
        ];
        let batch = Batch::new(&issues, &HashMap::new(), &[]);
        assert_eq!(message(&batch.plans[2]), "id e1 is already used on line 1");
        assert!(message(&batch.plans[3]).contains("has 2 parents (e1, e2)"));
        assert!(message(&batch.plans[4]).contains("\"tickles\", which forge cannot map"));
        assert!(message(&batch.plans[5]).contains("status \"someday\""));
    }
}
