use serde::Serialize;

use crate::bead::BeadSummary;
use crate::bead::graph::{Blocker, Graph};
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::cli::render::{blocker, summary_line};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// List open beads that are not ready, each with what blocks it
#[derive(Debug, clap::Args)]
pub struct Args {}

#[derive(Serialize)]
struct Entry<'a> {
    bead: &'a BeadSummary<'a>,
    blocked_by: Vec<Blocker<'a>>,
}

#[derive(Serialize)]
struct Report<'a> {
    blocked: Vec<Entry<'a>>,
}

pub fn run(helper: &CommandHelper, _args: Args) -> CommandResult {
    let layout = helper.layout()?;
    let mut buf = IndexBuf::default();
    let index = BeadRepo::new(layout).index(&mut buf)?;
    let graph = Graph::new(&index);
    let report = Report {
        blocked: graph
            .blocked()
            .into_iter()
            .map(|(bead, blocked_by)| Entry { bead, blocked_by })
            .collect(),
    };
    let ui = helper.ui();
    ui.report(&report, |out| {
        if report.blocked.is_empty() {
            ui.status("No bead is blocked.");
        }
        for e in &report.blocked {
            summary_line(ui, out, e.bead)?;
            for b in &e.blocked_by {
                writeln!(out, "      {}", blocker(ui, b))?;
            }
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
