use clap::Subcommand;
use serde::Serialize;

use crate::assumption::ops::resolve_one;
use crate::assumption::{Assumption, AssumptionStatus, load_all};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// List assumptions
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only those not yet validated or invalidated
    #[arg(long)]
    pub open: bool,
    /// Only those resting under this bead
    #[arg(long, value_name = "ID")]
    pub bead: Option<String>,
    /// Only those raised by this step
    #[arg(long, value_name = "STEP")]
    pub step: Option<String>,
}

#[derive(Serialize)]
struct ListReport {
    assumptions: Vec<Assumption>,
}

pub fn list(helper: &CommandHelper, args: ListArgs) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let bead = args.bead.as_deref().map(crate::bead::id::normalise);
    let assumptions: Vec<Assumption> = load_all(layout)?
        .into_iter()
        .filter(|a| !args.open || a.status == AssumptionStatus::Open)
        .filter(|a| bead.as_deref().is_none_or(|b| a.bead == b))
        .filter(|a| args.step.as_deref().is_none_or(|s| a.step == s))
        .collect();
    let report = ListReport { assumptions };
    ui.report(&report, |out| {
        if report.assumptions.is_empty() {
            ui.status("No assumptions.");
        }
        for a in &report.assumptions {
            let on = if a.bead.is_empty() {
                String::new()
            } else {
                format!("  [{}]", crate::cli::render::Safe::line(&a.bead))
            };
            writeln!(
                out,
                "{}  {:<11} {:<6} {}{on}",
                ui.id(&a.id),
                a.status.as_str(),
                a.risk.as_str(),
                crate::cli::render::Safe::line(&a.text)
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}

/// Settle assumptions
#[derive(Debug, Subcommand)]
pub enum Command {
    Resolve(ResolveArgs),
}

/// Mark an assumption validated or invalidated (invalidating flags its bead for review)
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// Assumption id (as-3k9x) or unique prefix
    pub id: String,
    /// It holds
    #[arg(
        long,
        conflicts_with = "invalidated",
        required_unless_present = "invalidated"
    )]
    pub validated: bool,
    /// It does not hold
    #[arg(long)]
    pub invalidated: bool,
    /// What was found
    #[arg(long, default_value = "")]
    pub note: String,
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    let ui = helper.ui();
    let Command::Resolve(args) = command;
    let mut ws = helper.workspace()?;
    let status = if args.validated {
        AssumptionStatus::Validated
    } else {
        AssumptionStatus::Invalidated
    };
    let done = resolve_one(&mut ws, &args.id, status, &args.note)?;
    ui.report(&done, |out| {
        writeln!(out, "{} is {}", ui.id(&done.assumption.id), status.as_str())?;
        for b in &done.flagged {
            writeln!(
                out,
                "  flagged {} for review (label needs-review)",
                ui.id(b)
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
