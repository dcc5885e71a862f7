use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Remove worktrees and branches of finished steps, keeping their state in refs/forge/attic/
///
/// Before a worktree is removed, everything in it (uncommitted and untracked files) is
/// committed to refs/forge/attic/<step>. Worktrees forge did not create are never touched.
/// A step branch goes once the step is merged, rejected, rolled back or failed and
/// superseded, and its head is on the base branch or in refs/forge/attic/<step>; a branch
/// that moved since the step is left alone.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(helper: &CommandHelper, _args: Args) -> CommandResult {
    let ui = helper.ui();
    let ws = helper.workspace()?;
    let _lock = ws.lock()?;
    let report = crate::step::gc::gc(&ws.layout)?;
    ui.report(&report, |out| {
        for r in &report.removed {
            writeln!(
                out,
                "removed worktree of {} (saved as refs/forge/attic/{} = {})",
                ui.id(&r.step),
                r.step,
                &r.attic[..12]
            )?;
        }
        for d in &report.deleted_branches {
            let place = d.kept_in.strip_prefix("refs/heads/").unwrap_or(&d.kept_in);
            writeln!(
                out,
                "deleted branch {} of {} (its head {} stays in {place})",
                d.branch,
                ui.id(&d.step),
                &d.head[..12.min(d.head.len())]
            )?;
        }
        for k in &report.kept_branches {
            writeln!(out, "kept branch {}: {}", k.branch, k.reason)?;
        }
        if report.removed.is_empty() && report.deleted_branches.is_empty() {
            writeln!(out, "nothing to remove")?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
