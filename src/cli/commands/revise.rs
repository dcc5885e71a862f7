use crate::cli::progress::StepProgress;
use crate::cli::prompt::{interactive, text};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::step::State;

/// Send feedback on a step to its harness, commit the changes, rerun the gates
///
/// Resumes the same harness session when the adapter can; otherwise starts a fresh run whose
/// prompt includes the feedback. The new commits go on the same branch. A step the merge
/// queue sent back needs no --feedback: it is replayed on the new base and the agent is
/// given the conflict or the gate that failed on the merged result.
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
    // A step the merge queue sent back carries its feedback (the conflict or the failing
    // gate); more may be given.
    let sent_back = crate::step::checkpoint::load_step(&ws.layout, &args.step)
        .is_ok_and(|cp| crate::step::revise::sent_back(&cp));
    let feedback = match args.feedback {
        Some(f) => f,
        None if sent_back => String::new(),
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
