use serde::Serialize;

use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::bead::{BeadSummary, Kind, Status};
use crate::cli::render::summary_line;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// List beads (open and deferred by default), sorted by priority then id
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only beads with this status (repeatable)
    #[arg(short, long, value_enum)]
    pub status: Vec<Status>,
    /// Include closed beads
    #[arg(short, long, conflicts_with = "status")]
    pub all: bool,
    /// Only beads of this kind (repeatable)
    #[arg(short, long, value_enum)]
    pub kind: Vec<Kind>,
    /// Only beads with this label (repeatable: all must match)
    #[arg(short, long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Only beads with this priority (repeatable)
    #[arg(short, long, value_parser = clap::value_parser!(u8).range(0..=4))]
    pub priority: Vec<u8>,
}

#[derive(Serialize)]
struct Report<'a> {
    beads: Vec<&'a BeadSummary<'a>>,
}

impl Args {
    fn keeps(&self, b: &BeadSummary) -> bool {
        let status_ok = if !self.status.is_empty() {
            self.status.contains(&b.status)
        } else {
            self.all || b.status != Status::Closed
        };
        status_ok
            && (self.kind.is_empty() || self.kind.contains(&b.kind))
            && (self.priority.is_empty() || self.priority.contains(&b.priority))
            && self.labels.iter().all(|l| b.labels.contains(&l.as_str()))
    }
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let mut buf = IndexBuf::default();
    let index = BeadRepo::new(layout).index(&mut buf)?;
    let mut beads: Vec<&BeadSummary> = index.iter().filter(|b| args.keeps(b)).collect();
    beads.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.id.cmp(b.id)));
    let report = Report { beads };
    ui.report(&report, |out| {
        if report.beads.is_empty() {
            ui.status("No beads match.");
        }
        for b in &report.beads {
            summary_line(ui, out, b)?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
