//! Steps left behind by a process that died: active steps whose owner is gone, and
//! approvals killed between the merge and its bookkeeping. `--fix` reclaims and finishes
//! them exactly as `tick` does.

use super::{DoctorReport, Severity};
use crate::approval::reconcile;
use crate::error::Result;
use crate::git::cli::Git;
use crate::step::checkpoint::{self, State};
use crate::step::lease;
use crate::store::{Layout, StoreLock};
use crate::workspace::Workspace;

pub fn check(layout: &Layout, ws: Option<&mut Workspace>, report: &mut DoctorReport) -> Result<()> {
    if let Some(ws) = ws {
        return fix(ws, report);
    }
    let Ok(steps) = checkpoint::load_all(layout) else {
        return Ok(()); // reported by the state check
    };
    let git = Git::new(&layout.root);
    let dead: Vec<_> = steps
        .iter()
        .filter(|c| c.state.is_active() && !lease::is_held(layout, &c.bead))
        .collect();
    let half_approved: Vec<_> = steps
        .iter()
        .filter(|c| c.state == State::AwaitingApproval && !c.head.is_empty())
        .filter(|c| {
            git.rev_parse(&c.base_ref)
                .is_ok_and(|tip| git.is_ancestor(&c.head, &tip).unwrap_or(false))
        })
        .collect();
    for c in &dead {
        report.push(
            "steps",
            Severity::Error,
            format!(
                "{} is {} but the process running it ({}) is gone",
                c.step, c.state, c.owner_pid
            ),
            Some(
                "forge doctor --fix (reclaims it as tick does; its work goes to the attic)".into(),
            ),
        );
    }
    for c in &half_approved {
        report.push(
            "steps",
            Severity::Error,
            format!(
                "{} waits for approval, but its head is already on {}: an approval was \
                 interrupted before recording the merge",
                c.step, c.base_ref
            ),
            Some("forge doctor --fix (records the merge and closes the bead, once)".into()),
        );
    }
    if dead.is_empty() && half_approved.is_empty() {
        report.ok(
            "steps",
            "no step is left without its owner or half-approved",
        );
    }
    Ok(())
}

/// `--fix`: reclaims and reconciles exactly as `tick` does.
fn fix(ws: &mut Workspace, report: &mut DoctorReport) -> Result<()> {
    for r in crate::tick::reclaim::reclaim(ws)? {
        report.fixed(
            "steps",
            Severity::Error,
            format!(
                "reclaimed {} (its owner was gone){}",
                r.step,
                r.attic
                    .map(|a| format!(
                        "; its worktree is in the attic at {}",
                        crate::approval::short(&a)
                    ))
                    .unwrap_or_default()
            ),
        );
    }
    let _lock = StoreLock::acquire(&ws.layout.approval_lock())?;
    for r in reconcile::reconcile_all(ws)? {
        report.fixed(
            "steps",
            Severity::Error,
            format!(
                "finished the approval of {} (merged in {}): {}",
                r.step,
                crate::approval::short(&r.merge_commit),
                r.finished.join(", ")
            ),
        );
    }
    Ok(())
}
