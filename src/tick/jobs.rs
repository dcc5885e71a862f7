//! A tick that runs several steps at once (`forge tick --jobs N`, `[tick] jobs`).
//!
//! Each step runs `run_step` on its own thread with its own workspace (so its own ledger run
//! file) and its own observer, in its own worktree, sandbox and bead lease, exactly as a
//! `forge step` in another terminal would. This thread, which holds the tick lock until
//! every step has ended, decides what starts and settles what ends, one at a time:
//!
//! - a step starts only under the same limits as one after another (`[tick] steps`,
//!   `wall_time`, `forge pause`, the day's budget, not after Ctrl-C), and only while what
//!   is left of the day's budget covers its reservation beside those of the steps running
//!   (`budget::room`). A step whose reservation is not known starts only when no other
//!   runs. So the day's spend passes a limit by at most what the steps running after the
//!   last start spent beyond their reservations, or, for a step that started alone, by its
//!   whole spend, as with one job;
//! - ended steps are settled in the order they end: merged by policy or left for a person,
//!   their bead made to wait out a rate limit (only that bead), counted for the circuit
//!   breaker across all jobs;
//! - once anything stops the tick (the breaker, a pause, the wall time, the budget,
//!   Ctrl-C, an error), nothing new starts and the running steps end as they would alone:
//!   Ctrl-C interrupts them (their work is committed and kept), the others run to their
//!   end (each within its harness's timeout) and are settled.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::budget::{self, Reservation, Room};
use super::state::TickState;
use super::{
    JobObservers, Ran, Stopped, TickOptions, budget_stop, count, next_bead, settle, step_limit,
    wall_time_used,
};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::harness::config::harness_config;
use crate::ledger::cost::Prices;
use crate::step::{StepOptions, StepOutcome};
use crate::workspace::{Environment, Workspace, open_repo};

type Stop = (Stopped, String);

/// What the tick does next about starting a step.
enum Next {
    Start(String, Reservation),
    /// Nothing may start until a running step ends.
    Wait,
    Stop(Stop),
}

/// The environment the tick's own workspace was opened with, for its jobs' workspaces: the
/// same clock, randomness (shared, so no two runs draw the same id), actor and variables.
fn environment_of(ws: &Workspace) -> Environment {
    Environment {
        now: match ws.clock {
            Clock::Fixed(t) => Some(t),
            Clock::System => None,
        },
        randomness: ws.randomness.clone(),
        vars: ws.env_snapshot.clone(),
        actor: Some(ws.actor.clone()),
        step: None,
    }
}

type Ended = (String, std::thread::Result<Result<StepOutcome>>);

#[allow(clippy::too_many_arguments)]
pub(super) fn parallel(
    ws: &mut Workspace,
    opts: &TickOptions,
    jobs: u32,
    observers: JobObservers,
    prices: &Prices,
    started: Instant,
    state: TickState,
    scale: Option<&super::remote::Scale>,
) -> Result<(Vec<Ran>, Stop, TickState)> {
    let (harness, _) = harness_config(&ws.config, opts.harness.as_deref())?;
    let env = environment_of(ws);
    let (repo, _) = open_repo(&ws.layout.root)?;
    let mut run = Run {
        state,
        ran: Vec::new(),
        tried: HashSet::new(),
        running: HashMap::new(),
        started: 0,
        stopped: None,
        error: None,
        panic: None,
        tripped: false,
        remote_busy: HashSet::new(),
    };
    // Set when the tick's wall time is used or forge is paused: the running steps' harnesses
    // stop as on Ctrl-C (each step ends interrupted, its work kept).
    let halt = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<Ended>();
    std::thread::scope(|scope| {
        loop {
            while run.stopped.is_none() && run.error.is_none() && run.running.len() < jobs as usize
            {
                if let Some(s) = scale {
                    match s.busy(ws) {
                        Ok(busy) => run.remote_busy = busy,
                        Err(e) => {
                            run.error = Some(e);
                            break;
                        }
                    }
                }
                match run.next(ws, prices, started, &harness) {
                    Ok(Next::Start(bead, reservation)) => {
                        run.tried.insert(bead.clone());
                        let mut job =
                            Workspace::new(&repo, ws.layout.clone(), ws.config.clone(), &env);
                        // On a shared remote, the bead is claimed there first; another
                        // machine holding it or winning the race for it: pick again.
                        let claim = match scale.map(|s| s.take(&mut job, &bead)).transpose() {
                            Ok(Some(None)) => continue,
                            Ok(claim) => claim.flatten(),
                            Err(e) => {
                                run.error = Some(e);
                                continue;
                            }
                        };
                        run.started += 1;
                        run.running.insert(bead.clone(), reservation);
                        let mut observer = crate::step::observer::Stopping {
                            inner: observers(),
                            stop: halt.clone(),
                        };
                        let step = StepOptions {
                            bead: Some(bead.clone()),
                            harness: opts.harness.clone(),
                            timeout: None,
                            attempt: None,
                        };
                        let tx = tx.clone();
                        let bead_of_job = bead.clone();
                        scope.spawn(move || {
                            let ended = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                match (scale, claim) {
                                    (Some(s), Some(claim)) => s.run(
                                        &mut job,
                                        claim,
                                        &mut observer,
                                        crate::step::run_step,
                                        &step,
                                    ),
                                    _ => {
                                        super::work_on(&mut job, &bead_of_job, &step, &mut observer)
                                    }
                                }
                            }));
                            // The receiver lives until every job has ended.
                            let _ = tx.send((bead, ended));
                        });
                    }
                    Ok(Next::Wait) => break,
                    Ok(Next::Stop(why)) => {
                        if ends_running(&why) {
                            halt.store(true, Ordering::Relaxed);
                        }
                        run.stopped = Some(why);
                    }
                    Err(e) => run.error = Some(e),
                }
            }
            if run.running.is_empty() {
                break;
            }
            // Every running job sends once, panicking or not. While they run, the wall time
            // and a pause are watched, so that they end the running steps too.
            let (bead, ended) = loop {
                match rx.recv_timeout(WATCH_EVERY) {
                    Ok(ended) => break ended,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if !halt.load(Ordering::Relaxed)
                            && let Some(why) = run.ends_running_now(ws, started)
                        {
                            halt.store(true, Ordering::Relaxed);
                            run.stopped.get_or_insert(why);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        unreachable!("a running job holds a sender until it reports")
                    }
                }
            };
            run.running.remove(&bead);
            match ended {
                Ok(Ok(outcome)) => {
                    if let Err(e) = run.settle(ws, &bead, &outcome) {
                        run.error.get_or_insert(e);
                    }
                }
                Ok(Err(e)) => {
                    run.error.get_or_insert(e);
                }
                Err(panic) => {
                    run.panic.get_or_insert(panic);
                }
            }
        }
    });
    if let Some(panic) = run.panic {
        std::panic::resume_unwind(panic);
    }
    if let Some(e) = run.error {
        return Err(e);
    }
    let stopped = run
        .stopped
        .unwrap_or((Stopped::NothingReady, "nothing is ready".to_owned()));
    Ok((run.ran, stopped, run.state))
}

/// How often a tick running several steps looks at its wall time and the pause.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Whether a tick stopped for `why` ends its running steps too (not only new starts).
fn ends_running(why: &Stop) -> bool {
    matches!(why.0, Stopped::WallTime | Stopped::Paused)
}

struct Run {
    state: TickState,
    ran: Vec<Ran>,
    /// Beads this tick started a step on: never started again in it.
    tried: HashSet<String>,
    /// Bead -> the reservation of the step running on it.
    running: HashMap<String, Reservation>,
    started: u32,
    /// Set once the tick starts nothing more.
    stopped: Option<Stop>,
    error: Option<Error>,
    panic: Option<Box<dyn std::any::Any + Send>>,
    /// The breaker tripped in this tick (it trips once).
    tripped: bool,
    /// Beads the shared remote's claims keep (`[tick] remote`), as last fetched.
    remote_busy: HashSet<String>,
}

impl Run {
    /// Whether a step may start now, and on which bead; the checks of a tick that runs one
    /// step at a time, in the same order, then the reservation.
    fn next(
        &mut self,
        ws: &mut Workspace,
        prices: &Prices,
        started: Instant,
        harness: &str,
    ) -> Result<Next> {
        if self.started >= ws.config.tick.steps {
            return Ok(Next::Stop(step_limit(ws)));
        }
        if let Some(why) = wall_time_used(ws, started) {
            return Ok(Next::Stop(why));
        }
        if crate::harness::process::interrupt_flag().load(Ordering::Relaxed) {
            return Ok(Next::Stop((
                Stopped::Interrupted,
                "interrupted: the running steps end interrupted, their work kept".to_owned(),
            )));
        }
        // A `forge pause` given while steps run stops new starts.
        self.state = TickState::load(&ws.layout)?;
        if let Some(p) = &self.state.paused {
            return Ok(Next::Stop((
                Stopped::Paused,
                format!("paused: {}", p.reason),
            )));
        }
        // A bead whose last attempt changed the files a running bead's last attempt changed
        // would likely conflict with it: it waits rather than races it.
        let mut skip = self.tried.clone();
        skip.extend(self.remote_busy.iter().cloned());
        if !self.running.is_empty() {
            skip.extend(self.overlapping_running(ws)?);
        }
        let Some(bead) = next_bead(ws, &self.state, &skip)? else {
            return Ok(if self.running.is_empty() {
                Next::Stop((Stopped::NothingReady, "nothing is ready".to_owned()))
            } else {
                // A running step merged by policy can make another bead ready.
                Next::Wait
            });
        };
        let spent = budget::spent_today(&ws.layout, prices, ws.clock.now_secs())?;
        if let Some(why) = budget::exhausted(&spent, &ws.config.budget) {
            return Ok(Next::Stop(budget_stop(ws, &spent, why)?));
        }
        let b = &ws.config.budget;
        let reservation = if b.money_per_day.is_some() || b.tokens_per_day.is_some() {
            budget::reservation(&ws.layout, prices, b, harness)?
        } else {
            Reservation::default()
        };
        let running: Vec<Reservation> = self.running.values().copied().collect();
        Ok(
            match budget::room(&spent, &ws.config.budget, &running, &reservation) {
                Room::Fits => Next::Start(bead, reservation),
                Room::Unknown if running.is_empty() => Next::Start(bead, reservation),
                Room::Short(why) if running.is_empty() => Next::Stop(budget_stop(ws, &spent, why)?),
                Room::Unknown | Room::Short(_) => Next::Wait,
            },
        )
    }

    /// Beads whose last attempt touched files a running bead's last attempt touched.
    fn overlapping_running(&self, ws: &Workspace) -> Result<HashSet<String>> {
        let steps = crate::step::checkpoint::load_all(&ws.layout)?;
        let files = crate::step::overlap::last_attempt_files(&ws.layout, &steps)?;
        let running: Vec<&std::collections::BTreeSet<String>> =
            self.running.keys().filter_map(|b| files.get(b)).collect();
        Ok(files
            .iter()
            .filter(|(bead, _)| !self.running.contains_key(*bead))
            .filter(|(_, f)| running.iter().any(|r| !r.is_disjoint(f)))
            .map(|(bead, _)| bead.clone())
            .collect())
    }

    /// While steps run: the wall time used or a pause, which end them.
    fn ends_running_now(&mut self, ws: &Workspace, started: Instant) -> Option<Stop> {
        if let Some(why) = wall_time_used(ws, started) {
            return Some(why);
        }
        // A tick state that cannot be read may hide a pause: the running steps end, and the
        // error is what the tick reports.
        let state = match TickState::load(&ws.layout) {
            Ok(state) => state,
            Err(e) => {
                let why = format!("the tick state cannot be read ({e}); the running steps end");
                self.error.get_or_insert(e);
                return Some((Stopped::Paused, why));
            }
        };
        let paused = state.paused.as_ref().map(|p| {
            (
                Stopped::Paused,
                format!(
                    "paused: {}; the running steps end interrupted, their work kept",
                    p.reason
                ),
            )
        });
        self.state = state;
        paused
    }

    /// Settles a step that ended, in the order steps end.
    fn settle(&mut self, ws: &mut Workspace, bead: &str, outcome: &StepOutcome) -> Result<()> {
        let (done, wait_until, succeeded) = settle(ws, bead, outcome)?;
        self.ran.push(done);
        let (state, stop) = count(ws, bead, wait_until, succeeded, !self.tripped)?;
        self.state = state;
        if let Some(why) = stop {
            self.tripped |= why.0 == Stopped::Breaker;
            // The breaker speaks louder than whatever stopped the tick before it.
            if self.stopped.is_none() || why.0 == Stopped::Breaker {
                self.stopped = Some(why);
            }
        }
        if outcome.ended.interrupted() && self.stopped.is_none() {
            self.stopped = Some((
                Stopped::Interrupted,
                format!("{} was interrupted", outcome.checkpoint.step),
            ));
        }
        Ok(())
    }
}
