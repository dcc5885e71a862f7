use crate::cli::progress::StepProgress;
use crate::cli::prompt::{interactive, text};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::step::State;

/// Send feedback on a step to its harness, commit the changes, rerun the gates
///
/// Resumes the same harness session when the adapter can; otherwise starts a fresh run whose
/// prompt includes the feedback. The new commits go on the same branch.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Step id (fg-3k9x.1) or bead id
    pub step: String,
    /// What should change; asked for on a terminal
    #[arg(long)]
    pub feedback: Option<String>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let feedback = match args.feedback {
        Some(f) => f,
        None if interactive(ui) => text("What should change?")?,
        None => {
            return Err(super::approve::needs_human("revising a step", "--feedback TEXT").into());
        }
    };
    let mut progress = StepProgress::new(ui.json, ui.quiet).redacting(ws.redactor.clone());
    let outcome = crate::step::revise::revise(&mut ws, &args.step, &feedback, &mut progress);
    progress.finish();
    let outcome = outcome?;
    let code = super::step::render(ui, &outcome)?;
    Ok(if outcome.checkpoint.state == State::AwaitingApproval {
        exit::OK
    } else {
        code
    })
}
