//! Turning a step down: a rejection before it merged, a rollback after (or instead).
//! Either way the bead reopens and the work stays reachable, in the attic or the history.

use serde::Serialize;

use super::{merge, require_waiting};
use crate::bead::{Status, ops};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::ledger::Payload;
use crate::ledger::event::StepAt;
use crate::step::checkpoint::{Checkpoint, State, load_step, transition};
use crate::step::gc;
use crate::store::StoreLock;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub step: String,
    pub bead: String,
    pub reason: String,
    /// `refs/forge/attic/<step>` keeps the branch and anything left in the worktree.
    pub attic: String,
}

/// Rejects a waiting step: the work goes to the attic, the worktree and branch go, and the
/// bead reopens with the reason as feedback for the next attempt.
pub fn reject(ws: &mut Workspace, step: &str, reason: &str) -> Result<Rejected> {
    if reason.trim().is_empty() {
        return Err(Error::usage("a rejection needs a reason (--reason TEXT)"));
    }
    // Under the approval lock, like approve and the merge queue: a reject never discards the
    // worktree and branch a merge is reading, and the two never both take effect.
    let _lock = StoreLock::acquire(&ws.layout.approval_lock())?;
    let mut cp = load_step(&ws.layout, step)?;
    require_waiting(ws, &cp)?;
    ws.record(Payload::StepRejected {
        at: StepAt::new(&cp.step, &cp.bead),
        head: cp.head.clone(),
        reason: reason.to_owned(),
        by: ws.actor.clone(),
    })?;
    let attic = discard(ws, &cp)?;
    cp.reason = reason.to_owned();
    cp.finished = ws.clock.now();
    transition(
        ws,
        &mut cp,
        State::Rejected,
        |at| Payload::StepDiscarded {
            at,
            attic: attic.clone(),
        },
        &mut (),
    )?;
    ops::set_status(ws, &cp.bead, Status::Open, &format!("rejected: {reason}"))?;
    Ok(Rejected {
        step: cp.step,
        bead: cp.bead,
        reason: reason.to_owned(),
        attic,
    })
}

/// Saves the step's worktree and branch to the attic, then removes both. Returns the attic
/// commit.
fn discard(ws: &Workspace, cp: &Checkpoint) -> Result<String> {
    let worktree = ws.layout.step_worktree(&cp.worktree);
    let main = Git::new(&ws.layout.root);
    let attic = if worktree.exists() {
        gc::remove_worktree(&ws.layout, cp)?.attic
    } else {
        let head = main.rev_parse(&format!("refs/heads/{}", cp.branch))?;
        main.update_ref(&format!("refs/forge/attic/{}", cp.step), &head, None)?;
        head
    };
    // The attic commit descends from the branch head, so deleting the branch loses nothing.
    if main.rev_parse(&format!("refs/heads/{}", cp.branch)).is_ok() {
        main.run(&["branch", "-D", "--quiet", &cp.branch])?;
    }
    Ok(attic)
}

#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    pub step: String,
    pub bead: String,
    /// The revert commit, when the step had been merged.
    pub revert_commit: Option<String>,
    /// The attic commit, when a pending step was discarded.
    pub attic: Option<String>,
}

/// Undoes a merged step with a revert commit, or discards a pending one; either way the
/// bead reopens and the work stays reachable.
pub fn rollback(ws: &mut Workspace, step: &str, reason: &str) -> Result<RolledBack> {
    // Under the approval lock: a rollback never races the approval or queue run merging it.
    let _lock = StoreLock::acquire(&ws.layout.approval_lock())?;
    let mut cp = load_step(&ws.layout, step)?;
    let reason = if reason.is_empty() {
        "rolled back"
    } else {
        reason
    };
    let out = match cp.state {
        State::Merged => {
            ws.record(Payload::StepRollback {
                at: StepAt::new(&cp.step, &cp.bead),
                merge_commit: Some(cp.merge_commit.clone()),
                reason: reason.to_owned(),
                by: ws.actor.clone(),
            })?;
            let revert = merge::revert_step(ws, &cp, reason)?;
            cp.revert_commit = revert.clone();
            RolledBack {
                step: cp.step.clone(),
                bead: cp.bead.clone(),
                revert_commit: Some(revert),
                attic: None,
            }
        }
        State::AwaitingApproval | State::Failed | State::Interrupted => {
            ws.record(Payload::StepRollback {
                at: StepAt::new(&cp.step, &cp.bead),
                merge_commit: None,
                reason: reason.to_owned(),
                by: ws.actor.clone(),
            })?;
            let attic = discard(ws, &cp)?;
            RolledBack {
                step: cp.step.clone(),
                bead: cp.bead.clone(),
                revert_commit: None,
                attic: Some(attic),
            }
        }
        other => {
            return Err(Error::Refused {
                message: format!("{} is {other}; there is nothing to roll back", cp.step),
                hint: crate::step::owner_gone_hint(&ws.layout, &cp)
                    .unwrap_or_else(|| "see `forge steps`".into()),
            });
        }
    };
    cp.reason = reason.to_owned();
    transition(
        ws,
        &mut cp,
        State::RolledBack,
        |at| Payload::StepRolledBack {
            at,
            revert_commit: out.revert_commit.clone(),
            attic: out.attic.clone(),
        },
        &mut (),
    )?;
    ops::set_status(
        ws,
        &cp.bead,
        Status::Open,
        &format!("rolled back: {reason}"),
    )?;
    Ok(out)
}
