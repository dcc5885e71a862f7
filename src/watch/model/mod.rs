//! What `forge watch` shows, gathered from the files every other command reads: the
//! checkpoints, the bead index, tick's state, the ledger (today's spend) and the raw logs of
//! running steps. A [`Watcher`] keeps what makes the next refresh cheap: where it stopped
//! reading each running step's log (with that log's parser and what it learned so far), and
//! the predicted conflicts and today's spend, which cost git calls and ledger reads and are
//! refreshed less often than the frame. Nothing here prints.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::bead::Risk;
use crate::bead::graph::Graph;
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::clock::{Clock, format_rfc3339, parse_rfc3339};
use crate::config::Config;
use crate::ledger::cost::Prices;
use crate::redact::Redactor;
use crate::step::busy::{Busy, needs_retry};
use crate::step::checkpoint::{self, Checkpoint, State};
use crate::step::overlap::{self, Predicted};
use crate::store::Layout;
use crate::workspace::Workspace;

mod tail;

use tail::Tail;

/// How many beads of the ready queue a snapshot keeps: more than a screen shows.
pub const READY_KEPT: usize = 200;

/// The most of one step's log read in one refresh: a huge log is caught up over several
/// frames instead of freezing one.
const READ_PER_REFRESH: u64 = 1 << 20;

/// A line longer than this is parsed as far as it got (a harness that never ends a line
/// must not make forge hold its whole output).
const LINE_MAX: usize = 1 << 20;

/// How often predicted conflicts (git merge-tree per waiting step) and today's spend (the
/// ledger) are recomputed, unless what they depend on changed first.
pub const SLOW_EVERY: Duration = Duration::from_secs(5);

/// Everything one frame shows. Text from agents, beads and errors is redacted here; the
/// view makes it safe for the terminal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The repository's directory name.
    pub repo: String,
    /// Now, by the workspace's clock (RFC 3339).
    pub at: String,
    pub paused: Option<Paused>,
    /// Failed steps in a row, across ticks, and how many trip the breaker (0: never).
    pub consecutive_failures: u32,
    pub breaker_limit: u32,
    /// Today's spend; None when the ledger could not be read (see `problems`).
    pub spend: Option<Spend>,
    pub running: Vec<Running>,
    pub waiting: Vec<Waiting>,
    pub failed: Vec<Failed>,
    /// `[policy] merge = "queue"`: approved steps wait in the merge queue.
    pub queue_mode: bool,
    /// The merge queue, in order.
    pub queue: Vec<Queued>,
    /// The head of the ready queue (at most [`READY_KEPT`]), in its order.
    pub ready: Vec<Ready>,
    pub ready_total: usize,
    pub blocked: usize,
    /// With `[tick] remote`: the remote's name, and its claims (which machine holds which
    /// bead, how much of its lease is left), as last fetched.
    pub remote: Option<String>,
    pub claims: Vec<crate::remote::ClaimView>,
    /// `[tick] claim_lease`, for how long ago a held claim was renewed.
    pub claim_lease: u64,
    /// What could not be read this time (a broken file, a git error), redacted.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Paused {
    /// The reason, when and by whom.
    pub describe: String,
    /// What lets `forge tick` work again.
    pub way_out: String,
    pub breaker: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spend {
    pub day: String,
    pub money: f64,
    pub money_limit: Option<f64>,
    pub tokens: u64,
    pub tokens_limit: Option<u64>,
    pub runs: u32,
    /// Runs whose cost is unknown: the money figure is a lower bound when not zero.
    pub unknown_cost_runs: usize,
    /// The limit reached, as a reason, once one is.
    pub exhausted: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub step: String,
    pub title: String,
    pub harness: String,
    /// claimed, preparing, running or checking.
    pub phase: State,
    pub elapsed_secs: Option<i64>,
    /// The last tool call or message the harness's log shows (empty before the first).
    pub last: String,
    /// So far, as the harness reported them; None while unknown (never shown as zero).
    pub tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// Nobody holds the step's lease: its process died (`forge doctor --fix` reclaims it).
    pub owner_gone: bool,
    pub unsandboxed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub step: String,
    pub title: String,
    pub harness: String,
    pub risk: Option<Risk>,
    /// The head the approval would be bound to.
    pub head: String,
    pub tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub gates_passed: usize,
    pub gates: usize,
    /// Predicted conflicts with the base's tip or other waiting steps, in one line.
    pub conflicts: Option<String>,
    /// What the harness changed outside its step: each blocks approval.
    pub violations: Vec<String>,
    pub unsandboxed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub step: String,
    pub title: String,
    pub harness: String,
    pub state: State,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub step: String,
    pub title: String,
    /// The approved head, short.
    pub head: String,
    pub enqueued: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    pub id: String,
    pub priority: u8,
    pub kind: &'static str,
    pub title: String,
}

impl Snapshot {
    /// The steps a person can select, in the order shown: running, waiting, failed.
    pub fn steps(&self) -> Vec<&str> {
        let running = self.running.iter().map(|s| s.step.as_str());
        let waiting = self.waiting.iter().map(|s| s.step.as_str());
        let failed = self.failed.iter().map(|s| s.step.as_str());
        running.chain(waiting).chain(failed).collect()
    }

    /// Whether `step` waits for approval.
    pub fn is_waiting(&self, step: &str) -> bool {
        self.waiting.iter().any(|w| w.step == step)
    }
}

/// Gathers snapshots of one repository, remembering what makes the next one cheap.
pub struct Watcher {
    layout: Layout,
    config: Config,
    prices: Prices,
    redactor: Redactor,
    clock: Clock,
    slow_every: Duration,
    tails: HashMap<String, Tail>,
    conflicts: Option<Cached<Vec<StepHead>, Vec<Predicted>>>,
    spend: Option<Cached<(), Spend>>,
    /// When the remote's claims were last fetched (a network operation: at most every
    /// `slow_every`; read from the local copy on every refresh).
    claims_fetched: Option<Instant>,
}

/// A waiting step and its head: predicted conflicts are computed again when these change.
type StepHead = (String, String);

struct Cached<K, V> {
    key: K,
    at: Instant,
    value: V,
}

impl Watcher {
    pub fn new(ws: &Workspace) -> crate::Result<Watcher> {
        Watcher::from_parts(
            ws.layout.clone(),
            ws.config.clone(),
            ws.redactor.clone(),
            ws.clock.clone(),
        )
    }

    pub fn from_parts(
        layout: Layout,
        config: Config,
        redactor: Redactor,
        clock: Clock,
    ) -> crate::Result<Watcher> {
        let prices = Prices::from_config(&config, &layout.config())?;
        Ok(Watcher {
            layout,
            config,
            prices,
            redactor,
            clock,
            slow_every: SLOW_EVERY,
            tails: HashMap::new(),
            conflicts: None,
            spend: None,
            claims_fetched: None,
        })
    }

    /// Recompute conflicts and spend this often at most (unless their inputs change).
    pub fn slow_every(mut self, every: Duration) -> Watcher {
        self.slow_every = every;
        self
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// A snapshot of now. What cannot be read goes to `problems`; the rest is still shown.
    pub fn refresh(&mut self) -> Snapshot {
        let now = self.clock.now_secs();
        let mut snap = Snapshot {
            repo: self
                .layout
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.layout.root.display().to_string()),
            at: format_rfc3339(now),
            breaker_limit: self.config.tick.breaker,
            ..Snapshot::default()
        };
        let mut problems = Vec::new();
        let mut problem = |e: crate::Error| problems.push(e.to_string());

        match crate::tick::state::TickState::load(&self.layout) {
            Ok(tick) => {
                snap.consecutive_failures = tick.consecutive_failures;
                snap.paused = tick.paused.map(|p| Paused {
                    describe: p.describe(),
                    way_out: p.way_out().to_owned(),
                    breaker: p.is_breaker(),
                });
            }
            Err(e) => problem(e),
        }
        let steps = checkpoint::load_all(&self.layout).unwrap_or_else(|e| {
            problem(e);
            Vec::new()
        });
        let mut buf = IndexBuf::default();
        let index = BeadRepo::new(&self.layout)
            .index(&mut buf)
            .unwrap_or_else(|e| {
                problem(e);
                Vec::new()
            });
        let graph = Graph::new(&index);

        let ready = Busy::of(&steps).startable(&graph);
        snap.ready_total = ready.len();
        snap.ready = ready
            .iter()
            .take(READY_KEPT)
            .map(|b| Ready {
                id: b.id.to_owned(),
                priority: b.priority,
                kind: b.kind.as_str(),
                title: self.redactor.redact(b.title).into_owned(),
            })
            .collect();
        snap.blocked = graph.blocked().len();

        let conflicts = self.conflicts(&steps).unwrap_or_else(|e| {
            problem(e);
            Vec::new()
        });
        let title = |bead: &str| {
            graph
                .get(bead)
                .map(|b| self.redactor.redact(b.title).into_owned())
                .unwrap_or_default()
        };
        snap.queue_mode = self.config.policy.merge == crate::config::MergeMode::Queue;
        match crate::approval::queue::entries(&self.layout) {
            Ok(entries) => {
                snap.queue = entries
                    .into_iter()
                    .map(|e| Queued {
                        title: title(&e.bead),
                        head: e.head.chars().take(12).collect(),
                        enqueued: e.enqueued,
                        step: e.step,
                    })
                    .collect();
            }
            Err(e) => problem(e),
        }
        let tokens = |c: &Checkpoint| c.tokens.reported.then(|| c.tokens.total());
        let unsandboxed = |c: &Checkpoint| c.sandbox == crate::sandbox::UNSANDBOXED;
        for c in &steps {
            if c.state.is_active() {
                let tail = self
                    .tails
                    .entry(c.step.clone())
                    .or_insert_with(|| Tail::new(&self.layout, c, &self.clock));
                tail.catch_up(&self.redactor, &self.clock);
                let started = parse_rfc3339(&c.started);
                snap.running.push(Running {
                    step: c.step.clone(),
                    title: title(&c.bead),
                    harness: c.harness.clone(),
                    phase: c.state,
                    elapsed_secs: started.map(|s| (now - s).max(0)),
                    last: tail.last.clone(),
                    tokens: if tail.summary.tokens.reported {
                        Some(tail.summary.tokens.total())
                    } else {
                        tokens(c)
                    },
                    cost_usd: tail.summary.cost_usd.or(c.cost_usd),
                    owner_gone: crate::step::owner_gone_hint(&self.layout, c).is_some(),
                    unsandboxed: unsandboxed(c),
                });
            } else if c.state == State::AwaitingApproval {
                let base = overlap::base_name(&c.base_ref);
                snap.waiting.push(Waiting {
                    step: c.step.clone(),
                    title: title(&c.bead),
                    harness: c.harness.clone(),
                    risk: c.risk,
                    head: crate::approval::short(&c.head).to_owned(),
                    tokens: tokens(c),
                    cost_usd: c.cost_usd,
                    gates_passed: c.gates.iter().filter(|g| g.ok).count(),
                    gates: c.gates.len(),
                    conflicts: conflicts
                        .iter()
                        .find(|p| p.step == c.step)
                        .map(|p| self.redactor.redact(&p.describe(base)).into_owned()),
                    violations: c
                        .violations
                        .iter()
                        .map(|v| self.redactor.redact(v).into_owned())
                        .collect(),
                    unsandboxed: unsandboxed(c),
                });
            } else if needs_retry(c, &steps, &graph) {
                snap.failed.push(Failed {
                    step: c.step.clone(),
                    title: title(&c.bead),
                    harness: c.harness.clone(),
                    state: c.state,
                    reason: self.redactor.redact(&c.reason).into_owned(),
                });
            }
        }
        // A step that stopped running is read no more; were it to run again (a revision),
        // its log is read from the start.
        self.tails
            .retain(|step, _| snap.running.iter().any(|r| &r.step == step));

        if let Some(remote) = self.config.tick.remote.clone() {
            snap.claims = self.claims(&remote, now).unwrap_or_else(|e| {
                problem(e);
                Vec::new()
            });
            snap.remote = Some(remote);
            snap.claim_lease = self.config.tick.claim_lease;
        }
        snap.spend = self.spend(now).map_err(&mut problem).ok();
        snap.problems = problems
            .iter()
            .map(|p| self.redactor.redact(p).into_owned())
            .collect();
        snap
    }

    /// Predicted conflicts: again when the waiting steps or their heads change, else at most
    /// every `slow_every` (the base may have moved).
    fn conflicts(&mut self, steps: &[Checkpoint]) -> crate::Result<Vec<Predicted>> {
        let key: Vec<StepHead> = steps
            .iter()
            .filter(|c| c.state == State::AwaitingApproval)
            .map(|c| (c.step.clone(), c.head.clone()))
            .collect();
        if let Some(c) = &self.conflicts
            && c.key == key
            && c.at.elapsed() < self.slow_every
        {
            return Ok(c.value.clone());
        }
        let value = if key.is_empty() {
            Vec::new()
        } else {
            overlap::predict(&self.layout, steps)?
        };
        self.conflicts = Some(Cached {
            key,
            at: Instant::now(),
            value: value.clone(),
        });
        Ok(value)
    }

    /// The remote's claims: fetched at most every `slow_every`, read every time.
    fn claims(&mut self, remote: &str, now: i64) -> crate::Result<Vec<crate::remote::ClaimView>> {
        if self
            .claims_fetched
            .is_none_or(|at| at.elapsed() >= self.slow_every)
        {
            self.claims_fetched = Some(Instant::now());
            crate::remote::fetch_claims(&self.layout, remote)?;
        }
        crate::remote::overview_fetched(&self.layout, remote, now)
    }

    /// Today's spend against `[budget]`, read from the ledger at most every `slow_every`.
    fn spend(&mut self, now: i64) -> crate::Result<Spend> {
        if let Some(c) = &self.spend
            && c.at.elapsed() < self.slow_every
        {
            return Ok(c.value.clone());
        }
        let spent = crate::tick::budget::spent_today(&self.layout, &self.prices, now)?;
        let budget = &self.config.budget;
        let value = Spend {
            exhausted: crate::tick::budget::exhausted(&spent, budget),
            day: spent.day,
            money: spent.money,
            money_limit: budget.money_per_day,
            tokens: spent.tokens,
            tokens_limit: budget.tokens_per_day,
            runs: spent.steps,
            unknown_cost_runs: spent.unknown_cost_runs,
        };
        self.spend = Some(Cached {
            key: (),
            at: Instant::now(),
            value: value.clone(),
        });
        Ok(value)
    }
}
