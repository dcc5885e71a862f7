//! Revising a step with a person's feedback, and replaying it on a moved base.

use crate::ledger::Payload;
use crate::ledger::event::StepAt;

use super::check::check;
use super::checkpoint::{self, Checkpoint, State};
use super::observer::Observer;
use super::outcome::{StepDiff, StepOutcome};
use super::prepare::StepEnv;
use super::run::execute;
use super::{contain, lease, prompt};
use crate::bead::repo::BeadRepo;
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::harness::adapter::Invocation;
use crate::harness::config::harness_config;
use crate::harness::presets;
use crate::workspace::Workspace;

fn revisable(ws: &Workspace, step: &str) -> Result<Checkpoint> {
    let cp = checkpoint::load_step(&ws.layout, step)?;
    if !matches!(
        cp.state,
        State::AwaitingApproval | State::Failed | State::Interrupted
    ) {
        return Err(Error::Refused {
            message: format!(
                "{} is {}; only a waiting, failed or interrupted step can be revised",
                cp.step, cp.state
            ),
            hint: "see `forge steps`".into(),
        });
    }
    if cp.state == State::Interrupted && cp.reason.starts_with(crate::tick::reclaim::OWNER_GONE) {
        return Err(Error::Refused {
            message: format!(
                "{} was reclaimed after the process running it died, so its harness was never \
                 checked for changes outside its step",
                cp.step
            ),
            hint: format!(
                "start a new attempt (`forge step {}`); its work is in refs/forge/attic/{}",
                cp.bead, cp.step
            ),
        });
    }
    if !cp.violations.is_empty() {
        return Err(Error::Refused {
            message: format!(
                "{}'s harness changed things outside its step ({}); its worktree is not \
                 trusted",
                cp.step,
                cp.violations.join("; ")
            ),
            hint: format!(
                "undo what it changed, then reject it (`forge reject {}`) and start a new \
                 attempt",
                cp.step
            ),
        });
    }
    if !ws.layout.step_worktree(&cp.worktree).is_dir() {
        return Err(Error::Refused {
            message: format!("the worktree of {} is gone", cp.step),
            hint: format!("start a new attempt with `forge step {}`", cp.bead),
        });
    }
    Ok(cp)
}

/// A revisable step, the sandbox decision and the bead's lease: what a revision and a
/// replay start from.
fn begin(
    ws: &Workspace,
    step: &str,
) -> Result<(
    Checkpoint,
    crate::sandbox::Enforcement,
    crate::store::lock::StoreLock,
)> {
    let cp = revisable(ws, step)?;
    let enforcement = contain::enforcement(ws)?;
    let Some(lease) = lease::try_take(&ws.layout, &cp.bead)? else {
        return Err(Error::Refused {
            message: format!("{} is being worked on by another forge process", cp.bead),
            hint: "see `forge steps`".into(),
        });
    };
    Ok((cp, enforcement, lease))
}

/// Sends `feedback` to the same harness session when the adapter can resume it (otherwise a
/// fresh run whose prompt includes it), commits on the same branch, reruns the gates.
pub fn revise(
    ws: &mut Workspace,
    step: &str,
    feedback: &str,
    observer: &mut dyn Observer,
) -> Result<StepOutcome> {
    let (mut cp, enforcement, _lease) = begin(ws, step)?;
    // A step the merge queue sent back: the reason (the conflict, or the gate that failed
    // on the merged result) is the feedback, and the work moves to the new base first.
    let is_sent_back = sent_back(&cp);
    let feedback = match feedback.trim() {
        "" if is_sent_back => cp.reason.clone(),
        "" => return Err(Error::usage("a revision needs feedback (--feedback TEXT)")),
        _ if is_sent_back => format!("{}\n\n{feedback}", cp.reason),
        _ => feedback.to_owned(),
    };
    // On a base that moved and no longer takes the work cleanly, the revision works on the
    // replay, conflicts and all: revising on the old base would only conflict again.
    let conflicts = match replay_target(ws, &cp)? {
        Some((new_base, merged)) if !merged.conflicts.is_empty() => {
            replay_with_conflicts(ws, &mut cp, &new_base, &merged)?;
            merged.conflicts
        }
        Some((new_base, merged)) if is_sent_back => {
            replay_clean(ws, &mut cp, &new_base, &merged)?;
            Vec::new()
        }
        _ => Vec::new(),
    };
    rerun(ws, cp, Some(&feedback), &conflicts, enforcement, observer)
}

/// Whether `cp` was sent back by the merge queue and waits for `forge revise`.
pub fn sent_back(cp: &Checkpoint) -> bool {
    cp.state == State::Failed && cp.reason.starts_with(crate::approval::queue::SENT_BACK)
}

/// Puts the clean replay of the step's work onto `new_base` on the step branch (one commit,
/// with the head's message) and makes the worktree follow.
fn replay_clean(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    new_base: &str,
    merged: &crate::git::cli::MergeTree,
) -> Result<String> {
    let git = contain::step_git(&ws.layout, cp);
    let message = git.run(&["log", "-1", "--format=%B", &cp.head])?;
    let head = git
        .as_forge(&format!("forge ({})", cp.harness))
        .commit_tree(&merged.tree, &[new_base], message.trim_end())?;
    move_to_replay(ws, cp, new_base, &head, &[])?;
    Ok(head)
}

/// Runs the step's harness again on its worktree with a reviewer's `feedback` and/or the
/// `conflicts` of a replay to resolve, then commits, checks and waits as a step does.
fn rerun(
    ws: &mut Workspace,
    mut cp: Checkpoint,
    feedback: Option<&str>,
    conflicts: &[String],
    enforcement: crate::sandbox::Enforcement,
    observer: &mut dyn Observer,
) -> Result<StepOutcome> {
    let (_, hc) = harness_config(&ws.config, Some(&cp.harness))?;
    let adapter = presets::by_name(&hc.preset).expect("checked by harness_config");
    let bead = BeadRepo::new(&ws.layout).load(&cp.bead)?;
    let resume = (adapter.can_resume() && !cp.session_id.is_empty()).then(|| cp.session_id.clone());
    ws.record(Payload::StepRevise {
        at: StepAt::new(&cp.step, &cp.bead),
        feedback: feedback.unwrap_or("").to_owned(),
        by: ws.actor.clone(),
        resume_session: resume.clone(),
        conflicts: conflicts.to_vec(),
    })?;
    let mut asks = Vec::new();
    if !conflicts.is_empty() {
        asks.push(conflict_task(&cp, conflicts));
    }
    if let Some(f) = feedback {
        asks.push(format!("reviewer: {f}"));
    }
    let text = match &resume {
        // The session already has the task; it only needs what is asked now and the rules.
        Some(_) => format!(
            "Please do the following:\n\n{}\n\nRules, as before:\n{}\n",
            asks.join("\n\n"),
            prompt::RULES
        ),
        None => prompt::render(None, &bead, &asks),
    };
    let inv = Invocation {
        prompt: text,
        model: hc.model.clone(),
        extra_args: hc.args.clone(),
        resume_session: resume,
        command: hc.command.clone(),
    };
    let env = StepEnv::build(ws, &cp)?;
    execute(
        ws,
        &mut cp,
        &bead,
        &hc,
        &inv,
        None,
        enforcement,
        &env,
        observer,
    )
}

/// What the agent is told of a conflicted replay.
fn conflict_task(cp: &Checkpoint, conflicts: &[String]) -> String {
    format!(
        "The base branch ({}) moved since this work was done, and forge replayed the work on \
         its new tip ({}). The replay conflicts in: {}. Those files now hold git conflict \
         markers (`<<<<<<<` the base's side, `=======`, `>>>>>>>` this work's side). Resolve \
         every conflict so that both the base's changes and this task's intent survive, remove \
         every marker, and check that the work still does what the task asks. A gate fails \
         while any marker is left.",
        crate::step::overlap::base_name(&cp.base_ref),
        crate::approval::short(&cp.base_commit),
        conflicts.join(", ")
    )
}

/// The base's current tip and the in-memory replay of the step's work onto it, when the
/// base moved since the step's work was based on it.
fn replay_target(
    ws: &Workspace,
    cp: &Checkpoint,
) -> Result<Option<(String, crate::git::cli::MergeTree)>> {
    if cp.head.is_empty() {
        return Ok(None);
    }
    let new_base = Git::new(&ws.layout.root).rev_parse(&cp.base_ref)?;
    if new_base == cp.base_commit {
        return Ok(None);
    }
    let git = contain::step_git(&ws.layout, cp);
    let merged = git.merge_tree(&new_base, &cp.head, Some(&cp.base_commit))?;
    Ok(Some((new_base, merged)))
}

/// Puts the replay onto `new_base` on the step branch with its conflicts as git wrote them
/// (markers in the files): one commit on the new base, by compare-and-swap from the head,
/// then the worktree follows. The checkpoint stays consistent at every point (its head
/// descends from its base), so a kill leaves a step that can be revised again.
fn replay_with_conflicts(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    new_base: &str,
    merged: &crate::git::cli::MergeTree,
) -> Result<()> {
    let git = contain::step_git(&ws.layout, cp);
    let message = format!(
        "forge: replay {} onto {} (conflicts: {})\n\nThe next commit resolves them.\n\n\
         Forge-Bead: {}\nForge-Step: {}\n",
        cp.step,
        crate::approval::short(new_base),
        merged.conflicts.join(", "),
        cp.bead,
        cp.step
    );
    let head = git
        .as_forge(&format!("forge ({})", cp.harness))
        .commit_tree(&merged.tree, &[new_base], &message)?;
    move_to_replay(ws, cp, new_base, &head, &merged.conflicts)
}

/// Moves the step branch from its head to `head` (a replay on `new_base`), makes the
/// worktree follow and records it.
fn move_to_replay(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    new_base: &str,
    head: &str,
    conflicts: &[String],
) -> Result<()> {
    let git = contain::step_git(&ws.layout, cp);
    git.update_ref(&format!("refs/heads/{}", cp.branch), head, Some(&cp.head))?;
    // The worktree follows, so that the harness (or a later revision) starts from the replay.
    if git.run(&["read-tree", "-m", "-u", &cp.head, head]).is_err() {
        git.run(&["read-tree", "--reset", "-u", head])?;
    }
    let old_base = std::mem::replace(&mut cp.base_commit, new_base.to_owned());
    cp.head = head.to_owned();
    cp.conflicts = conflicts.to_vec();
    let _ = contain::sync_worktree_index(&ws.layout, cp);
    cp.save(&ws.layout, &ws.redactor)?;
    ws.record(Payload::StepRebased {
        at: StepAt::new(&cp.step, &cp.bead),
        from: old_base.to_owned(),
        onto: new_base.to_owned(),
        head: head.to_owned(),
        conflicts: conflicts.to_vec(),
    })?;
    Ok(())
}

/// Replays a waiting step on the current tip of its base branch and reruns the gates. The
/// replay is computed in memory (`git merge-tree`) and committed with plumbing, as one commit
/// on the new base; nothing in the worktree's own git state is used. On a conflict the
/// replay, markers and all, goes to the harness to resolve (see [`rerun`]).
pub fn rebase(ws: &mut Workspace, step: &str, observer: &mut dyn Observer) -> Result<StepOutcome> {
    let (mut cp, enforcement, _lease) = begin(ws, step)?;
    if cp.head.is_empty() {
        return Err(Error::Refused {
            message: format!("{} has no commit to replay", cp.step),
            hint: format!("revise it (`forge revise {} --feedback ...`)", cp.step),
        });
    }
    let Some((new_base, merged)) = replay_target(ws, &cp)? else {
        return Err(Error::Refused {
            message: format!("{} is already based on the tip of {}", cp.step, cp.base_ref),
            hint: format!("approve it (`forge approve {}`)", cp.step),
        });
    };
    if !merged.conflicts.is_empty() {
        // The conflict goes to the agent, in a worktree on the new base.
        replay_with_conflicts(ws, &mut cp, &new_base, &merged)?;
        return rerun(ws, cp, None, &merged.conflicts, enforcement, observer);
    }
    let head = replay_clean(ws, &mut cp, &new_base, &merged)?;
    let git = contain::step_git(&ws.layout, &cp);
    let bead = BeadRepo::new(&ws.layout).load(&cp.bead)?;
    let diff = StepDiff::of(&git, &new_base, &head)?;
    let env = StepEnv::build(ws, &cp)?;
    let checked = check(ws, &mut cp, &bead, &diff, &env, enforcement, observer)?;
    Ok(StepOutcome::new(&cp, Some(&diff), checked.into()))
}
