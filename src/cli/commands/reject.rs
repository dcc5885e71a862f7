use crate::approval;
use crate::cli::prompt::{interactive, text};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Reject a waiting step: keep its work in the attic, reopen the bead with the reason
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Step id (fg-3k9x.1) or bead id
    pub step: String,
    /// Why (the next attempt's prompt includes it); asked for on a terminal
    #[arg(long)]
    pub reason: Option<String>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let reason = match args.reason {
        Some(r) => r,
        None if interactive(ui) => text("Why reject it? (the next attempt sees this)")?,
        None => {
            return Err(super::approve::needs_human("rejecting a step", "--reason TEXT").into());
        }
    };
    let rejected = approval::reject(&mut ws, &args.step, &reason)?;
    ui.report(&rejected, |out| {
        writeln!(
            out,
            "Rejected {}; the work is kept in refs/forge/attic/{} ({})",
            ui.id(&rejected.step),
            rejected.step,
            approval::short(&rejected.attic)
        )
    })?;
    Ok(exit::OK)
}
