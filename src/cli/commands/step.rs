use crate::cli::progress::StepProgress;
use crate::cli::ui::Ui;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::redact::Redactor;
use crate::step::checkpoint::Checkpoint;
use crate::step::{State, StepOptions, StepOutcome, run_step};

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
    /// Wall-clock limit in seconds, 1 to 604800 (a week); default: the harness's `timeout`
    #[arg(long, value_name = "SECS", value_parser = crate::harness::config::parse_timeout_arg)]
    pub timeout: Option<u64>,
    /// Replay this waiting step on the current tip of its base branch and rerun the gates
    #[arg(long, value_name = "STEP", conflicts_with_all = ["bead", "harness", "timeout"])]
    pub rebase: Option<String>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    ui.set_redactor(ws.redactor.clone());
    if args.rebase.is_none()
        && let Ok((name, hc)) =
            crate::harness::config::harness_config(&ws.config, args.harness.as_deref())
    {
        let unset = hc.unset_pass_env(&ws.env_snapshot);
        if !unset.is_empty() {
            ui.warn(&format!(
                "[harness.{name}] pass_env names {}, not set in forge's environment: the \
                 harness runs without {}",
                unset.join(", "),
                if unset.len() == 1 { "it" } else { "them" }
            ));
        }
    }
    let mut progress = StepProgress::new(ui.json, ui.quiet)
        .redacting(ws.redactor.clone())
        .asking(crate::cli::prompt::interactive(ui));
    let result = match &args.rebase {
        Some(step) => crate::step::revise::rebase(&mut ws, step, &mut progress),
        None => run_step(
            &mut ws,
            &StepOptions {
                bead: args.bead,
                harness: args.harness,
                timeout: args.timeout,
                attempt: None,
            },
            &mut progress,
        ),
    };
    progress.finish();
    render(ui, &result?)
}

/// A step's outcome as it may be shown: every string through the redactor, like the
/// checkpoint saved under `.forge/` (a harness's error or a gate's output can quote a key).
pub fn redacted(redactor: &Redactor, outcome: &StepOutcome) -> StepOutcome {
    let mut shown = outcome.clone();
    shown.checkpoint = redacted_checkpoint(redactor, &outcome.checkpoint);
    for file in &mut shown.files {
        *file = redactor.redact(file).into_owned();
    }
    shown.diffstat = redactor.redact(&outcome.diffstat).into_owned();
    shown
}

fn redacted_checkpoint(redactor: &Redactor, cp: &Checkpoint) -> Checkpoint {
    let whole = serde_json::to_value(cp).ok().and_then(|mut value| {
        redactor.redact_json(&mut value);
        serde_json::from_value(value).ok()
    });
    whole.unwrap_or_else(|| {
        // Not expected (a checkpoint round-trips); the fields a harness or gate can fill.
        let mut cp = cp.clone();
        for text in [
            &mut cp.reason,
            &mut cp.session_id,
            &mut cp.model,
            &mut cp.final_message,
        ] {
            *text = redactor.redact(text).into_owned();
        }
        for gate in &mut cp.gates {
            gate.detail = redactor.redact(&gate.detail).into_owned();
        }
        let mut extra = toml::Value::Table(std::mem::take(&mut cp.extra));
        redactor.redact_toml(&mut extra);
        if let toml::Value::Table(extra) = extra {
            cp.extra = extra;
        }
        cp
    })
}

/// Prints a step's outcome, redacted, and returns the exit code it implies.
pub fn render(ui: &Ui, outcome: &StepOutcome) -> CommandResult {
    let outcome = &redacted(ui.redactor(), outcome);
    let cp = &outcome.checkpoint;
    let next = next_commands(cp);
    let mut report = serde_json::to_value(outcome).map_err(std::io::Error::from)?;
    if let Some(fields) = report.as_object_mut() {
        fields.insert("next".into(), serde_json::json!(next));
    }
    ui.report(&report, |out| {
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
        if !cp.sandbox.is_empty() {
            writeln!(out, "  harness ran: {}", cp.sandbox)?;
        }
        for (host, n) in &outcome.egress_denied {
            writeln!(
                out,
                "  refused: {n} connection(s) to {host} (not in [sandbox] allow_hosts)"
            )?;
        }
        for line in gate_lines(cp, false) {
            writeln!(out, "{line}")?;
        }
        if !outcome.diffstat.is_empty() {
            write!(out, "{}", outcome.diffstat)?;
        }
        if outcome.ended.unchanged() {
            writeln!(
                out,
                "The revision changed nothing: {} is checked again at its previous head.",
                cp.step
            )?;
        }
        if cp.state == State::AwaitingApproval {
            let risk = cp.risk.map_or("", |r| r.as_str());
            writeln!(out, "Waiting for approval (risk {risk}).")?;
        }
        for line in next_lines(cp) {
            writeln!(out, "{line}")?;
        }
        Ok(())
    })?;
    Ok(match cp.state {
        _ if outcome.ended.interrupted() => exit::INTERRUPTED,
        State::AwaitingApproval => exit::OK,
        _ if outcome.ended.harness_failed() => exit::HARNESS_FAILED,
        _ => exit::FAILURE,
    })
}

/// The commands that take a step on from where it stopped, the likeliest first (`next` in
/// the JSON report).
pub fn next_commands(cp: &Checkpoint) -> Vec<String> {
    let step = &cp.step;
    match cp.state {
        State::AwaitingApproval => vec![
            format!("forge approve {step}"),
            format!("forge revise {step} --feedback \"...\""),
            format!("forge reject {step} --reason \"...\""),
        ],
        State::Failed | State::Interrupted => vec![
            format!("forge log {step}"),
            format!("forge step {}", cp.bead),
            format!("forge revise {step} --feedback \"...\""),
        ],
        _ => Vec::new(),
    }
}

/// The same commands as a person reads them: what each is for, the one to run next last.
fn next_lines(cp: &Checkpoint) -> Vec<String> {
    let step = &cp.step;
    match cp.state {
        State::AwaitingApproval => vec![
            format!("  to ask for changes: forge revise {step} --feedback \"...\""),
            format!("  to turn it down:    forge reject {step} --reason \"...\""),
            format!("next: forge approve {step}"),
        ],
        State::Failed | State::Interrupted => vec![
            format!("  to try again on the same branch: forge revise {step} --feedback \"...\""),
            format!("  to start a new attempt:          forge step {}", cp.bead),
            format!("next: forge log {step}  (what the harness did)"),
        ],
        _ => Vec::new(),
    }
}

/// The gates of a step as shown to a person: a line each and, for a failed gate command
/// (and for every one with `all_output`, as at approval), the last lines it printed, where
/// its whole output is and the command that prints it.
pub fn gate_lines(cp: &Checkpoint, all_output: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for g in &cp.gates {
        let mark = if g.ok { "ok  " } else { "FAIL" };
        lines.push(
            format!("  gate {mark} {} {}", g.name, g.detail)
                .trim_end()
                .to_owned(),
        );
        if g.output.is_empty() || (g.ok && !all_output) {
            continue;
        }
        lines.extend(g.output.lines().map(|l| format!("       | {l}")));
        if !g.ok {
            lines.push(format!(
                "       whole output: `forge log {} --gate {}`{}",
                cp.step,
                g.name,
                if g.log.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", g.log)
                }
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_is_shown_redacted_whole() {
        let cp: Checkpoint = serde_json::from_value(serde_json::json!({
            "schema": 1, "step": "fg-a.1", "bead": "fg-a", "attempt": 1, "state": "failed",
            "reason": "exit status 1: connect canary-dsn-123456 failed",
            "harness": "h", "preset": "command", "base_ref": "refs/heads/main",
            "base_commit": "0123456789abcdef", "branch": "forge/fg-a/1",
            "worktree": "worktrees/fg-a.1", "owner_pid": 1, "started": "t", "updated": "t",
            "gates": [{ "name": "tests", "ok": false, "detail": "saw canary-dsn-123456" }],
            "later_field": "also canary-dsn-123456",
        }))
        .unwrap();
        let r = Redactor::new([("DATABASE_URL".into(), "canary-dsn-123456".into())]);
        let shown = redacted_checkpoint(&r, &cp);
        assert_eq!(
            shown.reason,
            "exit status 1: connect [REDACTED:DATABASE_URL] failed"
        );
        assert_eq!(shown.gates[0].detail, "saw [REDACTED:DATABASE_URL]");
        assert_eq!(
            shown.extra["later_field"].as_str(),
            Some("also [REDACTED:DATABASE_URL]")
        );
        // Nothing else changes.
        assert_eq!(redacted_checkpoint(&Redactor::default(), &cp), cp);
    }
}
