//! Approvals: no change an agent made reaches a base branch unless a person approved that
//! exact commit (or a policy they wrote allowed it), and the ledger says which.
//!
//! Every decision is recorded before it is acted on, bound to the step's head commit. A
//! checkpoint is only trusted when the ledger agrees with it: a hand-edited checkpoint that
//! claims to await approval, or a ledger that does not verify, refuses the merge.

pub mod evidence;
pub mod merge;
pub mod queue;
pub mod reconcile;
pub mod seal;
mod undo;

use crate::ledger::Payload;
use crate::ledger::event::{self, StepAt};
use serde::Serialize;

use crate::bead::{Status, ops};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::step::checkpoint::{self, Checkpoint, State, load_step, transition};
use crate::store::StoreLock;
use crate::workspace::Workspace;

/// How an approval was given; recorded with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// Answered at the interactive prompt.
    Prompt,
    /// `--yes` on the command line.
    Flag,
    /// Allowed by the approval policy in config.
    Policy,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Prompt => "prompt",
            How::Flag => "flag",
            How::Policy => "policy",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Approved {
    pub step: String,
    pub bead: String,
    pub head: String,
    pub base_ref: String,
    pub merge_commit: String,
    pub approved_by: String,
    pub how: How,
    /// Whether the merge happened in a checked-out working tree.
    pub in_worktree: Option<String>,
    /// The merge had been made by an earlier approval that was killed before recording it;
    /// this one only finished the bookkeeping.
    pub reconciled: bool,
    /// Epics that closed with the step's bead: it was the last of their children still open.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed_epics: Vec<String>,
    /// With `[policy] merge = "queue"`: what the queue run this approval started did. The
    /// step is merged when `merge_commit` is set; otherwise it waits in the queue or was
    /// sent back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Vec<queue::Outcome>>,
}

/// Steps waiting for approval, oldest first.
pub fn waiting(ws: &Workspace) -> Result<Vec<Checkpoint>> {
    let mut v: Vec<Checkpoint> = checkpoint::load_all(&ws.layout)?
        .into_iter()
        .filter(|c| c.state == State::AwaitingApproval)
        .collect();
    v.sort_by(|a, b| a.updated.cmp(&b.updated).then_with(|| a.step.cmp(&b.step)));
    Ok(v)
}

fn require_waiting(ws: &Workspace, cp: &Checkpoint) -> Result<()> {
    if cp.state == State::AwaitingApproval {
        return Ok(());
    }
    let retry = format!("start a new attempt with `forge step {}`", cp.bead);
    let reason = if cp.reason.is_empty() {
        "none recorded"
    } else {
        &cp.reason
    };
    // A step that ended: what to do instead, unless its owner died (then reclaiming it).
    let ended = |how: &str, then: String| Error::Refused {
        message: format!(
            "{} {}{how}, so there is nothing to approve; reason: {reason}",
            cp.step, cp.state
        ),
        hint: crate::step::owner_gone_hint(&ws.layout, cp).unwrap_or(then),
    };
    Err(match cp.state {
        State::Failed | State::Interrupted if cp.head.is_empty() => ended(
            " without a commit",
            format!(
                "see what its harness did with `forge log {}`, then {retry}",
                cp.step
            ),
        ),
        State::Failed | State::Interrupted => ended(
            "",
            format!(
                "send feedback with `forge revise {} --feedback TEXT`, or {retry}",
                cp.step
            ),
        ),
        _ => Error::Refused {
            message: format!("{} is {}, not waiting for approval", cp.step, cp.state),
            hint: crate::step::owner_gone_hint(&ws.layout, cp)
                .unwrap_or_else(|| "see `forge steps`".into()),
        },
    })
}

/// Refuses, before anyone is asked, a step that no approval could merge (failed, rejected,
/// still running), in its own terms. A waiting, approved or merged step is left to
/// [`approve`], which settles those under the approval lock.
pub fn check_approvable(ws: &Workspace, cp: &Checkpoint) -> Result<()> {
    match cp.state {
        State::AwaitingApproval | State::Approved | State::Merged => Ok(()),
        _ => require_waiting(ws, cp),
    }
}

/// The commit `--head REV` names: what the person reviewed. A name that is no commit is
/// refused with the step's actual head.
pub fn reviewed_head(ws: &Workspace, cp: &Checkpoint, rev: &str) -> Result<String> {
    match Git::new(&ws.layout.root).rev_parse(rev) {
        Err(Error::GitCommand { .. }) => Err(Error::Refused {
            message: format!("--head {rev} is not a commit in this repository"),
            hint: review_hint(cp),
        }),
        other => other,
    }
}

/// What to do when the commit an approval names is not the step's head.
fn review_hint(cp: &Checkpoint) -> String {
    if cp.head.is_empty() {
        return "see `forge steps`; nothing was merged".into();
    }
    format!(
        "the head of {} is {}: review it (`forge approve {}` on a terminal, or `git show {}`), \
         then pass --head {} with --yes; nothing was merged",
        cp.step,
        cp.head,
        cp.step,
        short(&cp.head),
        cp.head
    )
}

/// Approves `step` at `expected_head` (the commit the approver reviewed; None means the
/// checkpoint's head) and merges it into its base branch.
///
/// One transaction under the repository's approval lock, shared with `tick` and `doctor
/// --fix`: the step is read afresh under it, a merge that an earlier, killed approval
/// already made is finished instead of repeated ([`reconcile`]), and a step is merged at
/// most once. A merge that fails in the user's checkout is aborted there.
pub fn approve(
    ws: &mut Workspace,
    step: &str,
    expected_head: Option<&str>,
    how: How,
) -> Result<Approved> {
    let lock_path = ws.layout.approval_lock();
    let _lock = StoreLock::acquire(&lock_path)?;
    let mut cp = load_step(&ws.layout, step)?;
    if let Some(done) = reconcile::reconcile(ws, &mut cp)?
        && done.finished.contains(&"checkpoint")
    {
        // An earlier approval of this head merged it and was killed before its bookkeeping.
        if let Some(reviewed) = expected_head.filter(|h| *h != cp.head) {
            return Err(not_its_head(&cp, reviewed));
        }
        return Ok(Approved {
            step: cp.step.clone(),
            bead: cp.bead.clone(),
            head: cp.head.clone(),
            base_ref: cp.base_ref.clone(),
            merge_commit: done.merge_commit,
            approved_by: cp.approved_by.clone(),
            how,
            in_worktree: None,
            reconciled: true,
            closed_epics: Vec::new(),
            queue: None,
        });
    }
    if cp.state == State::Merged {
        return Err(Error::Refused {
            message: format!(
                "{} is already merged (in {})",
                cp.step,
                short(&cp.merge_commit)
            ),
            hint: "nothing to do; see `forge show` of its bead".into(),
        });
    }
    if cp.state == State::Approved && cp.head == expected_head.unwrap_or(&cp.head) {
        // Approved already and waiting in the merge queue (an earlier approval was killed,
        // or the queue stopped at a step before it): this approval runs the queue.
        let approver = cp.approved_by.clone();
        let how = cp.approved_how.unwrap_or(how);
        return queued(ws, &cp, approver, how);
    }
    require_waiting(ws, &cp)?;
    let claim = crate::remote::check_approvable(ws, &cp)?;
    let main = Git::new(&ws.layout.root);
    let branch_head = main.rev_parse(&format!("refs/heads/{}", cp.branch))?;
    if branch_head != cp.head {
        return Err(Error::Refused {
            message: format!(
                "{} moved: its branch is at {}, the step recorded {}",
                cp.step,
                short(&branch_head),
                short(&cp.head),
            ),
            hint: "review the step again: nothing was merged".into(),
        });
    }
    if let Some(reviewed) = expected_head.filter(|h| *h != cp.head) {
        return Err(not_its_head(&cp, reviewed));
    }
    evidence::check(ws, &cp)?;
    if !seal::verify(&ws.layout, &cp) {
        rederive(ws, &cp, expected_head.is_some(), how)?;
    }

    // The approval is recorded, bound to the commit, before anything is merged. A policy
    // approves by its tier; who ran the tick is recorded beside it.
    let approver = match how {
        How::Policy => format!("policy:{}", cp.risk.map_or("", |r| r.as_str())),
        _ => ws.actor.clone(),
    };
    // On a shared remote the claim says approved first, by compare-and-swap on the very
    // claim checked above: if it moved meanwhile, nothing is approved or merged.
    if let Some(claim) = &claim {
        crate::remote::approve_claim(ws, claim)?;
    }
    ws.record(Payload::StepApproved {
        at: StepAt::new(&cp.step, &cp.bead),
        head: cp.head.clone(),
        approved_by: approver.clone(),
        how: Some(how),
        invoked_by: ws.actor.clone(),
    })?;
    if ws.config.policy.merge == crate::config::MergeMode::Queue {
        cp.approved_by = approver.clone();
        cp.approved_how = Some(how);
        queue::enqueue(ws, &mut cp)?;
        return queued(ws, &cp, approver, how);
    }
    let result = merge::merge_step(ws, &cp, &approver, how);
    let merged = match result {
        Ok(m) => m,
        Err(e) => {
            ws.record(Payload::StepMergeRefused {
                at: StepAt::new(&cp.step, &cp.bead),
                head: cp.head.clone(),
                reason: e.to_string(),
            })?;
            return Err(e);
        }
    };
    cp.approved_by = approver;
    cp.approved_how = Some(how);
    record_merged(ws, cp, merged)
}

/// Runs the merge queue after `cp` joined it (the caller holds the approval lock): the step
/// merged, or still queued, or sent back, as the run's outcomes say.
fn queued(ws: &mut Workspace, cp: &Checkpoint, approver: String, how: How) -> Result<Approved> {
    let run = queue::run_locked(ws)?;
    let merged = run.iter().find_map(|o| match o {
        queue::Outcome::Merged(a) if a.step == cp.step => Some(a.clone()),
        _ => None,
    });
    if let Some(mut done) = merged {
        done.queue = Some(run);
        return Ok(done);
    }
    Ok(Approved {
        step: cp.step.clone(),
        bead: cp.bead.clone(),
        head: cp.head.clone(),
        base_ref: cp.base_ref.clone(),
        merge_commit: String::new(),
        approved_by: approver,
        how,
        in_worktree: None,
        reconciled: false,
        closed_epics: Vec::new(),
        queue: Some(run),
    })
}

/// The bookkeeping of a merge that reached the base: the checkpoint merged (one
/// `step.merged`), the bead closed (and epics whose last child it was).
pub(crate) fn record_merged(
    ws: &mut Workspace,
    mut cp: Checkpoint,
    merged: merge::Merged,
) -> Result<Approved> {
    let how = cp.approved_how.unwrap_or(How::Flag);
    cp.merge_commit = merged.commit.clone();
    cp.finished = ws.clock.now();
    let (head, base_ref) = (cp.head.clone(), cp.base_ref.clone());
    let merge_commit = merged.commit.clone();
    let event = |at| Payload::StepMerged {
        at,
        head,
        merge_commit,
        base_ref,
        reconciled: None,
    };
    transition(ws, &mut cp, State::Merged, event, &mut ())?;
    let (_, _, closed_epics) = ops::set_status_with_epics(
        ws,
        &cp.bead,
        Status::Closed,
        &format!("merged in {} ({})", short(&merged.commit), cp.step),
    )?;
    Ok(Approved {
        step: cp.step.clone(),
        bead: cp.bead.clone(),
        head: cp.head.clone(),
        base_ref: cp.base_ref.clone(),
        merge_commit: merged.commit,
        approved_by: cp.approved_by.clone(),
        how,
        in_worktree: merged.worktree.map(|p| p.display().to_string()),
        reconciled: false,
        closed_epics,
        queue: None,
    })
}

/// Where the review of a step starts: the merge base of its head and its base branch's tip
/// (what the merge brings in), not the base commit the checkpoint names, which is only as
/// trustworthy as the file.
pub fn review_base(ws: &Workspace, cp: &Checkpoint) -> Result<String> {
    let git = Git::new(&ws.layout.root);
    let tip = git.rev_parse(&cp.base_ref)?;
    Ok(git.merge_base(&tip, &cp.head)?.unwrap_or(tip))
}

/// Evidence this clone did not seal is derived again before any merge: the gates re-run on
/// the exact head in a fresh worktree, the risk recomputed. A policy never approves such a
/// step, nor does `--yes` without `--head` naming the commit the person reviewed.
fn rederive(ws: &mut Workspace, cp: &Checkpoint, head_named: bool, how: How) -> Result<()> {
    let elsewhere = format!(
        "the evidence for {} (checkpoint and ledger) was not written by this clone",
        cp.step
    );
    match how {
        How::Policy => {
            return Err(Error::NeedsHuman {
                message: format!("{elsewhere}; a policy does not approve it"),
                hint: format!("review it with `forge approve {}`", cp.step),
            });
        }
        How::Flag if !head_named => {
            return Err(Error::NeedsHuman {
                message: elsewhere,
                hint: format!(
                    "review the diff (`forge approve {}` on a terminal), then pass --head {} \
                     with --yes",
                    cp.step, cp.head
                ),
            });
        }
        _ => {}
    }
    let base = review_base(ws, cp)?;
    let (gates, risk) = crate::step::rederive(ws, cp, &base)?;
    ws.record(Payload::StepRederived {
        at: StepAt::new(&cp.step, &cp.bead),
        head: cp.head.clone(),
        base: base.clone(),
        gates: event::json(&gates),
        risk: Some(risk),
        why: elsewhere.to_string(),
    })?;
    let failed: Vec<String> = gates
        .iter()
        .filter(|g| !g.ok)
        .map(|g| format!("{}: {}", g.name, g.detail))
        .collect();
    if !failed.is_empty() {
        return Err(Error::Refused {
            message: format!(
                "{elsewhere}, and the gates re-run on {} fail: {}",
                short(&cp.head),
                failed.join("; ")
            ),
            hint: "nothing was merged".into(),
        });
    }
    Ok(())
}

/// The approval names a commit that is not the step's head: nothing moved, the person
/// reviewed (or typed) another commit.
fn not_its_head(cp: &Checkpoint, reviewed: &str) -> Error {
    Error::Refused {
        message: format!(
            "{} is not the head of {} (its head is {}): the approval names another commit",
            short(reviewed),
            cp.step,
            short(&cp.head)
        ),
        hint: review_hint(cp),
    }
}

pub use crate::ledger::review::short;
pub use undo::{Rejected, RolledBack, reject, rollback};
