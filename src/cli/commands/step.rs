use crate::cli::progress::StepProgress;
use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};
use crate::error::exit;
use crate::step::{State, StepOptions, run_step};
use crate::workspace::Workspace;

/// Run one bead through a harness on its own worktree branch
///
/// Takes the bead (or the top of the ready queue), creates branch forge/<bead>/<attempt> in a
/// worktree under the git directory, runs the harness there with an allowlisted environment
/// and a timeout, commits what it changed, runs the gates, and leaves the step waiting for
/// approval. Nothing is merged. Exits 0 when the step waits for approval, 4 when the
/// harness failed, 1 when the step failed otherwise (no change, a gate).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bead id or unique prefix (default: the top of `forge ready`)
    pub bead: Option<String>,
    /// The [harness.NAME] to run (default: [step] harness in config)
    #[arg(long, value_name = "NAME")]
    pub harness: Option<String>,
    /// Wall-clock limit in seconds (default: the harness's `timeout`)
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Replay this waiting step on the current tip of its base branch and rerun the gates
    #[arg(long, value_name = "STEP", conflicts_with_all = ["bead", "harness", "timeout"])]
    pub rebase: Option<String>,
}

pub fn run(ui: &Ui, ctx: &Context, args: Args) -> CommandResult {
    let mut ws = Workspace::open(&ctx.cwd, &ctx.env)?;
    let mut progress = StepProgress::new(ui.json, ui.quiet);
    let result = match &args.rebase {
        Some(step) => crate::step::revise::rebase(&mut ws, step, &mut progress),
        None => run_step(
            &mut ws,
            &StepOptions {
                bead: args.bead,
                harness: args.harness,
                timeout: args.timeout,
            },
            &mut progress,
        ),
    };
    progress.finish();
    render(ui, &result?)
}

/// Prints a step's outcome and returns the exit code it implies.
pub fn render(ui: &Ui, outcome: &crate::step::StepOutcome) -> CommandResult {
    let cp = &outcome.checkpoint;
    ui.report(outcome, |out| {
        writeln!(
            out,
            "{} {} ({})",
            ui.id(&cp.step),
            ui.bold(cp.state.as_str()),
            cp.harness
        )?;
        if !cp.reason.is_empty() {
            writeln!(out, "  reason: {}", cp.reason)?;
        }
        writeln!(
            out,
            "  branch: {}  base: {}",
            cp.branch,
            &cp.base_commit[..12.min(cp.base_commit.len())]
        )?;
        if !cp.head.is_empty() {
            writeln!(out, "  head:   {}", cp.head)?;
        }
        if !cp.session_id.is_empty() {
            writeln!(out, "  session: {}", cp.session_id)?;
        }
        let tokens = if cp.tokens.reported {
            cp.tokens.total().to_string()
        } else {
            "unknown".into()
        };
        let cost = cp.cost_usd.map_or("unknown".into(), |c| format!("${c:.4}"));
        writeln!(
            out,
            "  duration: {:.1}s  tokens: {tokens}  cost: {cost}",
            cp.duration_ms as f64 / 1000.0
        )?;
        for g in &cp.gates {
            let mark = if g.ok { "ok  " } else { "FAIL" };
            writeln!(out, "  gate {mark} {} {}", g.name, g.detail)?;
        }
        if !outcome.diffstat.is_empty() {
            write!(out, "{}", outcome.diffstat)?;
        }
        if cp.state == State::AwaitingApproval {
            writeln!(out, "Waiting for approval (risk {}).", cp.risk)?;
        }
        Ok(())
    })?;
    Ok(match cp.state {
        _ if outcome.interrupted => exit::INTERRUPTED,
        State::AwaitingApproval => exit::OK,
        _ if outcome.harness_failed => exit::HARNESS_FAILED,
        _ => exit::FAILURE,
    })
}
