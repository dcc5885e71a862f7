//! How agent work reached a branch: every commit of a range that carries a `Forge-Step:`
//! trailer must have reached the range's head only through the merge of an approval that
//! the ledger records for exactly that step's head (RELIABILITY.md S14).
//!
//! The evidence is the ledger as committed in the head's tree, read from git (never from
//! the working tree) with every chain checked; a line that does not verify is no evidence.
//! For a commit C of the range that carries `Forge-Step: S`:
//!
//! - C is an approval merge when it is a merge whose second parent H is a head the ledger
//!   approves for S (`step.approved`), and a `step.merged` of S names C as its merge;
//! - C is a rollback when it carries `Forge-Rollback-By:` and a `step.rolled_back` of S
//!   names C as its revert commit;
//! - otherwise C is agent work, and every path from the head down to C must pass through
//!   the second-parent edge of an approval merge of S. A commit on a first-parent line
//!   with no such merge above it (fast-forwarded, cherry-picked or committed there), or
//!   brought in by any other merge, is named with its step and what is missing.
//!
//! Paths rather than only the head's first-parent line: a pull request's head is often a
//! merge of its branch into the base, and the approvals sit on that branch's first-parent
//! line. What matters is that no path from the head reaches agent work around an approval
//! of it. A trailer is recognised on any line of the message, not only in the final
//! trailer block, so that a squash or a reworded message does not hide one.

use git2::{Oid, Repository};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::growth::{HistoryProblem, HistoryReport, verify_history};
use super::history::Range;
use super::review::short;
use crate::error::Result;
use crate::git::cli::Git;

mod evidence;

use evidence::committed_evidence;

pub const STEP_TRAILER: &str = "Forge-Step";
pub const ROLLBACK_TRAILER: &str = "Forge-Rollback-By";

/// A merge that the ledger records as the approval of a step's head.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalMerge {
    pub commit: String,
    pub step: String,
    pub bead: String,
    /// Its second parent: the step head that was approved.
    pub head: String,
    pub approved_by: String,
    /// prompt, flag or policy.
    pub how: String,
    /// Commits carrying this step that the merge brought in.
    pub commits: usize,
    /// With `--require-signed`: what `git verify-commit` said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Signature {
    pub good: bool,
    /// git's own words ("Good \"git\" signature for ..."); empty for an unsigned commit.
    pub detail: String,
}

/// A revert of an approval merge that the ledger records.
#[derive(Debug, Clone, Serialize)]
pub struct Rollback {
    pub commit: String,
    pub step: String,
    pub by: String,
}

/// A commit carrying `Forge-Step:` that did not reach the head through an approval.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub commit: String,
    pub step: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApprovalsReport {
    /// The commit whose committed ledger is the evidence.
    pub head: String,
    /// Commits in the range.
    pub commits: usize,
    /// Of those, commits carrying a `Forge-Step:` trailer.
    pub step_commits: usize,
    /// Ledger files and events as committed at the head.
    pub ledger_files: usize,
    pub ledger_events: usize,
    /// Whether approval merges had to carry a good signature.
    pub require_signed: bool,
    /// Oldest first.
    pub merges: Vec<ApprovalMerge>,
    pub rollbacks: Vec<Rollback>,
    pub problems: Vec<Violation>,
}

impl ApprovalsReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The values of `Forge-Step:` (distinct, in order) and of `Forge-Rollback-By:` on any line
/// of a commit message. Keys are matched as git matches trailer keys: case-insensitively,
/// with optional space before the colon.
pub fn forge_trailers(message: &str) -> (Vec<String>, Option<String>) {
    let mut steps: Vec<String> = Vec::new();
    let mut rollback = None;
    for line in message.lines() {
        let Some((key, value)) = line.trim_start().split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim_end(), value.trim());
        if value.is_empty() {
            continue;
        }
        if key.eq_ignore_ascii_case(STEP_TRAILER) {
            if !steps.iter().any(|s| s == value) {
                steps.push(value.to_owned());
            }
        } else if key.eq_ignore_ascii_case(ROLLBACK_TRAILER) {
            rollback.get_or_insert_with(|| value.to_owned());
        }
    }
    (steps, rollback)
}

struct Commit {
    parents: Vec<Oid>,
    steps: Vec<String>,
    rollback_by: Option<String>,
}

/// How a commit that is not admitted was reached from the head.
enum Arrival {
    /// Along first parents from the head: no merge brought it in.
    HeadLine,
    /// `merge` brought in `with` (as a parent other than the first), and the commit lies
    /// on `with`'s first-parent line (or is `with`).
    Merged { merge: Oid, with: Oid },
}

/// For every commit of the range reachable from the head around the approval merges of
/// `step`: the child and parent index through which a shortest such path reaches it.
fn paths_around(
    head: Oid,
    commits: &HashMap<Oid, Commit>,
    gates: &HashMap<Oid, String>,
    step: &str,
) -> HashMap<Oid, (Oid, usize)> {
    let mut pred = HashMap::new();
    let mut queue = VecDeque::from([head]);
    let mut seen = HashSet::from([head]);
    while let Some(c) = queue.pop_front() {
        for (i, &p) in commits[&c].parents.iter().enumerate() {
            if !commits.contains_key(&p) || (i == 1 && gates.get(&c).is_some_and(|s| s == step)) {
                continue;
            }
            if seen.insert(p) {
                pred.insert(p, (c, i));
                queue.push_back(p);
            }
        }
    }
    pred
}

fn arrival(commit: Oid, pred: &HashMap<Oid, (Oid, usize)>) -> Arrival {
    let mut cur = commit;
    while let Some(&(child, i)) = pred.get(&cur) {
        if i > 0 {
            return Arrival::Merged {
                merge: child,
                with: cur,
            };
        }
        cur = child;
    }
    Arrival::HeadLine
}

/// Checks how every commit of `range` that carries `Forge-Step:` reached its head (see the
/// module documentation). With `signatures`, every approval merge must also carry a
/// signature that `git verify-commit` finds good. Lines of the committed ledger that do
/// not verify go to `ledger_problems`.
pub fn check_approvals(
    repo: &Repository,
    range: &Range,
    signatures: Option<&Git>,
    ledger_problems: &mut Vec<HistoryProblem>,
) -> Result<ApprovalsReport> {
    let head = range.head_oid();
    let evidence = committed_evidence(repo, head, ledger_problems)?;
    // Claims on a shared remote: a release by a stale generation (RELIABILITY.md S15).
    let claim_problems: Vec<Violation> = evidence
        .claims
        .iter()
        .map(|p| Violation {
            commit: p.commit.clone(),
            step: p.step.clone(),
            message: p.message.clone(),
        })
        .collect();

    // Children before parents.
    let mut walk = repo.revwalk()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL)?;
    walk.push(head)?;
    if let Some(base) = range.base_oid() {
        walk.hide(base)?;
    }
    let order = walk.collect::<std::result::Result<Vec<Oid>, _>>()?;
    let mut commits = HashMap::with_capacity(order.len());
    for &oid in &order {
        let c = repo.find_commit(oid)?;
        let (steps, rollback_by) = forge_trailers(&String::from_utf8_lossy(c.message_raw_bytes()));
        commits.insert(
            oid,
            Commit {
                parents: c.parent_ids().collect(),
                steps,
                rollback_by,
            },
        );
    }

    let mut problems = claim_problems;
    let mut merges = Vec::new();
    let mut rollbacks = Vec::new();
    // Approval merges by commit, with their step: the edge to the second parent is the
    // only way agent work of that step may come in.
    let mut gates: HashMap<Oid, String> = HashMap::new();
    // Why a merge carrying a step is not an approval merge, for the commits it brought in.
    let mut unbacked: HashMap<Oid, String> = HashMap::new();
    let mut work: Vec<Oid> = Vec::new();
    for &oid in order.iter().rev() {
        let c = &commits[&oid];
        let id = oid.to_string();
        match (c.steps.as_slice(), &c.rollback_by) {
            ([], _) => {}
            (steps, Some(by)) => {
                for step in steps {
                    if evidence.rolled_back.contains(&(step.clone(), id.clone())) {
                        rollbacks.push(Rollback {
                            commit: id.clone(),
                            step: step.clone(),
                            by: by.clone(),
                        });
                    } else {
                        problems.push(Violation {
                            commit: id.clone(),
                            step: step.clone(),
                            message: format!(
                                "a revert carrying {ROLLBACK_TRAILER}, but the ledger records no rollback of {step} with this revert commit (`step.rolled_back`)"
                            ),
                        });
                    }
                }
            }
            ([step], None) if c.parents.len() > 1 => {
                let second = c.parents[1].to_string();
                match evidence.backing(step, &id, &second) {
                    Ok(a) => {
                        gates.insert(oid, step.clone());
                        merges.push(ApprovalMerge {
                            commit: id,
                            step: step.clone(),
                            bead: a.bead.clone(),
                            head: second,
                            approved_by: a.by.clone(),
                            how: a.how.clone(),
                            commits: 0,
                            signature: None,
                        });
                    }
                    Err(missing) => {
                        problems.push(Violation {
                            commit: id,
                            step: step.clone(),
                            message: format!("a merge of {step} that no approval backs: {missing}"),
                        });
                        unbacked.insert(oid, missing);
                    }
                }
            }
            _ => work.push(oid),
        }
    }

    // The steps whose approval merges lie on every path from the head to each commit.
    let mut guarded: HashMap<Oid, BTreeSet<&str>> = HashMap::from([(head, BTreeSet::new())]);
    let mut failing: Vec<(Oid, &str)> = Vec::new();
    let is_work: HashSet<Oid> = work.iter().copied().collect();
    for &oid in &order {
        let mine = guarded.remove(&oid).unwrap_or_default();
        let c = &commits[&oid];
        if is_work.contains(&oid) {
            for step in &c.steps {
                if !mine.contains(step.as_str()) {
                    failing.push((oid, step));
                }
            }
        }
        for (i, p) in c.parents.iter().enumerate() {
            if !commits.contains_key(p) {
                continue;
            }
            let mut theirs = mine.clone();
            if i == 1
                && let Some(step) = gates.get(&oid)
            {
                theirs.insert(step.as_str());
            }
            guarded
                .entry(*p)
                .and_modify(|g| g.retain(|s| theirs.contains(s)))
                .or_insert(theirs);
        }
    }

    // Explain each failure by one path from the head that avoids the step's approvals.
    let mut paths: HashMap<&str, HashMap<Oid, (Oid, usize)>> = HashMap::new();
    for &(oid, step) in failing.iter().rev() {
        let pred = paths
            .entry(step)
            .or_insert_with(|| paths_around(head, &commits, &gates, step));
        let how = match arrival(oid, pred) {
            Arrival::HeadLine => {
                "it is on the head's first-parent line with no approval merge above it: fast-forwarded, cherry-picked or committed there".to_owned()
            }
            Arrival::Merged { merge, with } => {
                let brought = if with == oid {
                    format!("it was merged by {}", short(&merge.to_string()))
                } else {
                    format!(
                        "it came in with {}, merged by {}",
                        short(&with.to_string()),
                        short(&merge.to_string())
                    )
                };
                let by = &commits[&merge];
                match (gates.get(&merge), unbacked.get(&merge)) {
                    (Some(other), _) => format!("{brought}, the approval of {other}, not of {step}"),
                    (None, Some(missing)) => {
                        format!("{brought}, a merge that no approval backs ({missing})")
                    }
                    (None, None) if by.steps.is_empty() => {
                        format!("{brought}, which is not an approval merge")
                    }
                    (None, None) => format!("{brought}, which is not an approval merge of {step}"),
                }
            }
        };
        problems.push(Violation {
            commit: oid.to_string(),
            step: step.to_owned(),
            message: format!(
                "agent work that reached the head without an approval of it: {how} ({})",
                evidence.approvals_of(step, &oid.to_string())
            ),
        });
    }

    // Oldest first, like the merges and rollbacks.
    let position: HashMap<String, usize> = order
        .iter()
        .enumerate()
        .map(|(i, oid)| (oid.to_string(), i))
        .collect();
    problems.sort_by_key(|p| std::cmp::Reverse(position.get(&p.commit).copied()));

    for m in &mut merges {
        let (first, second) = {
            let c = &commits[&Oid::from_str(&m.commit)?];
            (c.parents[0], c.parents[1])
        };
        let mut side = repo.revwalk()?;
        side.push(second)?;
        side.hide(first)?;
        if let Some(base) = range.base_oid() {
            side.hide(base)?;
        }
        for oid in side {
            let oid = oid?;
            if commits.get(&oid).is_some_and(|c| c.steps.contains(&m.step)) {
                m.commits += 1;
            }
        }
        if let Some(git) = signatures {
            let (good, detail) = git.verify_commit(&m.commit)?;
            if !good {
                problems.push(Violation {
                    commit: m.commit.clone(),
                    step: m.step.clone(),
                    message: if detail.is_empty() {
                        format!("the approval merge of {} is not signed", m.step)
                    } else {
                        format!(
                            "the approval merge of {} carries no good signature: {}",
                            m.step,
                            detail.lines().next().unwrap_or_default()
                        )
                    },
                });
            }
            m.signature = Some(Signature { good, detail });
        }
    }

    Ok(ApprovalsReport {
        head: range.head.clone(),
        commits: order.len(),
        step_commits: commits.values().filter(|c| !c.steps.is_empty()).count(),
        ledger_files: evidence.files,
        ledger_events: evidence.events,
        require_signed: signatures.is_some(),
        merges,
        rollbacks,
        problems,
    })
}

/// Everything `forge ledger verify --range` checks across history: committed ledger files
/// only grew ([`verify_history`]), and agent work reached the head only through approvals
/// ([`check_approvals`]). Chain breaks in the ledger committed at the head join the
/// history's problems, unless that check already named the same place.
pub fn verify_range(
    repo: &Repository,
    range: Range,
    signatures: Option<&Git>,
) -> Result<(HistoryReport, ApprovalsReport)> {
    let mut history = verify_history(repo, range.clone())?;
    let mut at_head = Vec::new();
    let approvals = check_approvals(repo, &range, signatures, &mut at_head)?;
    for p in at_head {
        if !history
            .problems
            .iter()
            .any(|q| q.file == p.file && q.line == p.line)
        {
            history.problems.push(p);
        }
    }
    Ok((history, approvals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_trailers_on_any_line() {
        let (steps, by) = forge_trailers(
            "Title\n\nforge step fg-a.1 (x)\n\nForge-Bead: fg-a\nForge-Step: fg-a.1\n",
        );
        assert_eq!((steps, by), (vec!["fg-a.1".to_owned()], None));
        let (steps, by) = forge_trailers(
            "Squashed\n\n* one\n\n    forge-step : fg-a.1\n\n* two\nForge-Step: fg-b.2\nForge-Step: fg-a.1\nForge-Rollback-By: Ada\n",
        );
        assert_eq!(steps, ["fg-a.1", "fg-b.2"]);
        assert_eq!(by.as_deref(), Some("Ada"));
        assert_eq!(
            forge_trailers("Forge-Step:\nForge-Steps: x\n"),
            (vec![], None)
        );
    }
}
