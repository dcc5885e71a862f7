use clap::Subcommand;
use serde::Serialize;

use crate::bead::{Bead, DepKind, ops};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Add or remove dependencies
#[derive(Debug, Subcommand)]
pub enum Command {
    Add(AddArgs),
    Rm(RmArgs),
}

/// Make ID depend on DEP (refused if it would make a cycle)
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The bead that depends
    pub id: String,
    /// The bead it depends on
    pub dep: String,
    /// blocks: ID waits until DEP is closed; parent: DEP is ID's parent; related and
    /// discovered-from are links that never block
    #[arg(short = 't', long = "type", default_value = "blocks", value_enum)]
    pub kind: DepKind,
}

/// Remove ID's dependency on DEP
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The bead that depends
    pub id: String,
    /// The bead it depends on
    pub dep: String,
    /// Remove only a dependency of this type (default: any)
    #[arg(short = 't', long = "type", value_enum)]
    pub kind: Option<DepKind>,
}

#[derive(Serialize)]
struct Report {
    bead: Bead,
    changed: bool,
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let (report, message) = match command {
        Command::Add(a) => {
            let (bead, changed) = ops::dep_add(&mut ws, &a.id, &a.dep, a.kind)?;
            let msg = if changed {
                format!(
                    "{} now depends on {} ({})",
                    ui.id(&bead.id),
                    ui.id(&crate::bead::id::normalise(&a.dep)),
                    a.kind
                )
            } else {
                format!(
                    "{}: that dependency already exists; nothing changed",
                    ui.id(&bead.id)
                )
            };
            (Report { bead, changed }, msg)
        }
        Command::Rm(a) => {
            let (bead, changed) = ops::dep_rm(&mut ws, &a.id, &a.dep, a.kind)?;
            let msg = if changed {
                format!("{} no longer depends on {}", ui.id(&bead.id), a.dep)
            } else {
                format!(
                    "{} has no such dependency; nothing changed",
                    ui.id(&bead.id)
                )
            };
            (Report { bead, changed }, msg)
        }
    };
    ui.report(&report, |out| writeln!(out, "{message}"))?;
    Ok(exit::OK)
}
