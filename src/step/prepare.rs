//! Preparing a step: claiming its bead (the checkpoint), making its worktree and running
//! the setup, building its environment and its prompt.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checkpoint::{Checkpoint, State, fail, step_id, transition};
use super::observer::Observer;
use super::{contain, gates, prompt, step_dir};
use crate::bead::{Bead, Status};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::harness::adapter::Invocation;
use crate::harness::config::HarnessConfig;
use crate::harness::env::{EnvRequest, build as build_env};
use crate::harness::presets;
use crate::harness::process::{self, EndedBy, Spawn};
use crate::ledger::Payload;
use crate::sandbox::Enforcement;
use crate::store::SCHEMA_VERSION;
use crate::workspace::Workspace;

/// What a new step is claimed with.
pub(super) struct Claim<'a> {
    pub bead: &'a Bead,
    pub attempt: u32,
    pub harness: &'a str,
    pub config: &'a HarnessConfig,
    pub base_branch: &'a str,
    pub base_commit: &'a str,
    pub enforcement: Enforcement,
}

/// Writes the new step's checkpoint, claimed.
pub(super) fn claim(
    ws: &mut Workspace,
    c: &Claim<'_>,
    observer: &mut dyn Observer,
) -> Result<Checkpoint> {
    let (bead, attempt, hc) = (c.bead, c.attempt, c.config);
    let step = step_id(&bead.id, attempt);
    let now = ws.clock.now();
    let mut cp = Checkpoint {
        schema: i64::from(SCHEMA_VERSION),
        step: step.clone(),
        bead: bead.id.clone(),
        attempt,
        state: State::Claimed,
        reason: String::new(),
        harness: c.harness.to_owned(),
        preset: hc.preset.clone(),
        model: hc.model.clone().unwrap_or_default(),
        base_ref: format!("refs/heads/{}", c.base_branch),
        base_commit: c.base_commit.to_owned(),
        branch: format!("forge/{}/{attempt}", bead.id),
        head: String::new(),
        worktree: worktree_at(ws, hc, c.enforcement, &step),
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
        sandbox: c.enforcement.describe(),
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
            harness: c.harness.to_owned(),
            preset: hc.preset.clone(),
        },
        observer,
    )?;
    Ok(cp)
}

/// Makes the step's worktree on its branch at the base commit, then its environment, then
/// copies the configured files and runs the setup command. None when that failed: the
/// step is failed with the reason.
pub(super) fn worktree(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    observer: &mut dyn Observer,
) -> Result<Option<StepEnv>> {
    let worktree = contain::worktree(&ws.layout, cp);
    let scratch = step_dir(&ws.layout, &cp.step);
    std::fs::create_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    if let Some(parent) = worktree.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    Git::new(&ws.layout.root).worktree_add(&worktree, &cp.branch, &cp.base_commit)?;
    if let Err(e) = contain::adopt_worktree(&ws.layout, cp) {
        fail(ws, cp, e.to_string(), observer)?;
        return Ok(None);
    }
    let (branch, base_ref, base_commit) = (
        cp.branch.clone(),
        cp.base_ref.clone(),
        cp.base_commit.clone(),
    );
    transition(
        ws,
        cp,
        State::Preparing,
        |at| Payload::StepWorktree {
            at,
            branch,
            base_ref,
            base_commit,
        },
        observer,
    )?;
    let env = StepEnv::build(ws, cp)?;
    if let Err(reason) = bootstrap(ws, &worktree, &scratch, env.base()) {
        fail(ws, cp, reason, observer)?;
        return Ok(None);
    }
    Ok(Some(env))
}

/// What the harness of a first run is asked: the bead, with what its earlier attempts
/// left as feedback.
pub(super) fn invocation(
    ws: &Workspace,
    bead: &Bead,
    hc: &HarnessConfig,
    earlier: &[Checkpoint],
) -> Result<Invocation> {
    let template = match &ws.config.step.prompt_template {
        Some(rel) => Some(crate::store::parse::read_to_string(
            &ws.layout.forge.join(rel),
        )?),
        None => None,
    };
    Ok(Invocation {
        prompt: prompt::render(template.as_deref(), bead, &feedback(bead, earlier)),
        model: hc.model.clone(),
        extra_args: hc.args.clone(),
        resume_session: None,
        command: hc.command.clone(),
    })
}

/// The environment of a step's processes, built once per step (a first run, a revision, a
/// replay): the allowlisted base the setup command and the gates get, and the `FORGE_*`
/// variables the harness gets on top of its own (see [`super::launch`]).
pub(crate) struct StepEnv {
    scratch: PathBuf,
    forge: Vec<(String, String)>,
    base: Vec<(String, String)>,
}

impl StepEnv {
    /// Makes the step's scratch directories (HOME, TMPDIR, the outbox) and the environment
    /// naming them.
    pub(crate) fn build(ws: &Workspace, cp: &Checkpoint) -> Result<StepEnv> {
        let scratch = step_dir(&ws.layout, &cp.step);
        let outbox = scratch.join("outbox");
        std::fs::create_dir_all(&outbox).map_err(|e| Error::io(&outbox, e))?;
        let forge = vec![
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
        let base = build_env(&EnvRequest {
            parent: &ws.env_snapshot,
            passthrough: &[],
            set: &[],
            scratch: &scratch,
            forge: &forge,
        })
        .map_err(|e| Error::io(&scratch, e))?;
        Ok(StepEnv {
            scratch,
            forge,
            base,
        })
    }

    /// Where the step's HOME, TMPDIR and outbox are.
    pub(crate) fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// `FORGE_BEAD`, `FORGE_STEP` and the like.
    pub(crate) fn forge_vars(&self) -> &[(String, String)] {
        &self.forge
    }

    /// The environment before the harness has run (the setup command's).
    pub(crate) fn base(&self) -> &[(String, String)] {
        &self.base
    }

    /// The environment for what runs after the harness (the gates): the same, once the
    /// scratch directories it names are made safe again (a link the harness planted there
    /// is replaced, never followed; the scratch `.gitconfig` is forge's again).
    pub(crate) fn after_harness(&self) -> Result<Vec<(String, String)>> {
        crate::harness::env::prepare_scratch(&self.scratch)
            .map_err(|e| Error::io(&self.scratch, e))?;
        Ok(self.base.clone())
    }
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

/// Bytes of a failed gate's output handed to the next attempt, per gate.
const FEEDBACK_GATE_BYTES: usize = 2000;

/// What the next attempt is told of the bead's earlier ones: why each failed, was rejected
/// or was interrupted, with what its failing gates printed, and why the bead was reopened.
fn feedback(bead: &Bead, earlier: &[Checkpoint]) -> Vec<String> {
    let attempts: Vec<&Checkpoint> = earlier
        .iter()
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
        .iter()
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
    out
}

/// Whether the part of `dir` that exists (its nearest ancestor present, links followed)
/// lies inside `root`.
fn existing_part_inside(dir: &std::path::Path, root: &std::path::Path) -> bool {
    let mut existing = dir;
    while std::fs::symlink_metadata(existing).is_err() {
        match existing.parent() {
            Some(parent) => existing = parent,
            None => return false,
        }
    }
    existing
        .canonicalize()
        .ok()
        .zip(root.canonicalize().ok())
        .is_some_and(|(e, r)| e.starts_with(r))
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
            // Checked before anything is created: a link above the path must not make
            // create_dir_all build directories outside the worktree.
            if !existing_part_inside(dir, worktree) {
                return Err(format!(
                    "copying {rel}: the destination lies behind a symlink; remove it from \
                     [worktree] copy or from the repository"
                ));
            }
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
                conversation: None,
                log: scratch.join("setup.log"),
                timeout: Duration::from_secs(timeout),
                idle_timeout: None,
                grace: Duration::from_secs(2),
                sandbox: None,
                stop: None,
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
