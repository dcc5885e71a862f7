use serde::Serialize;

use crate::bead::BeadSummary;
use crate::bead::graph::Graph;
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::cli::render::summary_line;
use crate::cli::{CommandHelper, CommandResult, free_at_exit};
use crate::error::exit;

/// List beads that are ready to work on, most urgent first
///
/// Ready: open, not an epic (its children are the work; it closes itself when the last of
/// them closes), every `blocks` dependency closed, no deferred ancestor, and no step running
/// or waiting for approval. Ordered by priority, then value (highest first), then age
/// (oldest first).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show at most N beads
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Serialize)]
struct Report<'a> {
    ready: Vec<&'a BeadSummary<'a>>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let mut buf = IndexBuf::default();
    let index = BeadRepo::new(layout).index(&mut buf)?;
    let graph = Graph::new(&index);
    let mut ready: Vec<&BeadSummary> = crate::step::busy::Busy::load(layout)?.startable(&graph);
    if let Some(n) = args.limit {
        ready.truncate(n);
    }
    let report = Report { ready };
    ui.report(&report, |out| {
        if report.ready.is_empty() {
            ui.status("No bead is ready.");
        }
        for b in &report.ready {
            summary_line(ui, out, b)?;
        }
        Ok(())
    })?;
    free_at_exit(report);
    free_at_exit(graph);
    free_at_exit(index);
    free_at_exit(buf);
    Ok(exit::OK)
}
