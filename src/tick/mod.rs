//! `forge tick`: one safe, idempotent unit of unattended work, for cron. See DESIGN.md §4.
//!
//! A tick never prompts and never overlaps another tick on the same repository. It reclaims
//! steps whose owner died, then runs ready beads one after another within the budgets, and
//! leaves everything that needs a person as a pending approval (or a notification).

pub mod budget;
pub mod commit;
pub mod cron;
mod jobs;
pub mod notify;
pub mod pause;
pub mod reclaim;
pub mod remote;
pub mod state;

use std::collections::HashSet;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use crate::ledger::Payload;

use crate::approval::{self, How};
use crate::bead::graph::Graph;
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::error::Result;
use crate::step::busy::Busy;
use crate::step::checkpoint::State;
use crate::step::{Observer, StepOptions, StepOutcome, run_step};
use crate::store::StoreLock;
use crate::workspace::Workspace;
use state::{Pause, TickState};

#[derive(Debug, Clone, Serialize)]
pub struct Ran {
    pub step: String,
    pub bead: String,
    pub state: State,
    pub reason: String,
    /// Merged by the approval policy.
    pub merged: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// Another tick holds the lock.
    AnotherTick,
    Paused,
    NothingReady,
    StepLimit,
    WallTime,
    Budget,
    Breaker,
    /// forge was asked to stop (Ctrl-C, SIGTERM): a tick running several steps at once
    /// starts no more and its running steps end interrupted, their work kept.
    Interrupted,
}

#[derive(Debug, Clone, Serialize)]
pub struct TickReport {
    pub stopped: Stopped,
    pub reason: String,
    pub reclaimed: Vec<reclaim::Reclaimed>,
    /// Approvals a killed process left half-recorded, finished by this tick.
    pub reconciled: Vec<approval::reconcile::Reconciled>,
    /// What the merge queue did (`[policy] merge = "queue"`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<approval::queue::Outcome>,
    pub ran: Vec<Ran>,
    /// Steps waiting for a person's approval after this tick.
    pub awaiting_approval: Vec<String>,
    /// Beads waiting out a rate limit, with the time it lifts.
    pub rate_limited: Vec<(String, String)>,
    pub paused: Option<Pause>,
    pub spent_today: budget::Spent,
    pub consecutive_failures: u32,
    pub committed: Option<String>,
    /// What the user should know that stopped nothing (a claim on the remote forge could
    /// not read, so its bead was skipped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TickOptions {
    pub harness: Option<String>,
    /// Steps run at once (`--jobs`); None: `[tick] jobs`.
    pub jobs: Option<u32>,
    /// The shared remote to claim beads on (`--remote`); None: `[tick] remote`.
    pub remote: Option<String>,
}

/// Makes the observer of each step of a tick that runs several at once (`--jobs` above 1):
/// each runs on its own thread, so each has its own.
pub type JobObservers<'a> = &'a (dyn Fn() -> Box<dyn Observer + Send> + Sync);

fn report(stopped: Stopped, reason: String) -> TickReport {
    TickReport {
        stopped,
        reason,
        reclaimed: Vec::new(),
        reconciled: Vec::new(),
        queue: Vec::new(),
        ran: Vec::new(),
        awaiting_approval: Vec::new(),
        rate_limited: Vec::new(),
        paused: None,
        spent_today: budget::Spent::default(),
        consecutive_failures: 0,
        committed: None,
        warnings: Vec::new(),
    }
}

/// The next bead to run: ready, not busy, not waiting out a rate limit, under the attempt
/// limit.
fn next_bead(ws: &Workspace, state: &TickState, tried: &HashSet<String>) -> Result<Option<String>> {
    let mut buf = IndexBuf::default();
    let index = BeadRepo::new(&ws.layout).index(&mut buf)?;
    let graph = Graph::new(&index);
    let now = ws.clock.now_secs();
    // One read of the checkpoints for both: which beads are held, how often each was tried.
    let busy = Busy::load(&ws.layout)?;
    for b in busy.startable(&graph) {
        if tried.contains(b.id) || state.waits.get(b.id).is_some_and(|&t| t > now) {
            continue;
        }
        if let Some(limit) = ws.config.budget.attempts_per_bead
            && busy.attempts(b.id) >= limit
        {
            continue;
        }
        return Ok(Some(b.id.to_owned()));
    }
    Ok(None)
}

/// One tick. With one job (the default) its steps run one after another, reported to
/// `observer`; with more, each running step reports to its own from `job_observers`.
pub fn tick(
    ws: &mut Workspace,
    opts: &TickOptions,
    observer: &mut dyn Observer,
    job_observers: JobObservers,
) -> Result<TickReport> {
    std::fs::create_dir_all(&ws.layout.runtime)
        .map_err(|e| crate::Error::io(&ws.layout.runtime, e))?;
    let Some(_tick_lock) = StoreLock::try_acquire(&ws.layout.tick_lock())? else {
        return Ok(report(
            Stopped::AnotherTick,
            "another tick is running on this repository".into(),
        ));
    };
    let started = Instant::now();
    let state = TickState::load(&ws.layout)?;
    if let Some(p) = &state.paused {
        let mut r = report(Stopped::Paused, format!("paused: {}", p.reason));
        r.paused = Some(p.clone());
        r.consecutive_failures = state.consecutive_failures;
        r.awaiting_approval = approval::waiting(ws)?.into_iter().map(|c| c.step).collect();
        return Ok(r);
    }
    let prices = crate::ledger::cost::Prices::from_config(&ws.config, &ws.layout.config())?;
    let scale = match opts
        .remote
        .clone()
        .or_else(|| ws.config.tick.remote.clone())
    {
        Some(r) => Some(remote::Scale::new(r, ws.config.tick.claim_lease)?),
        None => None,
    };
    let reclaimed = reclaim::reclaim(ws)?;
    if let Some(s) = &scale {
        // Claims a killed tick of this clone held: released, or refused if taken over.
        s.recover(ws)?;
    }
    // A tick killed between a policy merge and its bookkeeping left a merged bead open:
    // finish that first, so it is never run again.
    // Then the merge queue, under the same lock: approved steps reach their base.
    let (reconciled, queued) = {
        let _lock = StoreLock::acquire(&ws.layout.approval_lock())?;
        let reconciled = approval::reconcile::reconcile_all(ws)?;
        (reconciled, approval::queue::run_locked(ws)?)
    };
    if let Some(s) = &scale {
        // Outcomes (merged, rejected, sent back...) whose claim the remote missed.
        s.reconcile(ws)?;
    }
    let jobs = opts.jobs.unwrap_or(ws.config.tick.jobs).max(1);
    let (ran, stopped, mut state) = if jobs == 1 {
        serial(ws, opts, observer, &prices, started, state, scale.as_ref())?
    } else {
        let scale = scale.as_ref();
        jobs::parallel(
            ws,
            opts,
            jobs,
            job_observers,
            &prices,
            started,
            state,
            scale,
        )?
    };
    // Forget waits that have passed.
    let now = ws.clock.now_secs();
    if state.waits.values().any(|&t| t <= now) {
        state = TickState::update(&ws.layout, |s| s.waits.retain(|_, t| *t > now))?;
    }
    let awaiting_approval = approval::waiting(ws)?.into_iter().map(|c| c.step).collect();
    let mut r = report(stopped.0, stopped.1);
    r.reclaimed = reclaimed;
    r.reconciled = reconciled;
    r.queue = queued;
    r.ran = ran;
    r.awaiting_approval = awaiting_approval;
    r.rate_limited = state
        .waits
        .iter()
        .map(|(b, t)| (b.clone(), crate::clock::format_rfc3339(*t)))
        .collect();
    r.paused = state.paused.clone();
    r.spent_today = budget::spent_today(&ws.layout, &prices, ws.clock.now_secs())?;
    r.consecutive_failures = state.consecutive_failures;
    r.warnings = scale.as_ref().map(|s| s.warnings()).unwrap_or_default();
    // A tick that did nothing leaves no trace: cron runs it every few minutes, and a ledger
    // file per idle tick would bury the ones that matter.
    let idle = r.ran.is_empty()
        && r.reclaimed.is_empty()
        && r.queue.is_empty()
        && matches!(r.stopped, Stopped::NothingReady);
    if !idle {
        ws.record(Payload::Tick {
            stopped: Some(r.stopped.clone()),
            reason: r.reason.clone(),
            ran: r.ran.len(),
            reclaimed: r.reclaimed.len(),
            awaiting_approval: r.awaiting_approval.len(),
        })?;
    }
    if let Some(s) = &scale {
        s.publish(ws)?;
    }
    if let Some(remote) = ws.config.tick.push.clone() {
        commit::push_branches(ws, &remote)?;
    }
    // Last, so that the commit holds everything this tick recorded.
    if ws.config.tick.commit {
        r.committed = commit::commit_state(ws, &format!("forge tick: {} step(s)", r.ran.len()))?;
    }
    Ok(r)
}

/// One step after another (`--jobs 1`).
/// Runs the next step on `bead`: the revision of its latest attempt when the merge queue
/// sent that back (on the new base, with the conflict or the failing gate as the feedback:
/// the agent's work is kept and fixed, not started over), else a new attempt.
pub(crate) fn work_on(
    ws: &mut Workspace,
    bead: &str,
    step: &StepOptions,
    observer: &mut dyn Observer,
) -> Result<crate::step::StepOutcome> {
    let latest = crate::step::checkpoint::of_bead(&ws.layout, bead)?
        .into_iter()
        .max_by_key(|c| c.attempt);
    match latest {
        Some(cp) if crate::step::revise::sent_back(&cp) => {
            crate::step::revise::revise(ws, &cp.step, "", observer)
        }
        _ => run_step(ws, step, observer),
    }
}

fn serial(
    ws: &mut Workspace,
    opts: &TickOptions,
    observer: &mut dyn Observer,
    prices: &crate::ledger::cost::Prices,
    started: Instant,
    mut state: TickState,
    scale: Option<&remote::Scale>,
) -> Result<(Vec<Ran>, (Stopped, String), TickState)> {
    let mut ran = Vec::new();
    let mut tried = HashSet::new();
    let mut stopped = (Stopped::NothingReady, "nothing is ready".to_owned());
    let mut n = 0;
    loop {
        if n >= ws.config.tick.steps {
            stopped = step_limit(ws);
            break;
        }
        if let Some(why) = wall_time_used(ws, started) {
            stopped = why;
            break;
        }
        let mut skip = tried.clone();
        if let Some(s) = scale {
            skip.extend(s.busy(ws)?);
        }
        let Some(bead) = next_bead(ws, &state, &skip)? else {
            break;
        };
        let spent = budget::spent_today(&ws.layout, prices, ws.clock.now_secs())?;
        if let Some(why) = budget::exhausted(&spent, &ws.config.budget) {
            stopped = budget_stop(ws, &spent, why)?;
            break;
        }
        tried.insert(bead.clone());
        let step = StepOptions {
            bead: Some(bead.clone()),
            harness: opts.harness.clone(),
            timeout: None,
            attempt: None,
        };
        let outcome = match scale {
            Some(s) => {
                // Another machine holds the bead, or won the race for it: pick again.
                let Some(claim) = s.take(ws, &bead)? else {
                    continue;
                };
                s.run(ws, claim, observer, run_step, &step)?
            }
            None => work_on(ws, &bead, &step, observer)?,
        };
        n += 1;
        let (done, wait_until, succeeded) = settle(ws, &bead, &outcome)?;
        ran.push(done);
        let (now, stop) = count(ws, &bead, wait_until, succeeded, true)?;
        state = now;
        if let Some(why) = stop {
            stopped = why;
            break;
        }
        if outcome.ended.interrupted() {
            break;
        }
    }
    Ok((ran, stopped, state))
}

fn step_limit(ws: &Workspace) -> (Stopped, String) {
    (
        Stopped::StepLimit,
        format!("ran the {} step(s) a tick may run", ws.config.tick.steps),
    )
}

fn wall_time_used(ws: &Workspace, started: Instant) -> Option<(Stopped, String)> {
    let limit = ws.config.tick.wall_time?;
    (started.elapsed().as_secs() >= limit).then(|| {
        (
            Stopped::WallTime,
            format!("the tick's wall time ({limit}s) is used"),
        )
    })
}

/// Records and notifies that the budget stops the tick.
fn budget_stop(
    ws: &mut Workspace,
    spent: &budget::Spent,
    why: String,
) -> Result<(Stopped, String)> {
    ws.record(Payload::BudgetExhausted {
        reason: why.clone(),
        spent: crate::ledger::event::json(spent),
    })?;
    notify::send(ws, "budget_exhausted", &why, json!({ "spent": spent }));
    Ok((Stopped::Budget, why))
}

/// What the tick does with a step that ended: merges it by policy or says it waits for a
/// person, or makes its bead wait out a rate limit. Returns what ran, the time the bead
/// waits until, and whether the step succeeded (for the breaker).
fn settle(
    ws: &mut Workspace,
    bead: &str,
    outcome: &StepOutcome,
) -> Result<(Ran, Option<i64>, bool)> {
    let cp = &outcome.checkpoint;
    let mut merged = None;
    let mut wait_until = None;
    match cp.state {
        State::AwaitingApproval => {
            if cp
                .risk
                .is_some_and(|r| ws.config.policy.auto_approve.contains(&r))
            {
                let done = approval::approve(ws, &cp.step, Some(&cp.head), How::Policy)?;
                // With the merge queue, the step may wait in it or be sent back.
                merged = Some(done.merge_commit).filter(|m| !m.is_empty());
            } else {
                notify::send(
                    ws,
                    "approval_waiting",
                    &format!("{} waits for approval", cp.step),
                    json!({ "step": cp.step, "bead": cp.bead, "risk": cp.risk }),
                );
            }
        }
        _ if outcome.ended.rate_limited() => {
            // Waiting is not failing: the bead rests until the limit lifts.
            let until = outcome
                .ended
                .rate_limit_reset()
                .unwrap_or(ws.clock.now_secs() + 15 * 60);
            wait_until = Some(until);
            ws.record(Payload::BeadWaiting {
                bead: bead.to_owned(),
                step: cp.step.clone(),
                until: crate::clock::format_rfc3339(until),
                reason: cp.reason.clone(),
            })?;
        }
        _ => {}
    }
    let succeeded = cp.state == State::AwaitingApproval;
    let ran = Ran {
        step: cp.step.clone(),
        bead: cp.bead.clone(),
        state: if merged.is_some() {
            State::Merged
        } else {
            cp.state
        },
        reason: cp.reason.clone(),
        merged,
    };
    Ok((ran, wait_until, succeeded))
}

/// Counts a step that ended for the circuit breaker (or records its bead's wait), and trips
/// the breaker when `may_trip` and the count reaches `[tick] breaker`. Returns the state as
/// it is now, and why the tick stops, if it must: the breaker, or a pause given while the
/// step ran.
fn count(
    ws: &mut Workspace,
    bead: &str,
    wait_until: Option<i64>,
    succeeded: bool,
    may_trip: bool,
) -> Result<(TickState, Option<(Stopped, String)>)> {
    let mut state = TickState::update(&ws.layout, |s| match wait_until {
        Some(until) => {
            s.waits.insert(bead.to_owned(), until);
        }
        None if succeeded => s.consecutive_failures = 0,
        None => s.consecutive_failures += 1,
    })?;
    let limit = ws.config.tick.breaker;
    if may_trip && limit > 0 && state.consecutive_failures >= limit {
        let why = format!(
            "{} {} consecutive failed steps",
            state::BREAKER_REASON,
            state.consecutive_failures
        );
        ws.record(Payload::BreakerTripped {
            failures: state.consecutive_failures,
            reason: why.clone(),
        })?;
        state.paused = Some(pause::pause(ws, &why)?.0);
        notify::send(
            ws,
            "breaker_tripped",
            &why,
            json!({ "failures": state.consecutive_failures }),
        );
        return Ok((state, Some((Stopped::Breaker, why))));
    }
    if let Some(p) = &state.paused {
        // Paused by hand while the step ran.
        let why = (Stopped::Paused, format!("paused: {}", p.reason));
        return Ok((state, Some(why)));
    }
    Ok((state, None))
}
