use crate::approval;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Undo a step: revert a merged one, discard a pending one; the bead reopens
///
/// A merged step is undone with a revert commit on its base branch; a pending or failed one
/// is discarded. Either way the work stays reachable (the merge in history, or
/// refs/forge/attic/<step>).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Step id (fg-3k9x.1) or bead id
    pub step: String,
    /// Why (recorded, and given to the next attempt)
    #[arg(long, default_value = "")]
    pub reason: String,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let done = approval::rollback(&mut ws, &args.step, &args.reason)?;
    ui.report(&done, |out| match (&done.revert_commit, &done.attic) {
        (Some(r), _) => writeln!(
            out,
            "Reverted {} with {}; {} is open again",
            ui.id(&done.step),
            approval::short(r),
            ui.id(&done.bead)
        ),
        (_, Some(a)) => writeln!(
            out,
            "Discarded {} (kept in refs/forge/attic/{} = {}); {} is open again",
            ui.id(&done.step),
            done.step,
            approval::short(a),
            ui.id(&done.bead)
        ),
        _ => Ok(()),
    })?;
    Ok(exit::OK)
}
