//! The step, top to bottom: choose a bead and its base, claim it, prepare a worktree, run
//! the harness and commit what it changed, check the commit, wait for approval. Each phase
//! is its own module (`choose`, `prepare`, `execute`, `check`); this is the order they run
//! in and how a step ends.

use super::check::{check, violate};
use super::checkpoint::{self, Checkpoint};
use super::execute::{self, Commit};
use super::observer::Observer;
use super::outcome::{Ended, StepDiff, StepOutcome};
use super::prepare::{self, Claim, StepEnv};
use super::{choose, contain};
use crate::bead::Bead;
use crate::error::Result;
use crate::harness::adapter::Invocation;
use crate::harness::config::{HarnessConfig, harness_config};
use crate::ledger::Payload;
use crate::ledger::event::StepAt;
use crate::sandbox::Enforcement;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Default)]
pub struct StepOptions {
    /// A bead id or prefix; None takes the top of the ready queue.
    pub bead: Option<String>,
    /// A `[harness.NAME]`; None uses `[step] harness`.
    pub harness: Option<String>,
    /// Overrides the harness's wall-clock timeout (seconds).
    pub timeout: Option<u64>,
    /// The attempt number at least (a claim on a shared remote names its step's attempt,
    /// past those other machines made).
    pub attempt: Option<u32>,
}

pub fn run_step(
    ws: &mut Workspace,
    opts: &StepOptions,
    observer: &mut dyn Observer,
) -> Result<StepOutcome> {
    let (harness, hc) = harness_config(&ws.config, opts.harness.as_deref())?;
    // Fail closed before anything is claimed: a sandbox that cannot be enforced stops here,
    // and so do a base branch without a commit and a harness program that is not there.
    let enforcement = contain::enforcement(ws)?;
    let (base_branch, base_commit) = choose::base_to_start_from(ws)?;
    hc.check_program(&harness, &ws.env_snapshot, &ws.layout.root)?;
    let bead = choose::pick_bead(ws, opts.bead.as_deref())?;
    let _lease = choose::take_lease(ws, &bead.id)?;
    let earlier = checkpoint::of_bead(&ws.layout, &bead.id)?;
    let attempt = choose::next_attempt(ws, &bead.id, &earlier)?.max(opts.attempt.unwrap_or(0));

    let claim = Claim {
        bead: &bead,
        attempt,
        harness: &harness,
        config: &hc,
        base_branch: &base_branch,
        base_commit: &base_commit,
        enforcement,
    };
    let mut cp = prepare::claim(ws, &claim, observer)?;
    let Some(env) = prepare::worktree(ws, &mut cp, observer)? else {
        return Ok(StepOutcome::new(&cp, None, Ended::SetupFailed));
    };
    let inv = prepare::invocation(ws, &bead, &hc, &earlier)?;

    execute(
        ws,
        &mut cp,
        &bead,
        &hc,
        &inv,
        opts.timeout,
        enforcement,
        &env,
        observer,
    )
}

/// Runs the harness in the step's worktree, commits what it changed, checks the commit and
/// leaves the step waiting for approval or failed. A first run and a revision share it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    bead: &Bead,
    hc: &HarnessConfig,
    inv: &Invocation,
    timeout: Option<u64>,
    enforcement: Enforcement,
    env: &StepEnv,
    observer: &mut dyn Observer,
) -> Result<StepOutcome> {
    let Some(harnessed) =
        execute::run_harness(ws, cp, hc, inv, timeout, enforcement, env, observer)?
    else {
        return Ok(StepOutcome::new(cp, None, Ended::HarnessFailed));
    };
    let ended = |cp: &Checkpoint, diff: Option<&StepDiff>, ended: Ended| {
        StepOutcome::new(cp, diff, ended).with_egress_denied(harnessed.egress_denied.clone())
    };

    // Before forge runs any git in the worktree: did the harness reach outside its step? A
    // changed repository config could define the filters forge's own `git add` runs: then
    // the work stays uncommitted in the worktree, for a person to look at.
    if harnessed.touched_config() {
        violate(ws, cp, &harnessed.violations, observer)?;
        return Ok(ended(cp, None, Ended::Violation));
    }
    execute::import_outbox(ws, cp)?;
    // Whatever the agent changed is committed, even after a failure: no work is ever lost.
    let revision = !cp.head.is_empty();
    let diff = match execute::commit(ws, cp, bead, hc, observer)? {
        Commit::Made(diff) => Some(diff),
        Commit::Nothing => None,
        Commit::BranchMoved => return Ok(ended(cp, None, Ended::Violation)),
    };

    if !harnessed.violations.is_empty() {
        violate(ws, cp, &harnessed.violations, observer)?;
        return Ok(ended(cp, diff.as_ref(), Ended::Violation));
    }
    if harnessed.interrupted() {
        let end = execute::interrupted(ws, cp, observer)?;
        return Ok(ended(cp, diff.as_ref(), end));
    }
    if !harnessed.succeeded() {
        let end = execute::harness_failed(ws, cp, hc, &harnessed, observer)?;
        return Ok(ended(cp, diff.as_ref(), end));
    }
    match diff {
        Some(diff) => {
            let checked = check(ws, cp, bead, &diff, env, enforcement, observer)?;
            Ok(ended(cp, Some(&diff), checked.into()))
        }
        // A revision that changed nothing leaves the work as it was: the same head is
        // checked again and waits, rather than a good commit being lost to a failure.
        None if revision => {
            ws.record(Payload::StepUnchanged {
                at: StepAt::new(&cp.step, &cp.bead),
                head: cp.head.clone(),
            })?;
            let git = contain::step_git(&ws.layout, cp);
            let diff = StepDiff::of(&git, &cp.base_commit, &cp.head)?;
            let checked = check(ws, cp, bead, &diff, env, enforcement, observer)?;
            Ok(ended(cp, Some(&diff), Ended::Unchanged { checked }))
        }
        None => {
            // An agent that ended its turn after a refusal says why it changed nothing.
            let reason = match harnessed.denials.as_slice() {
                [] => "the harness changed nothing".to_owned(),
                denied => format!(
                    "the harness changed nothing; forge denied: {}",
                    crate::harness::adapter::bounded(&denied.join("; "), 300)
                ),
            };
            checkpoint::fail(ws, cp, reason, observer)?;
            Ok(ended(cp, None, Ended::NoChange))
        }
    }
}
