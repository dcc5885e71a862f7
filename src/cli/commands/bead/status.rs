//! `close`, `reopen` and `defer`: status changes with a reason.

use serde::Serialize;

use crate::bead::{Bead, Status, ops};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Close a bead
#[derive(Debug, clap::Args)]
pub struct CloseArgs {
    /// Bead id or any unique prefix of one
    pub id: String,
    /// Why it is closed (done, duplicate, won't fix, ...)
    #[arg(short, long, default_value = "done")]
    pub reason: String,
}

/// Reopen a closed or deferred bead
#[derive(Debug, clap::Args)]
pub struct ReopenArgs {
    /// Bead id or any unique prefix of one
    pub id: String,
    /// Why it is reopened
    #[arg(short, long, default_value = "")]
    pub reason: String,
}

/// Defer a bead: keep it, but out of the ready queue (its children too)
#[derive(Debug, clap::Args)]
pub struct DeferArgs {
    /// Bead id or any unique prefix of one
    pub id: String,
    /// Why it is deferred
    #[arg(short, long, default_value = "")]
    pub reason: String,
}

#[derive(Serialize)]
struct Report {
    bead: Bead,
    changed: bool,
    /// Epics that closed with it: it was the last of their children still open.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    closed_epics: Vec<String>,
}

fn set(helper: &CommandHelper, id: &str, status: Status, reason: &str) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let (bead, changed, closed_epics) = ops::set_status_with_epics(&mut ws, id, status, reason)?;
    let report = Report {
        bead,
        changed,
        closed_epics,
    };
    ui.report(&report, |out| {
        let id = ui.id(&report.bead.id);
        let verb = match status {
            Status::Closed => "Closed",
            Status::Open => "Reopened",
            Status::Deferred => "Deferred",
        };
        if !report.changed {
            writeln!(out, "{id} is already {status}; nothing changed")?;
        } else if reason.is_empty() {
            writeln!(out, "{verb} {id}")?;
        } else {
            writeln!(
                out,
                "{verb} {id}: {}",
                crate::cli::render::Safe::text(reason)
            )?;
        }
        for epic in &report.closed_epics {
            writeln!(out, "Closed {}: all its children are closed", ui.id(epic))?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}

pub fn close(helper: &CommandHelper, args: CloseArgs) -> CommandResult {
    set(helper, &args.id, Status::Closed, &args.reason)
}

pub fn reopen(helper: &CommandHelper, args: ReopenArgs) -> CommandResult {
    set(helper, &args.id, Status::Open, &args.reason)
}

pub fn defer(helper: &CommandHelper, args: DeferArgs) -> CommandResult {
    set(helper, &args.id, Status::Deferred, &args.reason)
}
