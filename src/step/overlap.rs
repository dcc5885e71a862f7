//! Conflicts seen before they happen: each step waiting for approval against the current tip
//! of its base, and waiting steps against each other, merged in memory (`git merge-tree
//! --write-tree`, no worktree, nothing written but objects). Two steps are merged only when
//! the files they change meet, so a queue of unrelated steps costs one diff each.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::checkpoint::{Checkpoint, State};
use crate::error::Result;
use crate::git::cli::Git;
use crate::store::Layout;

/// What one waiting step would conflict with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Predicted {
    pub step: String,
    /// Files that conflict with the base's current tip.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub with_base: Vec<String>,
    /// Other waiting steps, with the files where the two conflict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overlaps: Vec<Overlap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlap {
    pub step: String,
    pub files: Vec<String>,
}

impl Predicted {
    pub fn is_empty(&self) -> bool {
        self.with_base.is_empty() && self.overlaps.is_empty()
    }

    /// One line for people: "conflicts with main in a.rs; overlaps fg-x.1 in b.rs".
    pub fn describe(&self, base: &str) -> String {
        let mut parts = Vec::new();
        if !self.with_base.is_empty() {
            parts.push(format!(
                "conflicts with {base} in {}",
                self.with_base.join(", ")
            ));
        }
        for o in &self.overlaps {
            parts.push(format!("overlaps {} in {}", o.step, o.files.join(", ")));
        }
        parts.join("; ")
    }
}

/// The predicted conflicts of every step in `steps` that waits for approval, in the order
/// given; steps with none are left out.
pub fn predict(layout: &Layout, steps: &[Checkpoint]) -> Result<Vec<Predicted>> {
    let git = Git::new(&layout.root);
    let waiting: Vec<&Checkpoint> = steps
        .iter()
        .filter(|c| c.state == State::AwaitingApproval && !c.head.is_empty())
        .collect();
    let mut tips: HashMap<&str, String> = HashMap::new();
    let mut files: Vec<BTreeSet<String>> = Vec::with_capacity(waiting.len());
    let mut out: Vec<Predicted> = Vec::with_capacity(waiting.len());
    for cp in &waiting {
        let tip = match tips.get(cp.base_ref.as_str()) {
            Some(t) => t.clone(),
            None => {
                let t = git.rev_parse(&cp.base_ref)?;
                tips.insert(&cp.base_ref, t.clone());
                t
            }
        };
        let with_base = if tip == cp.base_commit {
            Vec::new()
        } else {
            dedup(
                git.merge_tree(&tip, &cp.head, Some(&cp.base_commit))?
                    .conflicts,
            )
        };
        files.push(
            git.changed_files(&cp.base_commit, &cp.head)?
                .into_iter()
                .collect(),
        );
        out.push(Predicted {
            step: cp.step.clone(),
            with_base,
            overlaps: Vec::new(),
        });
    }
    for i in 0..waiting.len() {
        for j in i + 1..waiting.len() {
            if files[i].is_disjoint(&files[j]) {
                continue;
            }
            let conflicts = dedup(
                git.merge_tree(&waiting[i].head, &waiting[j].head, None)?
                    .conflicts,
            );
            if conflicts.is_empty() {
                continue;
            }
            out[i].overlaps.push(Overlap {
                step: waiting[j].step.clone(),
                files: conflicts.clone(),
            });
            out[j].overlaps.push(Overlap {
                step: waiting[i].step.clone(),
                files: conflicts,
            });
        }
    }
    out.retain(|p| !p.is_empty());
    Ok(out)
}

/// The files each bead's latest attempt with a commit changed: what a new attempt on it is
/// likely to touch again. Beads without such an attempt are left out.
pub fn last_attempt_files(
    layout: &Layout,
    steps: &[Checkpoint],
) -> Result<HashMap<String, BTreeSet<String>>> {
    let git = Git::new(&layout.root);
    let mut latest: HashMap<&str, &Checkpoint> = HashMap::new();
    for cp in steps.iter().filter(|c| !c.head.is_empty()) {
        let newer = latest
            .get(cp.bead.as_str())
            .is_none_or(|l| l.attempt < cp.attempt);
        if newer {
            latest.insert(&cp.bead, cp);
        }
    }
    let mut out = HashMap::new();
    for (bead, cp) in latest {
        let files = git.changed_files(&cp.base_commit, &cp.head)?;
        out.insert(bead.to_owned(), files.into_iter().collect());
    }
    Ok(out)
}

/// The short name of a base ref, for messages (`refs/heads/main` is `main`).
pub fn base_name(base_ref: &str) -> &str {
    base_ref.strip_prefix("refs/heads/").unwrap_or(base_ref)
}

/// merge-tree names a file once per conflicted stage.
fn dedup(mut files: Vec<String>) -> Vec<String> {
    files.sort();
    files.dedup();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn described_in_one_line() {
        let p = Predicted {
            step: "fg-a.1".into(),
            with_base: vec!["src/a.rs".into()],
            overlaps: vec![Overlap {
                step: "fg-b.1".into(),
                files: vec!["README".into(), "b".into()],
            }],
        };
        assert_eq!(
            p.describe("main"),
            "conflicts with main in src/a.rs; overlaps fg-b.1 in README, b"
        );
        assert!(Predicted::default().is_empty());
    }
}
