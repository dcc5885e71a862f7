use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};
use crate::error::exit;

/// Remove worktrees of finished steps, keeping their state in refs/forge/attic/
///
/// Before a worktree is removed, everything in it (uncommitted and untracked files) is
/// committed to refs/forge/attic/<step>. Worktrees forge did not create are never touched.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ui: &Ui, ctx: &Context, _args: Args) -> CommandResult {
    let ws = crate::workspace::Workspace::open(&ctx.cwd, &ctx.env)?;
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
        if report.removed.is_empty() {
            writeln!(out, "nothing to remove")?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
