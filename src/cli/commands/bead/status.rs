//! `close`, `reopen` and `defer`: status changes with a reason.

use serde::Serialize;

use crate::bead::{Bead, Status, ops};
use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};
use crate::error::exit;
use crate::workspace::Workspace;

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
}

fn set(ui: &Ui, ctx: &Context, id: &str, status: Status, reason: &str) -> CommandResult {
    let mut ws = Workspace::open(&ctx.cwd, &ctx.env)?;
    let (bead, changed) = ops::set_status(&mut ws, id, status, reason)?;
    let report = Report { bead, changed };
    ui.report(&report, |out| {
        let id = ui.id(&report.bead.id);
        if !report.changed {
            return writeln!(out, "{id} is already {status}; nothing changed");
        }
        let verb = match status {
            Status::Closed => "Closed",
            Status::Open => "Reopened",
            Status::Deferred => "Deferred",
        };
        if reason.is_empty() {
            writeln!(out, "{verb} {id}")
        } else {
            writeln!(
                out,
                "{verb} {id}: {}",
                crate::cli::render::Safe::text(reason)
            )
        }
    })?;
    Ok(exit::OK)
}

pub fn close(ui: &Ui, ctx: &Context, args: CloseArgs) -> CommandResult {
    set(ui, ctx, &args.id, Status::Closed, &args.reason)
}

pub fn reopen(ui: &Ui, ctx: &Context, args: ReopenArgs) -> CommandResult {
    set(ui, ctx, &args.id, Status::Open, &args.reason)
}

pub fn defer(ui: &Ui, ctx: &Context, args: DeferArgs) -> CommandResult {
    set(ui, ctx, &args.id, Status::Deferred, &args.reason)
}
