use serde::Serialize;

use crate::bead::ops::{self, BeadChanges, FieldChange};
use crate::bead::{Bead, Kind, Risk};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Change fields of a bead
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bead id or any unique prefix of one
    pub id: String,
    /// New title
    #[arg(short, long)]
    pub title: Option<String>,
    /// New description
    #[arg(short, long)]
    pub description: Option<String>,
    /// Replace the acceptance criteria (repeatable)
    #[arg(short, long = "acceptance", value_name = "TEXT")]
    pub acceptance: Vec<String>,
    /// New kind
    #[arg(short, long, value_enum)]
    pub kind: Option<Kind>,
    /// New priority, 0 (most urgent) to 4
    #[arg(short, long, value_parser = clap::value_parser!(u8).range(0..=4))]
    pub priority: Option<u8>,
    /// New value, 0 to 100
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub value: Option<u8>,
    /// New risk
    #[arg(long, value_enum)]
    pub risk: Option<Risk>,
    /// Add a label (repeatable)
    #[arg(long = "add-label", value_name = "LABEL")]
    pub add_labels: Vec<String>,
    /// Remove a label (repeatable)
    #[arg(long = "remove-label", value_name = "LABEL")]
    pub remove_labels: Vec<String>,
}

#[derive(Serialize)]
struct Report {
    bead: Bead,
    changes: Vec<FieldChange>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let changes = BeadChanges {
        title: args.title,
        description: args.description,
        acceptance: (!args.acceptance.is_empty()).then_some(args.acceptance),
        kind: args.kind,
        priority: args.priority,
        value: args.value,
        risk: args.risk,
        add_labels: args.add_labels,
        remove_labels: args.remove_labels,
    };
    let (bead, changes) = ops::update(&mut ws, &args.id, changes)?;
    let report = Report { bead, changes };
    ui.report(&report, |out| {
        if report.changes.is_empty() {
            return writeln!(out, "{}: nothing changed", ui.id(&report.bead.id));
        }
        writeln!(out, "Updated {}", ui.id(&report.bead.id))?;
        for c in &report.changes {
            writeln!(out, "  {}: {} -> {}", c.field, c.old, c.new)?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
