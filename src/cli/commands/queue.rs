use std::io::Write;

use serde::Serialize;

use crate::approval::queue::{self, Entry, Outcome};
use crate::cli::ui::Ui;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// List and reorder the merge queue (`[policy] merge = "queue"`)
///
/// Approved steps wait here, in order, to be merged onto the base tip with their gates re-run
/// on the merged result; `forge approve` and every `forge tick` run the queue. Without a
/// subcommand, lists it.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Move a step to another place in the queue
    Move {
        /// Step id (fg-3k9x.1) or bead id
        step: String,
        /// Its new place, from 1 (the next to merge)
        #[arg(long, value_name = "N")]
        to: usize,
    },
    /// Take a step out of the queue; it waits for approval again
    Remove {
        /// Step id (fg-3k9x.1) or bead id
        step: String,
    },
    /// Run the queue now (as `forge approve` and `forge tick` do)
    Run,
}

#[derive(Serialize)]
struct Report {
    queue: Vec<Entry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ran: Option<Vec<Outcome>>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let step_id = |s: &str| -> crate::Result<String> {
        Ok(crate::step::checkpoint::load_step(&ws.layout, s)?.step)
    };
    let (entries, ran) = match args.action {
        None => (queue::entries(&ws.layout)?, None),
        Some(Action::Move { step, to }) => {
            let step = step_id(&step)?;
            (queue::move_to(&mut ws, &step, to)?, None)
        }
        Some(Action::Remove { step }) => {
            let step = step_id(&step)?;
            (queue::remove(&mut ws, &step)?, None)
        }
        Some(Action::Run) => {
            let ran = queue::run(&mut ws)?;
            (queue::entries(&ws.layout)?, Some(ran))
        }
    };
    let report = Report {
        queue: entries,
        ran,
    };
    ui.report(&report, |out| {
        for o in report.ran.iter().flatten() {
            outcome_line(ui, out, o)?;
        }
        if report.queue.is_empty() {
            ui.status("The merge queue is empty.");
        }
        for (i, e) in report.queue.iter().enumerate() {
            writeln!(
                out,
                "{:>3}. {}  {}  approved head {}  since {}",
                i + 1,
                ui.id(&e.step),
                e.bead,
                crate::approval::short(&e.head),
                e.enqueued
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}

/// One line (or a few) saying what the queue did with a step.
pub fn outcome_line(ui: &Ui, out: &mut dyn Write, o: &Outcome) -> std::io::Result<()> {
    match o {
        Outcome::Merged(a) => writeln!(
            out,
            "Merged {} into {} as {} (gates passed on the merged result; approved by {} via {})",
            ui.id(&a.step),
            a.base_ref.trim_start_matches("refs/heads/"),
            crate::approval::short(&a.merge_commit),
            a.approved_by,
            a.how.as_str()
        ),
        Outcome::SentBack { step, reason, .. } => writeln!(
            out,
            "Sent back {}: {}\n  `forge revise {}` has its agent work on the new base",
            ui.id(step),
            crate::cli::render::Safe::text(reason),
            step
        ),
        Outcome::Dropped { step, why } => {
            writeln!(out, "Dropped {} from the queue: {why}", ui.id(step))
        }
        Outcome::Blocked { step, error } => writeln!(
            out,
            "Could not merge {} now; it stays first in the queue: {error}",
            ui.id(step)
        ),
    }
}
