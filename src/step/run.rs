//! The step lifecycle: claim, prepare a worktree, run the harness, commit, check, wait.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::busy::Busy;
use super::checkpoint::{self, Checkpoint, State, step_id};
use super::gates::{self, GateContext};
use super::{contain, guard};
use super::{lease, log_path, prompt, step_dir};
use crate::bead::graph::Graph;
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::bead::{Bead, Kind, Status};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::harness::adapter::{Event, Invocation, RunSummary, Verdict};
use crate::harness::config::HarnessConfig;
use crate::harness::env::{EnvRequest, build as build_env};
use crate::harness::presets;
use crate::harness::process::{self, EndedBy, Spawn};
use crate::harness::run::{HarnessRun, Ran};
use crate::ledger::Payload;
use crate::ledger::event::{self, StepAt};
use crate::sandbox::Enforcement;
use crate::store::SCHEMA_VERSION;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Default)]
pub struct StepOptions {
    /// A bead id or prefix; None takes the top of the ready queue.
    pub bead: Option<String>,
    /// A `[harness.NAME]`; None uses `[step] harness`.
    pub harness: Option<String>,
    /// Overrides the harness's wall-clock timeout (seconds).
    pub timeout: Option<u64>,
}

/// Progress reporting; the CLI draws it, tests ignore it.
pub trait Observer {
    fn phase(&mut self, _step: &str, _state: State, _detail: &str) {}
    fn harness_event(&mut self, _event: &Event, _summary: &RunSummary) {}
}

impl Observer for () {}

#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub checkpoint: Checkpoint,
    /// Files the step changed.
    pub files: Vec<String>,
    pub diffstat: String,
    /// Why the harness run failed, when it did (as opposed to the gates or a no-op).
    pub harness_failed: bool,
    /// forge was asked to stop (Ctrl-C, SIGTERM) while the harness ran.
    pub interrupted: bool,
    /// The harness hit a rate limit or quota; `rate_limit_reset` is when it lifts, if said.
    pub rate_limited: bool,
    pub rate_limit_reset: Option<i64>,
    /// Connections forge's egress proxy refused, by `host:port`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub egress_denied: std::collections::BTreeMap<String, u64>,
    /// A revision whose harness changed nothing: the step was checked again at its head.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unchanged: bool,
}

fn pick_bead(ws: &Workspace, wanted: Option<&str>) -> Result<Bead> {
    let repo = BeadRepo::new(&ws.layout);
    let mut buf = IndexBuf::default();
    let index = repo.index(&mut buf)?;
    let graph = Graph::new(&index);
    let busy = Busy::load(&ws.layout)?;
    let id = match wanted {
        Some(w) => {
            let id = repo.resolve(w)?;
            let summary = graph.get(&id).expect("resolved ids are in the index");
            if summary.kind == Kind::Epic {
                return Err(Error::Refused {
                    message: format!(
                        "{id} is an epic: its children are the work, and it closes itself when \
                         the last of them closes"
                    ),
                    hint: format!(
                        "run `forge step` on one of its children (`forge ready` lists those that \
                         can start), or close it by hand if it is done: forge bead close {id}"
                    ),
                });
            }
            if summary.status != Status::Open {
                return Err(Error::Refused {
                    message: format!("{id} is {}", summary.status),
                    hint: format!("reopen it first: forge bead reopen {id}"),
                });
            }
            let blockers = graph.blockers(summary);
            if let Some(b) = blockers.first() {
                return Err(Error::Refused {
                    message: format!("{id} is not ready: blocked by {}", b.id()),
                    hint: "see `forge blocked`".into(),
                });
            }
            id
        }
        None => busy
            .startable(&graph)
            .first()
            .map(|b| b.id.to_owned())
            .ok_or_else(|| Error::Refused {
                message: "no bead is ready".into(),
                hint: "see `forge blocked`, or create one with `forge bead create`".into(),
            })?,
    };
    if busy.holds(&id) {
        let gone = checkpoint::load_all(&ws.layout)?
            .iter()
            .filter(|c| c.bead == id)
            .find_map(|c| super::owner_gone_hint(&ws.layout, c));
        return Err(Error::Refused {
            message: format!("{id} already has a step running or waiting for approval"),
            hint: gone.unwrap_or_else(|| "see `forge steps`".into()),
        });
    }
    repo.load(&id)
}

fn next_attempt(ws: &Workspace, bead: &str) -> Result<u32> {
    let from_checkpoints = checkpoint::load_all(&ws.layout)?
        .into_iter()
        .filter(|c| c.bead == bead)
        .map(|c| c.attempt)
        .max()
        .unwrap_or(0);
    let git = Git::new(&ws.layout.root);
    let from_branches = git
        .run(&[
            "for-each-ref",
            "--format=%(refname)",
            &format!("refs/heads/forge/{bead}/"),
        ])?
        .lines()
        .filter_map(|r| r.rsplit('/').next()?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    Ok(from_checkpoints.max(from_branches) + 1)
}

/// Bytes of a failed gate's output handed to the next attempt, per gate.
const FEEDBACK_GATE_BYTES: usize = 2000;

fn feedback(ws: &Workspace, bead: &Bead) -> Result<Vec<String>> {
    let attempts: Vec<Checkpoint> = checkpoint::load_all(&ws.layout)?
        .into_iter()
        .filter(|c| c.bead == bead.id && !c.reason.is_empty())
        .filter(|c| {
            matches!(
                c.state,
                State::Failed | State::Rejected | State::Interrupted
            )
        })
        .collect();
    // A reject reopens the bead with "rejected: REASON", which its attempt already says.
    let repeated = attempts
        .iter()
        .any(|c| bead.reason == format!("{}: {}", c.state, c.reason));
    let mut out: Vec<String> = attempts
        .into_iter()
        .map(|c| {
            let mut item = format!("attempt {} ({}): {}", c.attempt, c.state, c.reason);
            // What the failing gate printed: the reason alone rarely shows the assertion.
            for g in c.gates.iter().filter(|g| !g.ok && !g.output.is_empty()) {
                let lines: Vec<String> = g.output.lines().map(str::to_owned).collect();
                let excerpt = gates::bounded_tail(&lines, FEEDBACK_GATE_BYTES);
                item.push_str(&format!(
                    "\n  The last lines `{}` printed:\n  ```\n{}\n  ```",
                    g.name,
                    excerpt
                        .lines()
                        .map(|l| format!("  {l}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
            item
        })
        .collect();
    if bead.status == Status::Open && !bead.reason.is_empty() && !repeated {
        out.push(format!("reopened: {}", bead.reason));
    }
    Ok(out)
}

/// Saves the checkpoint under the store lock and records the transition.
pub(crate) fn transition(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    state: State,
    event: impl FnOnce(StepAt) -> Payload,
    observer: &mut dyn Observer,
) -> Result<()> {
    cp.state = state;
    cp.updated = ws.clock.now();
    let at = StepAt {
        step: cp.step.clone(),
        bead: cp.bead.clone(),
        state: Some(state),
    };
    let recorded = ws.record(event(at))?;
    {
        let _lock = ws.lock()?;
        cp.save(&ws.layout, &ws.redactor)?;
    }
    observer.phase(&cp.step, state, &recorded.kind);
    Ok(())
}

/// The step's worktree as its checkpoint records it: relative to the runtime directory,
/// or the absolute path beside the repository for a harness that will not edit below
/// `.git` (see [`super::worktrees_beside`]).
fn worktree_at(ws: &Workspace, hc: &HarnessConfig, enforcement: Enforcement, step: &str) -> String {
    let edits_below_git =
        presets::by_name(&hc.preset).is_none_or(|a| a.edits_below_git(enforcement.is_sandboxed()));
    match super::worktrees_beside(&ws.layout) {
        Some(dir) if !edits_below_git => dir.join(step).display().to_string(),
        _ => format!("worktrees/{step}"),
    }
}

fn fail(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    reason: String,
    observer: &mut dyn Observer,
) -> Result<()> {
    cp.reason = reason.clone();
    cp.finished = ws.clock.now();
    transition(
        ws,
        cp,
        State::Failed,
        |at| Payload::StepFailed { at, reason },
        observer,
    )
}

pub fn harness_config(ws: &Workspace, name: Option<&str>) -> Result<(String, HarnessConfig)> {
    let name = name
        .map(str::to_owned)
        .or_else(|| ws.config.step.harness.clone())
        .ok_or_else(|| Error::usage(
            "no harness chosen: pass --harness NAME or set [step] harness in .forge/config.toml",
        ))?;
    let config = ws.config.harness.get(&name).cloned().ok_or_else(|| {
        Error::usage(format!(
            "no [harness.{name}] in .forge/config.toml (configured: {})",
            ws.config
                .harness
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if presets::by_name(&config.preset).is_none() {
        return Err(Error::usage(format!(
            "[harness.{name}] preset '{}' is not one of: {}",
            config.preset,
            presets::names()
        )));
    }
    Ok((name, config))
}

pub fn run_step(
    ws: &mut Workspace,
    opts: &StepOptions,
    observer: &mut dyn Observer,
) -> Result<StepOutcome> {
    let (harness_name, hc) = harness_config(ws, opts.harness.as_deref())?;
    // Fail closed before anything is claimed: a sandbox that cannot be enforced stops here,
    // and so do a base branch without a commit and a harness program that is not there.
    let enforcement = contain::enforcement(ws)?;
    let (base_branch, base_commit) = base_to_start_from(ws)?;
    hc.check_program(&harness_name, &ws.env_snapshot, &ws.layout.root)?;
    let bead = pick_bead(ws, opts.bead.as_deref())?;
    let Some(_lease) = lease::try_take(&ws.layout, &bead.id)? else {
        return Err(Error::Refused {
            message: format!("{} is being worked on by another forge process", bead.id),
            hint: "see `forge steps`".into(),
        });
    };
    // Checked again under the lease: another process may have finished a step meanwhile.
    if Busy::load(&ws.layout)?.holds(&bead.id) {
        return Err(Error::Refused {
            message: format!(
                "{} already has a step running or waiting for approval",
                bead.id
            ),
            hint: "see `forge steps`".into(),
        });
    }

    let main = Git::new(&ws.layout.root);
    let attempt = next_attempt(ws, &bead.id)?;
    let step = step_id(&bead.id, attempt);
    let branch = format!("forge/{}/{attempt}", bead.id);
    let now = ws.clock.now();
    let mut cp = Checkpoint {
        schema: i64::from(SCHEMA_VERSION),
        step: step.clone(),
        bead: bead.id.clone(),
        attempt,
        state: State::Claimed,
        reason: String::new(),
        harness: harness_name.clone(),
        preset: hc.preset.clone(),
        model: hc.model.clone().unwrap_or_default(),
        base_ref: format!("refs/heads/{base_branch}"),
        base_commit: base_commit.clone(),
        branch: branch.clone(),
        head: String::new(),
        worktree: worktree_at(ws, &hc, enforcement, &step),
        session_id: String::new(),
        owner_pid: std::process::id(),
        started: now.clone(),
        updated: now,
        finished: String::new(),
        duration_ms: 0,
        tokens: Default::default(),
        cost_usd: None,
        risk: None,
        final_message: String::new(),
        gates: Vec::new(),
        approved_by: String::new(),
        approved_how: None,
        merge_commit: String::new(),
        revert_commit: String::new(),
        sandbox: enforcement.describe(),
        violations: Vec::new(),
        seal: String::new(),
        conflicts: Vec::new(),
        extra: toml::Table::new(),
    };
    transition(
        ws,
        &mut cp,
        State::Claimed,
        |at| Payload::StepClaimed {
            at,
            attempt,
            harness: harness_name.clone(),
            preset: hc.preset.clone(),
        },
        observer,
    )?;

    // Prepare the worktree.
    let worktree = contain::worktree(&ws.layout, &cp);
    let scratch = step_dir(&ws.layout, &step);
    std::fs::create_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    if let Some(parent) = worktree.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    main.worktree_add(&worktree, &branch, &base_commit)?;
    if let Err(e) = contain::adopt_worktree(&ws.layout, &cp) {
        fail(ws, &mut cp, e.to_string(), observer)?;
        return Ok(outcome(cp, Vec::new(), String::new(), false));
    }
    let base_ref = cp.base_ref.clone();
    transition(
        ws,
        &mut cp,
        State::Preparing,
        |at| Payload::StepWorktree {
            at,
            branch: branch.clone(),
            base_ref,
            base_commit: base_commit.clone(),
        },
        observer,
    )?;
    let base_env = step_env(ws, &cp, &[], &[])?;
    if let Err(reason) = bootstrap(ws, &worktree, &scratch, &base_env) {
        fail(ws, &mut cp, reason, observer)?;
        return Ok(outcome(cp, Vec::new(), String::new(), false));
    }

    let template = match &ws.config.step.prompt_template {
        Some(rel) => Some(crate::store::parse::read_to_string(
            &ws.layout.forge.join(rel),
        )?),
        None => None,
    };
    let inv = Invocation {
        prompt: prompt::render(template.as_deref(), &bead, &feedback(ws, &bead)?),
        model: hc.model.clone(),
        extra_args: hc.args.clone(),
        resume_session: None,
        command: hc.command.clone(),
    };
    execute(
        ws,
        &mut cp,
        &bead,
        &hc,
        inv,
        opts.timeout,
        enforcement,
        observer,
    )
}

/// The base branch a step starts from and its commit, or a sentence saying why there is
/// none (HEAD detached, no commit yet, no such branch).
fn base_to_start_from(ws: &Workspace) -> Result<(String, String)> {
    let main = Git::new(&ws.layout.root);
    let base_branch = match &ws.config.step.base {
        Some(b) => b.clone(),
        None => main.current_branch()?.ok_or_else(|| Error::Refused {
            message: "HEAD is detached, so there is no base branch to start from".into(),
            hint: "check out a branch, or set [step] base in .forge/config.toml".into(),
        })?,
    };
    match main.rev_parse(&format!("refs/heads/{base_branch}")) {
        Ok(commit) => return Ok((base_branch, commit)),
        Err(Error::GitCommand { .. }) => {} // no such commit: say why below
        Err(e) => return Err(e),
    }
    let any_branch = main.run(&[
        "for-each-ref",
        "--count=1",
        "--format=%(refname)",
        "refs/heads/",
    ])?;
    Err(if any_branch.trim().is_empty() {
        Error::Refused {
            message: "the repository has no commits: commit something first".into(),
            hint: "a step starts from the latest commit of its base branch: \
                   `git add -A && git commit -m \"initial commit\"`, then run the step again"
                .into(),
        }
    } else if ws.config.step.base.is_some() {
        Error::Refused {
            message: format!("the base branch '{base_branch}' ([step] base) does not exist"),
            hint: "set [step] base in .forge/config.toml to a branch that exists, or create it \
                   with `git branch`"
                .into(),
        }
    } else {
        Error::Refused {
            message: format!("the branch '{base_branch}' has no commits yet"),
            hint: "commit something on it first, or set [step] base in .forge/config.toml to a \
                   branch that has commits"
                .into(),
        }
    })
}

/// The step directory layout and environment shared by a first run and a revision.
fn step_env(
    ws: &Workspace,
    cp: &Checkpoint,
    set: &[(String, String)],
    passthrough: &[String],
) -> Result<Vec<(String, String)>> {
    let scratch = step_dir(&ws.layout, &cp.step);
    let outbox = scratch.join("outbox");
    std::fs::create_dir_all(&outbox).map_err(|e| Error::io(&outbox, e))?;
    let forge_vars = vec![
        ("FORGE_BEAD".to_owned(), cp.bead.clone()),
        ("FORGE_STEP".to_owned(), cp.step.clone()),
        (
            crate::harness::process::RUN_MARKER.to_owned(),
            super::run_marker(&ws.layout, &cp.step),
        ),
        ("FORGE_ATTEMPT".to_owned(), cp.attempt.to_string()),
        (
            "FORGE_REPO".to_owned(),
            ws.layout.root.display().to_string(),
        ),
        ("FORGE_OUTBOX".to_owned(), outbox.display().to_string()),
    ];
    build_env(&EnvRequest {
        parent: &ws.env_snapshot,
        passthrough,
        set,
        scratch: &scratch,
        forge: &forge_vars,
    })
    .map_err(|e| Error::io(&scratch, e))
}

/// Runs the harness in the step's worktree, commits what it changed, runs the gates and
/// leaves the step waiting for approval or failed. Used by a first run and by a revision.
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    bead: &Bead,
    hc: &HarnessConfig,
    inv: Invocation,
    timeout: Option<u64>,
    enforcement: Enforcement,
    observer: &mut dyn Observer,
) -> Result<StepOutcome> {
    let adapter = presets::by_name(&hc.preset).expect("checked by harness_config");
    let harness_name = cp.harness.clone();
    let step = cp.step.clone();
    let worktree = contain::worktree(&ws.layout, cp);
    let mut spec = adapter.command(&inv);
    adapter.contain(&mut spec, enforcement.is_sandboxed());
    let mut set: Vec<(String, String)> = spec.env.clone();
    set.extend(hc.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut env = step_env(ws, cp, &set, &hc.pass_env)?;
    let path_var = contain::path_var(&env);
    let mut contained = contain::contain(
        ws,
        &contain::Subject::of_step(&ws.layout, cp),
        enforcement,
        Some((adapter, hc, &spec.program)),
        &path_var,
    )?;
    contained.apply_to(&mut env);
    let watch = contain::Watch::of_step(&ws.layout, cp, enforcement);
    let watched = watch.get();
    let branch_ref = format!("refs/heads/{}", cp.branch);
    let before = guard::take(&watched)?;
    let policy_summary = contained.policy.as_ref().map(|p| p.summary(enforcement));
    transition(
        ws,
        cp,
        State::Running,
        |at| Payload::HarnessStarted {
            at,
            harness: harness_name.to_owned(),
            preset: hc.preset.clone(),
            program: spec.program.clone(),
            sandbox: event::json(&enforcement.describe()),
            policy: event::json(&policy_summary),
        },
        observer,
    )?;
    let started = Instant::now();
    let ran = crate::harness::run::run(
        HarnessRun {
            adapter,
            config: hc,
            spec: spec.clone(),
            cwd: worktree.clone(),
            env,
            log: log_path(&ws.layout, &step),
            timeout,
            sandbox: contained.policy.clone(),
            clock: &ws.clock,
        },
        &mut |event, summary| observer.harness_event(event, summary),
    );
    let egress = contained.finish();
    let limit_hits = contained.limit_hits();
    let Ran {
        finished,
        summary,
        verdict,
    } = match ran {
        Ok(r) => r,
        Err(e) => {
            fail(
                ws,
                cp,
                format!("could not start the harness: {e}"),
                observer,
            )?;
            return Ok(outcome(cp.clone(), Vec::new(), String::new(), true));
        }
    };
    cp.session_id = summary.session_id.clone().unwrap_or_default();
    cp.tokens = summary.tokens;
    cp.cost_usd = summary.cost_usd;
    cp.final_message = summary.final_message();
    cp.duration_ms = started.elapsed().as_millis() as u64;
    if let Some(model) = &summary.model {
        cp.model = model.clone();
    }
    let duration_ms = cp.duration_ms;
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
    let egress_denied = egress.map(|e| e.denied).unwrap_or_default();

    // Before forge runs any git in the worktree: did the harness reach outside its step?
    let violations = guard::compare(&watched, &before, &guard::take(&watched)?);
    // A changed repository config could define the filters forge's own `git add` runs:
    // then the work stays uncommitted in the worktree, for a person to look at.
    let config_changed = violations.iter().any(|v| v.touches_config);
    if config_changed {
        violate(ws, cp, &violations, observer)?;
        let mut out = outcome(cp.clone(), Vec::new(), String::new(), false);
        out.egress_denied = egress_denied;
        return Ok(out);
    }
    let (raised, skipped) = crate::assumption::outbox::import(
        ws,
        &step_dir(&ws.layout, &step).join("outbox"),
        &step,
        &bead.id,
    )?;
    if !raised.is_empty() || skipped > 0 {
        ws.record(Payload::StepAssumptions {
            at: StepAt::new(&step, &bead.id),
            raised: raised.len(),
            skipped,
        })?;
    }

    // Commit whatever the agent changed, even after a failure: no work is ever lost.
    let parent_was_base = cp.head.is_empty();
    let parent = if parent_was_base {
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
        adapter.never_commit(),
        &message,
        &format!("forge ({harness_name})"),
    )?;
    let changed = committed.is_some();
    let mut files = Vec::new();
    let mut diffstat = String::new();
    if let Some(head) = committed {
        // Compare-and-swap from the value forge recorded: a branch moved by anyone else
        // is not overwritten.
        if let Err(e) = git.update_ref(&branch_ref, &head, Some(&parent)) {
            let reason = format!(
                "policy violation: {branch_ref} is no longer at {parent}, where forge left \
                 it ({e}); the agent's work is in {head}"
            );
            fail(ws, cp, reason, observer)?;
            return Ok(outcome(cp.clone(), Vec::new(), String::new(), false));
        }
        cp.head = head.clone();
        let _ = contain::sync_worktree_index(&ws.layout, cp);
        files = git.changed_files(&cp.base_commit, &head)?;
        diffstat = git.diffstat(&cp.base_commit, &head)?;
        ws.record(Payload::StepCommitted {
            at: StepAt::new(&step, &bead.id),
            head: head.clone(),
            files: files.len(),
        })?;
    }
    if !violations.is_empty() {
        violate(ws, cp, &violations, observer)?;
        let mut out = outcome(cp.clone(), files, diffstat, false);
        out.egress_denied = egress_denied;
        return Ok(out);
    }
    if finished.ended_by == EndedBy::Interrupted {
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
        let mut out = outcome(cp.clone(), files, diffstat, true);
        out.interrupted = true;
        out.egress_denied = egress_denied;
        return Ok(out);
    }
    let harness_failed = verdict != Verdict::Succeeded;
    if harness_failed {
        let reason = match &verdict {
            Verdict::Failed { reason } => reason.clone(),
            Verdict::AuthFailed { reason } => format!("authentication failed: {reason}"),
            Verdict::RateLimited { reason, .. } => format!("rate limited: {reason}"),
            Verdict::Succeeded => unreachable!(),
        };
        let unset = hc.unset_pass_env(&ws.env_snapshot);
        let reason = if unset.is_empty() {
            reason
        } else {
            format!(
                "{reason} (pass_env {} not set in forge's environment)",
                unset.join(", ")
            )
        };
        let reason = match limit_hits.describe() {
            Some(hit) => format!("{reason} ({hit})"),
            None => reason,
        };
        fail(ws, cp, reason, observer)?;
        let mut out = outcome(cp.clone(), files, diffstat, true);
        if let Verdict::RateLimited { reset_at, .. } = verdict {
            out.rate_limited = true;
            out.rate_limit_reset = reset_at;
        }
        out.egress_denied = egress_denied;
        return Ok(out);
    }
    if !changed && !parent_was_base {
        // A revision that changed nothing leaves the work as it was: the same head is
        // checked again and waits, rather than a good commit being lost to a failure.
        ws.record(Payload::StepUnchanged {
            at: StepAt::new(&step, &bead.id),
            head: cp.head.clone(),
        })?;
        let git = contain::step_git(&ws.layout, cp);
        let files = git.changed_files(&cp.base_commit, &cp.head)?;
        let diffstat = git.diffstat(&cp.base_commit, &cp.head)?;
        let mut out = check_and_wait(ws, cp, bead, files, diffstat, enforcement, observer)?;
        out.unchanged = true;
        out.egress_denied = egress_denied;
        return Ok(out);
    }
    if !changed {
        fail(ws, cp, "the harness changed nothing".into(), observer)?;
        let mut out = outcome(cp.clone(), files, diffstat, false);
        out.egress_denied = egress_denied;
        return Ok(out);
    }

    let mut out = check_and_wait(ws, cp, bead, files, diffstat, enforcement, observer)?;
    out.egress_denied = egress_denied;
    Ok(out)
}

/// Fails the step for what its harness (or its gates) changed outside it.
fn violate(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    violations: &[guard::Violation],
    observer: &mut dyn Observer,
) -> Result<()> {
    ws.record(Payload::StepViolation {
        at: StepAt::new(&cp.step, &cp.bead),
        violations: event::json(violations),
    })?;
    cp.violations = violations.iter().map(|v| v.what.clone()).collect();
    let undo: Vec<&str> = violations.iter().map(|v| v.undo.as_str()).collect();
    fail(
        ws,
        cp,
        format!(
            "policy violation: {}; forge restored nothing (undo: {})",
            cp.violations.join("; "),
            undo.join("; ")
        ),
        observer,
    )
}

/// Runs the gates on the step's commits and leaves it waiting for approval or failed.
pub(crate) fn check_and_wait(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    bead: &Bead,
    files: Vec<String>,
    diffstat: String,
    enforcement: Enforcement,
    observer: &mut dyn Observer,
) -> Result<StepOutcome> {
    let step = cp.step.clone();
    let head = cp.head.clone();
    let scratch = step_dir(&ws.layout, &step);
    let mut base_env = step_env(ws, cp, &[], &[])?;
    let path_var = contain::path_var(&base_env);
    let contained = contain::contain(
        ws,
        &contain::Subject::of_step(&ws.layout, cp),
        enforcement,
        None,
        &path_var,
    )?;
    contained.apply_to(&mut base_env);
    let git = contain::step_git(&ws.layout, cp);
    let watch = contain::Watch::of_step(&ws.layout, cp, enforcement);
    let watched = watch.get();
    let before = guard::take(&watched)?;
    let ctx = GateContext {
        git: &git,
        base: &cp.base_commit,
        head: &head,
        config: &ws.config,
        redactor: &ws.redactor,
        env: &base_env,
        log_dir: &scratch,
        sandbox: contained.policy.as_ref(),
        conflicts: &cp.conflicts,
    };
    let facts = gates::diff_facts(&ctx)?;
    let results = gates::run_all(&ctx, &facts)?;
    let risk = gates::risk_tier(bead.risk, &facts, ws.config.policy.max_diff_lines);
    // Gate commands run the agent's code.
    let violations = guard::compare(&watched, &before, &guard::take(&watched)?);
    for g in &results {
        ws.record(Payload::GateResult {
            at: StepAt::new(&step, &bead.id),
            gate: g.name.clone(),
            ok: g.ok,
            detail: g.detail.clone(),
            duration_ms: g.duration_ms,
        })?;
    }
    cp.gates = results.clone();
    cp.risk = Some(risk);
    if !violations.is_empty() {
        violate(ws, cp, &violations, observer)?;
        return Ok(outcome(cp.clone(), files, diffstat, false));
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|g| !g.ok)
        .map(|g| format!("{}: {}", g.name, g.detail))
        .collect();
    if !failed.is_empty() {
        if results.iter().any(|g| g.name == "secrets" && !g.ok) {
            to_attic_only(ws, cp, &git)?;
        }
        fail(
            ws,
            cp,
            format!("gates failed: {}", failed.join("; ")),
            observer,
        )?;
        return Ok(outcome(cp.clone(), files, diffstat, false));
    }
    cp.reason.clear();
    cp.state = State::AwaitingApproval;
    cp.seal = crate::approval::seal::seal(&ws.layout, cp)?;
    transition(
        ws,
        cp,
        State::AwaitingApproval,
        |at| Payload::StepAwaitingApproval {
            at,
            head: head.clone(),
            risk: Some(risk),
            files: files.len(),
        },
        observer,
    )?;
    Ok(outcome(cp.clone(), files, diffstat, false))
}

/// A head whose diff holds a secret is kept only under `refs/forge/attic/<step>`: the step
/// branch goes back to the head's parent (by compare-and-swap), so that `[tick] push`,
/// which publishes `forge/*` branches, never carries it.
fn to_attic_only(ws: &mut Workspace, cp: &Checkpoint, git: &Git) -> Result<()> {
    let attic = format!("refs/forge/attic/{}", cp.step);
    let parent = git.rev_parse(&format!("{}^1", cp.head))?;
    // One transaction: a kill between two updates must not leave the branch on the head.
    let branch = format!("refs/heads/{}", cp.branch);
    git.update_refs(&[
        (attic.as_str(), cp.head.as_str(), None),
        (branch.as_str(), parent.as_str(), Some(cp.head.as_str())),
    ])?;
    ws.record(Payload::StepQuarantined {
        at: StepAt::new(&cp.step, &cp.bead),
        head: cp.head.clone(),
        attic: attic.clone(),
        branch_reset_to: parent.clone(),
    })?;
    Ok(())
}

fn outcome(
    checkpoint: Checkpoint,
    files: Vec<String>,
    diffstat: String,
    harness_failed: bool,
) -> StepOutcome {
    StepOutcome {
        checkpoint,
        files,
        diffstat,
        harness_failed,
        interrupted: false,
        rate_limited: false,
        rate_limit_reset: None,
        egress_denied: Default::default(),
        unchanged: false,
    }
}

/// Copies the configured ignored files and runs the setup command. Err is the reason.
fn bootstrap(
    ws: &Workspace,
    worktree: &std::path::Path,
    scratch: &std::path::Path,
    env: &[(String, String)],
) -> std::result::Result<(), String> {
    let included = super::worktreeinclude::files(&ws.layout.root)?;
    for rel in ws.config.worktree.copy.iter().chain(&included) {
        let from = ws.layout.root.join(rel);
        if !from.exists() {
            continue;
        }
        let to = worktree.join(rel);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("copying {rel}: {e}"))?;
        }
        // A symlink in the base commit (at the path or above it) must not send the copy
        // outside the worktree.
        let inside = to
            .parent()
            .and_then(|d| d.canonicalize().ok())
            .zip(worktree.canonicalize().ok())
            .is_some_and(|(d, w)| d.starts_with(w));
        let is_link = std::fs::symlink_metadata(&to).is_ok_and(|m| m.file_type().is_symlink());
        if !inside || is_link {
            return Err(format!(
                "copying {rel}: the destination is a symlink or lies behind one; remove it \
                 from [worktree] copy or from the repository"
            ));
        }
        std::fs::copy(&from, &to).map_err(|e| format!("copying {rel}: {e}"))?;
    }
    if let Some(setup) = &ws.config.worktree.setup {
        let timeout = ws.config.worktree.setup_timeout.unwrap_or(600);
        let finished = process::run(
            &Spawn {
                program: "sh".into(),
                args: vec!["-c".into(), setup.clone()],
                cwd: worktree.to_owned(),
                env: env.to_vec(),
                stdin: None,
                log: scratch.join("setup.log"),
                timeout: Duration::from_secs(timeout),
                idle_timeout: None,
                grace: Duration::from_secs(2),
                sandbox: None,
            },
            &mut |_, _| {},
        )
        .map_err(|e| format!("setup command: {e}"))?;
        if finished.ended_by != EndedBy::Exited || finished.exit_code != Some(0) {
            return Err(format!(
                "setup command `{setup}` failed ({:?}, exit {:?})",
                finished.ended_by, finished.exit_code
            ));
        }
    }
    Ok(())
}

/// What an approver relies on, derived afresh for `cp.head` against `base`: the gates re-run
/// in a new worktree of that exact commit (sandboxed like any step) and the risk tier. For
/// evidence this clone did not write (see `approval::seal`).
pub fn rederive(
    ws: &mut Workspace,
    cp: &Checkpoint,
    base: &str,
) -> Result<(Vec<checkpoint::GateResult>, crate::bead::Risk)> {
    let enforcement = contain::enforcement(ws)?;
    let dir = ws
        .layout
        .runtime
        .join("verify")
        .join(format!("{}-{}", cp.step, std::process::id()));
    let worktree = dir.join("worktree");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let main = Git::new(&ws.layout.root).hardened();
    main.run(&[
        "worktree",
        "add",
        "--quiet",
        "--detach",
        &worktree.to_string_lossy(),
        &cp.head,
    ])?;
    let result = (|| {
        let common = ws.layout.common_dir();
        let subject = contain::Subject {
            admin_dir: guard::admin_dir(&common, &worktree)?,
            worktree: worktree.clone(),
            scratch: dir.clone(),
        };
        let marker = vec![("FORGE_STEP".to_owned(), format!("{}-verify", cp.step))];
        let mut env = build_env(&EnvRequest {
            parent: &ws.env_snapshot,
            passthrough: &[],
            set: &[],
            scratch: &dir,
            forge: &marker,
        })
        .map_err(|e| Error::io(&dir, e))?;
        let path_var = contain::path_var(&env);
        let contained = contain::contain(ws, &subject, enforcement, None, &path_var)?;
        contained.apply_to(&mut env);
        let git = Git::pinned(&common, &worktree, &dir.join("index"));
        let ctx = GateContext {
            git: &git,
            base,
            head: &cp.head,
            config: &ws.config,
            redactor: &ws.redactor,
            env: &env,
            log_dir: &dir,
            sandbox: contained.policy.as_ref(),
            conflicts: &cp.conflicts,
        };
        let facts = gates::diff_facts(&ctx)?;
        let results = gates::run_all(&ctx, &facts)?;
        let bead_risk = BeadRepo::new(&ws.layout).load(&cp.bead)?.risk;
        let risk = gates::risk_tier(bead_risk, &facts, ws.config.policy.max_diff_lines);
        Ok((results, risk))
    })();
    let _ = main.worktree_remove(&worktree);
    let _ = main.worktree_prune();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
