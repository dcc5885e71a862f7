//! The evidence: what the ledger committed at the head says about approvals, merges and
//! rollbacks, read from git with every chain checked, and the approval that backs a merge.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use git2::{Oid, Repository};

use crate::error::Result;
use crate::ledger::event::Payload;
use crate::ledger::growth::HistoryProblem;
use crate::ledger::history::{self, LEDGER_DIR};
use crate::ledger::is_ledger_file_name;
use crate::ledger::line::{Event, decode};
use crate::ledger::review::short;
use crate::ledger::verify::Chain;

#[derive(Debug, Clone)]
pub(super) struct Approval {
    pub(super) bead: String,
    pub(super) by: String,
    pub(super) how: String,
}

/// What the committed ledger says about approvals, merges and rollbacks.
#[derive(Default)]
pub(super) struct Evidence {
    /// (step, head) → the approvals of that head, in ledger order.
    approved: HashMap<(String, String), Vec<Approval>>,
    /// step → every head approved for it.
    approved_heads: HashMap<String, Vec<String>>,
    /// (step, merge commit) → the heads its `step.merged` events name (None: no head).
    merged: HashMap<(String, String), Vec<Option<String>>>,
    /// step → every merge commit its `step.merged` events name.
    merges_of: HashMap<String, Vec<String>>,
    /// (step, revert commit) recorded by `step.rolled_back`.
    pub(super) rolled_back: HashSet<(String, String)>,
    pub(super) files: usize,
    pub(super) events: usize,
    /// Problems of the claims on a shared remote (`claim.taken`, `claim.released`).
    pub(super) claims: Vec<ClaimProblem>,
}

/// A release of a claim its holder no longer held: a generation older than one that had
/// taken the claim by then, or a step other than the one its generation took.
#[derive(Debug, Clone)]
pub(super) struct ClaimProblem {
    pub(super) commit: String,
    pub(super) step: String,
    pub(super) message: String,
}

/// Checks the claim events of every ledger file: each `claim.released` must come from
/// the generation that held the claim, for the step that generation took. (Several
/// releases of one generation are fine: the release itself, then the outcome it settled to
/// after approval, rejection or rollback.)
///
/// Events of different machines are ordered by the claim's own history, never by their
/// clocks: a release of generation `g` is stale when the next generation that took the
/// claim did not build on it. Each event names its claim commit and the commit it replaced
/// (`parent`), so walking back from the commit the next generation's take replaced finds
/// every legitimate release of `g`; a walk that runs out of recorded commits (renewals are
/// not recorded; events of older versions name no parent) decides by what the take says
/// instead: a take over a held claim means generation `g` never released it first.
///
/// `in_history(release, take)` answers from the claim commits themselves where this
/// repository has them (`git fetch origin 'refs/forge/claims/*:refs/forge/claims/*'`):
/// whether the release is the take's ancestor; None when the take's commit is not here.
fn check_claims(
    events: &[Event],
    in_history: &dyn Fn(&str, &str) -> Option<bool>,
) -> Vec<ClaimProblem> {
    struct Take {
        step: String,
        commit: String,
        parent: String,
        took_over: bool,
    }
    // (bead, generation) → its take; claim commit → the commit it replaced.
    let mut took: BTreeMap<(String, u64), Take> = BTreeMap::new();
    let mut parents: HashMap<String, String> = HashMap::new();
    for e in events {
        match e.payload() {
            Payload::ClaimTaken {
                bead,
                step,
                generation,
                commit,
                parent,
                took_over,
                ..
            } => {
                if !parent.is_empty() {
                    parents.insert(commit.clone(), parent.clone());
                }
                took.insert(
                    (bead, generation),
                    Take {
                        step,
                        commit,
                        parent,
                        took_over: took_over.is_some(),
                    },
                );
            }
            Payload::ClaimReleased { commit, parent, .. } if !parent.is_empty() => {
                parents.insert(commit, parent);
            }
            _ => {}
        }
    }
    // Whether `commit` is `from` or behind it on the recorded history: Some(false) when
    // the walk reached the start of the history without it, None when it ran out of
    // recorded commits.
    // The first claims of their beads: where a walk back along the history ends.
    let first: HashSet<&str> = took
        .iter()
        .filter(|((_, g), t)| *g == 1 && t.parent.is_empty())
        .map(|(_, t)| t.commit.as_str())
        .collect();
    let behind = |from: &str, commit: &str| -> Option<bool> {
        let mut at = from.to_owned();
        for _ in 0..=parents.len() {
            if at == commit {
                return Some(true);
            }
            let taken_first = first.contains(at.as_str());
            match parents.get(&at) {
                Some(p) => at = p.clone(),
                None if taken_first => return Some(false),
                None => return None,
            }
        }
        None
    };
    let mut out = Vec::new();
    for e in events {
        let Payload::ClaimReleased {
            bead,
            step,
            generation,
            commit,
            remote,
            ..
        } = e.payload()
        else {
            continue;
        };
        // The next generation that took the claim after this one.
        let next = took
            .range((bead.clone(), generation + 1)..)
            .next()
            .filter(|((b, _), _)| *b == bead);
        if let Some(((_, newer), t)) = next {
            let known = in_history(&commit, &t.commit).or_else(|| {
                (!t.parent.is_empty())
                    .then(|| behind(&t.parent, &commit))
                    .flatten()
            });
            let stale = match known {
                Some(built_on) => !built_on,
                None => t.took_over && *newer == generation + 1,
            };
            if stale {
                out.push(ClaimProblem {
                    commit,
                    step: step.clone(),
                    message: format!(
                        "the claim on {bead} on '{remote}' was released for {step} by \
                         generation {generation} after generation {newer} ({}) had taken it \
                         over (run {}): a stale holder's release, which the remote must have \
                         refused",
                        t.step, e.run
                    ),
                });
                continue;
            }
        }
        if let Some(taken) = took
            .get(&(bead.clone(), generation))
            .filter(|t| t.step != step)
        {
            out.push(ClaimProblem {
                commit,
                step: step.clone(),
                message: format!(
                    "the claim on {bead} on '{remote}' was released for {step} by generation \
                     {generation}, which took it for {} (run {})",
                    taken.step, e.run
                ),
            });
        }
    }
    out
}

impl Evidence {
    fn add(&mut self, e: &Event) {
        let payload = e.payload();
        let Some(at) = payload.step_at().filter(|at| !at.step.is_empty()) else {
            return;
        };
        let step = at.step.clone();
        match &payload {
            Payload::StepApproved {
                head,
                approved_by,
                how,
                ..
            } if !head.is_empty() => {
                self.approved
                    .entry((step.clone(), head.clone()))
                    .or_default()
                    .push(Approval {
                        bead: at.bead.clone(),
                        by: approved_by.clone(),
                        how: how.map(|h| h.as_str()).unwrap_or_default().to_owned(),
                    });
                self.approved_heads
                    .entry(step)
                    .or_default()
                    .push(head.clone());
            }
            Payload::StepMerged {
                head, merge_commit, ..
            } if !merge_commit.is_empty() => {
                self.merged
                    .entry((step.clone(), merge_commit.clone()))
                    .or_default()
                    .push(Some(head.clone()).filter(|h| !h.is_empty()));
                self.merges_of
                    .entry(step)
                    .or_default()
                    .push(merge_commit.clone());
            }
            Payload::StepRolledBack {
                revert_commit: Some(revert),
                ..
            } => {
                self.rolled_back.insert((step, revert.clone()));
            }
            _ => {}
        }
    }

    /// The approval backing `merge` as the approval merge of `step` at `second`, or what
    /// the ledger lacks for it.
    pub(super) fn backing(
        &self,
        step: &str,
        merge: &str,
        second: &str,
    ) -> Result<&Approval, String> {
        let key = (step.to_owned(), second.to_owned());
        let Some(approvals) = self.approved.get(&key) else {
            return Err(match self.approved_heads.get(step) {
                Some(heads) => format!(
                    "the ledger approves {step} only at {}, not at this merge's second parent {}",
                    list(heads),
                    short(second)
                ),
                None => format!("the ledger records no approval of {step}"),
            });
        };
        let merged = self.merged.get(&(step.to_owned(), merge.to_owned()));
        if merged.is_some_and(|heads| {
            heads
                .iter()
                .any(|h| h.as_deref().is_none_or(|h| h == second))
        }) {
            return Ok(approvals
                .last()
                .expect("recorded approvals are never empty"));
        }
        Err(match (merged, self.merges_of.get(step)) {
            (Some(heads), _) => format!(
                "the ledger records this merge of {step} at {}, not at its second parent {}",
                list(&heads.iter().flatten().cloned().collect::<Vec<_>>()),
                short(second)
            ),
            (None, Some(merges)) => format!(
                "the ledger approves {step} at {} but records its merge as {}, not this commit",
                short(second),
                list(merges)
            ),
            (None, None) => format!(
                "the ledger approves {step} at {} but records no merge of it (`step.merged`)",
                short(second)
            ),
        })
    }

    /// What the ledger says about approvals of `step`, for a message about `commit`.
    pub(super) fn approvals_of(&self, step: &str, commit: &str) -> String {
        match self.approved_heads.get(step) {
            Some(heads) if heads.iter().any(|h| h == commit) => format!(
                "the ledger approves {step} at this very commit, but records no merge of it that brought it here"
            ),
            Some(heads) => format!("the ledger approves {step} only at {}", list(heads)),
            None => format!("the ledger records no approval of {step}"),
        }
    }
}

fn list(commits: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for c in commits {
        if !seen.contains(&short(c)) {
            seen.push(short(c));
        }
    }
    seen.join(", ")
}

/// Reads the ledger committed at `head`, checking every chain; a line that breaks one is
/// reported in `problems` and is no evidence.
pub(super) fn committed_evidence(
    repo: &Repository,
    head: Oid,
    problems: &mut Vec<HistoryProblem>,
) -> Result<Evidence> {
    let mut evidence = Evidence::default();
    let Some(tree) = history::ledger_tree(repo, head)? else {
        return Ok(evidence);
    };
    let mut blobs = Vec::new();
    let regular = [
        i32::from(git2::FileMode::Blob),
        i32::from(git2::FileMode::BlobExecutable),
    ];
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if let Ok(name) = entry.name()
            && is_ledger_file_name(name)
            && entry.kind() == Some(git2::ObjectType::Blob)
            && regular.contains(&entry.filemode())
        {
            blobs.push((format!("{LEDGER_DIR}/{dir}{name}"), entry.id()));
        }
        git2::TreeWalkResult::Ok
    })?;
    let mut events = Vec::new();
    let mut claims = Vec::new();
    for (path, blob) in blobs {
        evidence.files += 1;
        let bytes = history::blob(repo, blob)?;
        let mut chain = Chain::for_path(Path::new(&path));
        for line in history::split_lines(&bytes).0 {
            let text = String::from_utf8_lossy(line);
            if let Some(message) = chain.push(&text) {
                problems.push(HistoryProblem {
                    commit: head.to_string(),
                    parent: None,
                    file: path.clone(),
                    line: chain.lines,
                    message: format!("as committed at the head: {message}"),
                });
                continue;
            }
            evidence.events += 1;
            if text.contains("\"kind\":\"claim.")
                && let Ok(e) = decode(&text)
                && matches!(
                    e.payload(),
                    Payload::ClaimTaken { .. } | Payload::ClaimReleased { .. }
                )
            {
                claims.push(e);
                continue;
            }
            // Only three kinds are evidence; the rest need not be decoded.
            if text.contains("\"kind\":\"step.")
                && let Ok(e) = decode(&text)
                && matches!(
                    e.payload(),
                    Payload::StepApproved { .. }
                        | Payload::StepMerged { .. }
                        | Payload::StepRolledBack { .. }
                )
            {
                events.push(e);
            }
        }
    }
    events.sort_by(|a, b| (&a.ts, &a.run, a.seq).cmp(&(&b.ts, &b.run, b.seq)));
    // Claim events are ordered by the claims' history (see `check_claims`), not by time.
    let in_history = |release: &str, take: &str| -> Option<bool> {
        let take = git2::Oid::from_str(take).ok()?;
        repo.find_commit(take).ok()?;
        // The take's whole history is here with it: a release not in it never preceded it.
        let Ok(release) = git2::Oid::from_str(release) else {
            return Some(false);
        };
        Some(repo.graph_descendant_of(take, release).unwrap_or(false))
    };
    evidence.claims = check_claims(&claims, &in_history);
    for e in &events {
        evidence.add(e);
    }
    Ok(evidence)
}
