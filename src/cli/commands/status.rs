use serde::Serialize;

use crate::bead::graph::Graph;
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::step::State;
use crate::step::checkpoint;

/// Summarise what needs attention: ready, running, waiting for approval, failed
#[derive(Debug, clap::Args)]
pub struct Args {}

/// A pause (by `forge pause` or the circuit breaker) and the way out.
#[derive(Serialize)]
struct Paused {
    reason: String,
    by: String,
    at: String,
    /// The circuit breaker paused forge, after `consecutive_failures` failed steps.
    breaker: bool,
    consecutive_failures: u32,
    /// The command that lets `forge tick` work again.
    resume: &'static str,
}

#[derive(Serialize, Default)]
struct Report {
    /// Set while `forge tick` starts no new work.
    paused: Option<Paused>,
    ready: Vec<String>,
    blocked: usize,
    running: Vec<String>,
    awaiting_approval: Vec<String>,
    /// The latest step of each open bead, when it failed: what needs a retry or a look.
    failed: Vec<String>,
    /// Steps (running or waiting) whose harness ran without forge's sandbox.
    unsandboxed: Vec<String>,
    /// Steps whose harness changed things outside the step, with what it changed.
    violations: Vec<String>,
    /// Waiting steps that would conflict with their base's tip or with each other.
    conflicts: Vec<crate::step::overlap::Predicted>,
    /// The merge queue, in order (`[policy] merge = "queue"`).
    queued: Vec<String>,
    /// With `[tick] remote`: the claims on the shared remote (who holds what, lease left).
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_claims: Option<Vec<crate::remote::ClaimView>>,
}

pub fn run(helper: &CommandHelper, _args: Args) -> CommandResult {
    let layout = helper.layout()?;
    let mut buf = IndexBuf::default();
    let index = BeadRepo::new(layout).index(&mut buf)?;
    let graph = Graph::new(&index);
    let steps = checkpoint::load_all(layout)?;
    let mut report = Report::default();
    let tick = crate::tick::state::TickState::load(layout)?;
    let explained = tick.paused.as_ref().map(|p| {
        format!(
            "{}; `forge tick` starts no new work (to undo: {})",
            p.describe(),
            p.way_out()
        )
    });
    report.paused = tick.paused.map(|p| Paused {
        breaker: p.is_breaker(),
        reason: p.reason,
        by: p.by,
        at: p.at,
        consecutive_failures: tick.consecutive_failures,
        resume: "forge resume",
    });
    report.ready = crate::step::busy::Busy::of(&steps)
        .startable(&graph)
        .into_iter()
        .map(|b| b.id.to_owned())
        .collect();
    report.blocked = graph.blocked().len();
    // A failed step needs attention only while its bead is open and nothing tried it since.
    let needs_retry =
        |c: &checkpoint::Checkpoint| crate::step::busy::needs_retry(c, &steps, &graph);
    for c in &steps {
        let list = match c.state {
            s if s.is_active() => &mut report.running,
            State::AwaitingApproval => &mut report.awaiting_approval,
            State::Failed | State::Interrupted if needs_retry(c) => &mut report.failed,
            _ => continue,
        };
        list.push(c.step.clone());
        if c.sandbox == crate::sandbox::UNSANDBOXED && c.state != State::Failed {
            report.unsandboxed.push(c.step.clone());
        }
        if !c.violations.is_empty() && layout.step_worktree(&c.worktree).exists() {
            report
                .violations
                .push(format!("{}: {}", c.step, c.violations.join("; ")));
        }
    }
    report.conflicts = crate::step::overlap::predict(layout, &steps)?;
    report.queued = crate::approval::queue::entries(layout)?
        .into_iter()
        .map(|e| e.step)
        .collect();
    let base_of = |step: &str| {
        steps
            .iter()
            .find(|c| c.step == step)
            .map_or("the base", |c| crate::step::overlap::base_name(&c.base_ref))
    };
    if let Some(remote) = helper.config()?.tick.remote.as_deref() {
        let now = crate::workspace::clock_of(helper.env()).now_secs();
        report.remote_claims = Some(crate::remote::overview(layout, remote, now)?);
    }
    let ui = helper.ui();
    ui.report(&report, |out| {
        if let Some(explained) = &explained {
            writeln!(out, "paused:            {explained}")?;
        }
        // Only what there is: no header without anything after it.
        writeln!(out, "ready:             {}", report.ready.len())?;
        if report.blocked > 0 {
            writeln!(out, "blocked:           {}", report.blocked)?;
        }
        if !report.running.is_empty() {
            writeln!(out, "running:           {}", report.running.join(" "))?;
        }
        if !report.awaiting_approval.is_empty() {
            writeln!(
                out,
                "awaiting approval: {} (review with `forge approve`)",
                report.awaiting_approval.join(" ")
            )?;
        }
        if !report.failed.is_empty() {
            writeln!(
                out,
                "failed:            {} (why: `forge log STEP`; retry: `forge step BEAD`)",
                report.failed.join(" ")
            )?;
        }
        if !report.unsandboxed.is_empty() {
            writeln!(
                out,
                "UNSANDBOXED:       {} ([sandbox] mode = \"off\")",
                report.unsandboxed.join(" ")
            )?;
        }
        for v in &report.violations {
            writeln!(out, "policy violation:  {v}")?;
        }
        for p in &report.conflicts {
            writeln!(
                out,
                "conflict ahead:    {} {}",
                p.step,
                p.describe(base_of(&p.step))
            )?;
        }
        if !report.queued.is_empty() {
            writeln!(
                out,
                "merge queue:       {} (in order; `forge queue`)",
                report.queued.join(" ")
            )?;
        }
        for c in report.remote_claims.iter().flatten() {
            let what = match (c.state, c.lease_left, c.outcome) {
                (crate::remote::ClaimState::Held, Some(left), _) if left > 0 => {
                    format!("held by {}, lease {left}s left", c.holder)
                }
                (crate::remote::ClaimState::Held, _, _) => {
                    format!("held by {}, lease run out (may be taken over)", c.holder)
                }
                (_, _, Some(outcome)) => format!("released {outcome} by {}", c.holder.host),
                _ => format!("released by {}", c.holder.host),
            };
            writeln!(
                out,
                "remote claim:      {} {} (generation {}): {what}",
                c.bead, c.step, c.generation
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
