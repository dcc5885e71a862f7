use serde::Serialize;

use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::step::checkpoint::{self, Checkpoint};
use crate::step::lease;

/// List steps and their states
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only steps of this bead
    #[arg(long, value_name = "ID")]
    pub bead: Option<String>,
}

#[derive(Serialize)]
pub struct StepRow {
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// Whether a live process holds the bead's lease.
    pub live: bool,
    /// For a step waiting for approval: what it would conflict with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<crate::step::overlap::Predicted>,
}

#[derive(Serialize)]
struct Report {
    steps: Vec<StepRow>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let bead = args.bead.as_deref().map(crate::bead::id::normalise);
    let all = checkpoint::load_all(layout)?;
    let mut predicted = crate::step::overlap::predict(layout, &all)?;
    let steps: Vec<StepRow> = all
        .into_iter()
        .filter(|c| bead.as_deref().is_none_or(|b| c.bead == b))
        .map(|c| StepRow {
            live: c.state.is_active() && lease::is_held(layout, &c.bead),
            conflicts: predicted
                .iter()
                .position(|p| p.step == c.step)
                .map(|i| predicted.swap_remove(i)),
            checkpoint: c,
        })
        .collect();
    let report = Report { steps };
    ui.report(&report, |out| {
        if report.steps.is_empty() {
            ui.status("No steps yet.");
        }
        for row in &report.steps {
            let c = &row.checkpoint;
            let state = if c.state.is_active() && !row.live {
                format!("{} (owner gone)", c.state)
            } else {
                c.state.to_string()
            };
            let reason = match &row.conflicts {
                Some(p) => p.describe(crate::step::overlap::base_name(&c.base_ref)),
                None => c.reason.clone(),
            };
            writeln!(
                out,
                "{}  {:<18} {:<10} {}  {}",
                ui.id(&format!("{:<11}", c.step)),
                state,
                c.harness,
                c.branch,
                reason
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
