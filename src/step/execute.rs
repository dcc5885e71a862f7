//! Executing a step: its harness run in the worktree, what the agent left in the outbox,
//! and the snapshot commit of whatever it changed.

use std::collections::BTreeMap;
use std::time::Instant;

use super::checkpoint::{Checkpoint, State, fail, transition};
use super::contain::{self, Subject, Watch};
use super::guard::Violation;
use super::launch::Launch;
use super::observer::Observer;
use super::outcome::{Ended, StepDiff};
use super::prepare::StepEnv;
use super::{log_path, step_dir};
use crate::bead::Bead;
use crate::error::Result;
use crate::harness::adapter::{Adapter, Invocation, Verdict};
use crate::harness::config::HarnessConfig;
use crate::harness::presets;
use crate::harness::process::{EndedBy, Finished};
use crate::ledger::Payload;
use crate::ledger::event::{self, StepAt};
use crate::sandbox::Enforcement;
use crate::sandbox::limits::Hits;
use crate::workspace::Workspace;

/// How the harness run went: what forge judges the step by afterwards.
pub(super) struct Harnessed {
    pub finished: Finished,
    pub verdict: Verdict,
    /// What it changed outside the step.
    pub violations: Vec<Violation>,
    pub limit_hits: Hits,
    /// Connections the egress proxy refused, by `host:port`.
    pub egress_denied: BTreeMap<String, u64>,
    /// What the harness asked for and was refused (an ACP agent's permission requests).
    pub denials: Vec<String>,
}

impl Harnessed {
    /// It changed the repository's config, hooks or info: forge then runs no git of its
    /// own in the worktree (the config could define the filters `git add` runs).
    pub fn touched_config(&self) -> bool {
        self.violations.iter().any(|v| v.touches_config)
    }

    pub fn interrupted(&self) -> bool {
        self.finished.ended_by == EndedBy::Interrupted
    }

    pub fn succeeded(&self) -> bool {
        self.verdict == Verdict::Succeeded
    }
}

/// The adapter of a harness config [`crate::harness::config::harness_config`] accepted.
pub(super) fn adapter_of(hc: &HarnessConfig) -> &'static dyn Adapter {
    presets::by_name(&hc.preset).expect("checked by harness_config")
}

/// Runs the harness in the step's worktree and records what it did. None when it could
/// not be started: the step has failed.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_harness(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    hc: &HarnessConfig,
    inv: &Invocation,
    timeout: Option<u64>,
    enforcement: Enforcement,
    env: &StepEnv,
    observer: &mut dyn Observer,
) -> Result<Option<Harnessed>> {
    let harness_name = cp.harness.clone();
    let subject = Subject::of_step(&ws.layout, cp);
    let watch = Watch::of_step(&ws.layout, cp, enforcement);
    let watched = watch.get();
    let ready = Launch {
        adapter: adapter_of(hc),
        config: hc,
        subject: &subject,
        forge_vars: env.forge_vars(),
        enforcement,
        watched: &watched,
    }
    .prepare(ws, inv)?;
    let program = ready.program().to_owned();
    let policy_summary = ready.policy().map(|p| p.summary(enforcement));
    transition(
        ws,
        cp,
        State::Running,
        |at| Payload::HarnessStarted {
            at,
            harness: harness_name,
            preset: hc.preset.clone(),
            program,
            sandbox: event::json(&enforcement.describe()),
            policy: event::json(&policy_summary),
        },
        observer,
    )?;
    let started = Instant::now();
    let launched = ready.run(ws, log_path(&ws.layout, &cp.step), timeout, observer)?;
    let ran = match launched.ran {
        Ok(r) => r,
        Err(e) => {
            let reason = format!("could not start the harness: {e}");
            fail(ws, cp, reason, observer)?;
            return Ok(None);
        }
    };
    let (finished, summary, verdict) = (ran.finished, ran.summary, ran.verdict);
    cp.session_id = summary.session_id.clone().unwrap_or_default();
    cp.tokens = summary.tokens;
    cp.cost_usd = summary.cost_usd;
    cp.final_message = summary.final_message();
    cp.duration_ms = started.elapsed().as_millis() as u64;
    if let Some(model) = &summary.model {
        cp.model = model.clone();
    }
    let duration_ms = cp.duration_ms;
    // What forge answered an ACP agent and wrote for it, before the run's end: a review
    // reads them with the step's other harness events.
    for decision in &summary.permissions {
        ws.record(Payload::HarnessPermission {
            at: StepAt::new(&cp.step, &cp.bead),
            decision: decision.clone(),
        })?;
    }
    for (path, bytes) in &summary.files_written {
        ws.record(Payload::HarnessWrote {
            at: StepAt::new(&cp.step, &cp.bead),
            path: path.clone(),
            bytes: *bytes,
        })?;
    }
    let (egress, limit_hits) = (launched.egress, launched.limit_hits);
    transition(
        ws,
        cp,
        State::Checking,
        |at| Payload::HarnessFinished {
            at,
            verdict: event::json(&verdict),
            exit_code: finished.exit_code,
            signal: finished.signal,
            ended_by: event::json(&finished.ended_by),
            duration_ms: Some(duration_ms),
            session_id: summary.session_id.clone(),
            model: summary.model.clone(),
            tokens: summary.tokens.into(),
            cost_usd: summary.cost_usd,
            tool_calls: summary.tool_calls,
            permission_denials: summary.permission_denials.clone(),
            escaped_killed: finished.escaped_killed.len(),
            egress: event::json(&egress),
            limits: event::json(&limit_hits),
        },
        observer,
    )?;
    Ok(Some(Harnessed {
        finished,
        verdict,
        violations: launched.violations,
        limit_hits,
        egress_denied: egress.map(|e| e.denied).unwrap_or_default(),
        denials: summary.permission_denials.clone(),
    }))
}

/// Raises the assumptions the agent wrote to its outbox.
pub(super) fn import_outbox(ws: &mut Workspace, cp: &Checkpoint) -> Result<()> {
    let (raised, skipped) = crate::assumption::outbox::import(
        ws,
        &step_dir(&ws.layout, &cp.step).join("outbox"),
        &cp.step,
        &cp.bead,
    )?;
    if !raised.is_empty() || skipped > 0 {
        ws.record(Payload::StepAssumptions {
            at: StepAt::new(&cp.step, &cp.bead),
            raised: raised.len(),
            skipped,
        })?;
    }
    Ok(())
}

/// What the snapshot commit made.
pub(super) enum Commit {
    /// A new head on the step branch, and what it changes against the base.
    Made(StepDiff),
    /// The worktree was as the branch left it.
    Nothing,
    /// The branch was no longer where forge left it: the step has failed.
    BranchMoved,
}

/// Commits whatever the agent changed on the step branch, even after a failure: no work
/// is ever lost. The diff against the base is read here, once, for the rest of the step.
pub(super) fn commit(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    bead: &Bead,
    hc: &HarnessConfig,
    observer: &mut dyn Observer,
) -> Result<Commit> {
    let step = cp.step.clone();
    let harness_name = cp.harness.clone();
    let parent = if cp.head.is_empty() {
        cp.base_commit.clone()
    } else {
        cp.head.clone()
    };
    let message = format!(
        "{}\n\nforge step {step} ({harness_name})\n\nForge-Bead: {}\nForge-Step: {step}\n",
        bead.title, bead.id
    );
    let git = contain::step_git(&ws.layout, cp);
    let committed = git.snapshot(
        &parent,
        adapter_of(hc).never_commit(),
        &message,
        &format!("forge ({harness_name})"),
    )?;
    let Some(head) = committed else {
        return Ok(Commit::Nothing);
    };
    // Compare-and-swap from the value forge recorded: a branch moved by anyone else is not
    // overwritten.
    let branch_ref = format!("refs/heads/{}", cp.branch);
    if let Err(e) = git.update_ref(&branch_ref, &head, Some(&parent)) {
        let reason = format!(
            "policy violation: {branch_ref} is no longer at {parent}, where forge left it \
             ({e}); the agent's work is in {head}"
        );
        fail(ws, cp, reason, observer)?;
        return Ok(Commit::BranchMoved);
    }
    cp.head = head.clone();
    let _ = contain::sync_worktree_index(&ws.layout, cp);
    let diff = StepDiff::of(&git, &cp.base_commit, &head)?;
    ws.record(Payload::StepCommitted {
        at: StepAt::new(&step, &bead.id),
        head,
        files: diff.facts.files.len(),
    })?;
    Ok(Commit::Made(diff))
}

/// The step was interrupted while its harness ran; the work so far is on the branch.
pub(super) fn interrupted(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    observer: &mut dyn Observer,
) -> Result<Ended> {
    cp.reason = "interrupted: forge was asked to stop; the work so far is on the branch".into();
    cp.finished = ws.clock.now();
    let reason = cp.reason.clone();
    transition(
        ws,
        cp,
        State::Interrupted,
        |at| Payload::StepInterrupted { at, reason },
        observer,
    )?;
    Ok(Ended::Interrupted)
}

/// Fails the step for its harness's verdict, with what may explain it: `pass_env` names
/// forge's environment does not set, a memory or process limit that stopped it.
pub(super) fn harness_failed(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    hc: &HarnessConfig,
    h: &Harnessed,
    observer: &mut dyn Observer,
) -> Result<Ended> {
    let (reason, ended) = match &h.verdict {
        Verdict::Failed { reason } => (reason.clone(), Ended::HarnessFailed),
        Verdict::AuthFailed { reason } => (
            format!("authentication failed: {reason}"),
            Ended::HarnessFailed,
        ),
        Verdict::RateLimited { reason, reset_at } => (
            format!("rate limited: {reason}"),
            Ended::RateLimited {
                reset_at: *reset_at,
            },
        ),
        Verdict::Succeeded => unreachable!("only a failed verdict fails the step"),
    };
    // A variable the harness was to get and did not explains a refused key or a CLI that
    // gave up at once; it is noise on a refusal, a timeout or a denied tool.
    let explains = matches!(h.verdict, Verdict::AuthFailed { .. })
        || reason.starts_with("exit status")
        || reason.contains("exited before");
    let unset = hc.unset_pass_env(&ws.env_snapshot);
    let reason = if unset.is_empty() || !explains {
        reason
    } else {
        format!(
            "{reason} (pass_env {} not set in forge's environment)",
            unset.join(", ")
        )
    };
    let reason = match h.limit_hits.describe() {
        Some(hit) => format!("{reason} ({hit})"),
        None => reason,
    };
    fail(ws, cp, reason, observer)?;
    Ok(ended)
}
