use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::tick::pause::{pause, resume};

/// Stop `forge tick` from starting new work until `forge resume`
#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    /// Why (shown by every tick while paused)
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// Let `forge tick` work again (also resets the circuit breaker)
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {}

pub fn run_pause(helper: &CommandHelper, args: PauseArgs) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let (p, changed) = pause(&mut ws, &args.reason)?;
    let report = serde_json::json!({ "paused": p, "changed": changed });
    ui.report(&report, |out| {
        if changed {
            writeln!(out, "Paused: {}", p.reason)
        } else {
            writeln!(
                out,
                "Already paused since {} by {}: {}",
                p.at, p.by, p.reason
            )
        }
    })?;
    Ok(exit::OK)
}

pub fn run_resume(helper: &CommandHelper, _args: ResumeArgs) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let ended = resume(&mut ws)?;
    let report = serde_json::json!({ "resumed": ended.is_some(), "was": ended });
    ui.report(&report, |out| match &ended {
        Some(p) => writeln!(out, "Resumed (was paused: {})", p.reason),
        None => writeln!(out, "forge was not paused; nothing changed"),
    })?;
    Ok(exit::OK)
}
