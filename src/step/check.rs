//! Checking a step: its gates, its risk tier, what its processes changed outside it, the
//! seal over the evidence, and the wait for approval. Also the same checks derived afresh
//! for an approver who cannot trust the evidence (see `approval::seal`).

use super::checkpoint::{self, Checkpoint, State, fail, transition};
use super::contain;
use super::gates::{self, GateContext};
use super::guard;
use super::observer::Observer;
use super::outcome::{Checked, StepDiff};
use super::prepare::StepEnv;
use crate::bead::Bead;
use crate::bead::repo::BeadRepo;
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::harness::env::{EnvRequest, build as build_env};
use crate::ledger::Payload;
use crate::ledger::event::{self, StepAt};
use crate::sandbox::Enforcement;
use crate::workspace::Workspace;

/// Runs the gates on the step's head and leaves it waiting for approval, or failed: by a
/// gate, or by what the gates (which run the agent's code) changed outside the step.
pub(crate) fn check(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    bead: &Bead,
    diff: &StepDiff,
    env: &StepEnv,
    enforcement: Enforcement,
    observer: &mut dyn Observer,
) -> Result<Checked> {
    let step = cp.step.clone();
    let head = cp.head.clone();
    let mut gate_env = env.after_harness()?;
    let path_var = contain::path_var(&gate_env);
    let contained = contain::contain(
        ws,
        &contain::Subject::of_step(&ws.layout, cp),
        enforcement,
        None,
        &path_var,
    )?;
    contained.apply_to(&mut gate_env);
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
        env: &gate_env,
        log_dir: env.scratch(),
        sandbox: contained.policy.as_ref(),
        conflicts: &cp.conflicts,
    };
    let facts = &diff.facts;
    let results = gates::run_all(&ctx, facts)?;
    let risk = gates::risk_tier(bead.risk, facts, ws.config.policy.max_diff_lines);
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
        return Ok(Checked::Violation);
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
        return Ok(Checked::GatesFailed);
    }
    cp.reason.clear();
    cp.state = State::AwaitingApproval;
    cp.seal = crate::approval::seal::seal(&ws.layout, cp)?;
    let files = facts.files.len();
    transition(
        ws,
        cp,
        State::AwaitingApproval,
        |at| Payload::StepAwaitingApproval {
            at,
            head: head.clone(),
            risk: Some(risk),
            files,
        },
        observer,
    )?;
    Ok(Checked::Waiting)
}

/// Fails the step for what its harness (or its gates) changed outside it.
pub(super) fn violate(
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
        .verify_dir(&format!("{}-{}", cp.step, std::process::id()));
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
        let facts = gates::diff_facts(&git, base, &cp.head)?;
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
