//! Revising a step with a person's feedback, and replaying it on a moved base.

use serde_json::json;

use super::checkpoint::{Checkpoint, State};
use super::run::{Observer, StepOutcome, check_and_wait, execute, harness_config};
use super::{contain, lease, prompt};
use crate::bead::repo::BeadRepo;
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::harness::adapter::Invocation;
use crate::harness::presets;
use crate::workspace::Workspace;

fn revisable(ws: &Workspace, step: &str) -> Result<Checkpoint> {
    let cp = crate::approval::load_step(ws, step)?;
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
    if !ws.layout.runtime.join(&cp.worktree).is_dir() {
        return Err(Error::Refused {
            message: format!("the worktree of {} is gone", cp.step),
            hint: format!("start a new attempt with `forge step {}`", cp.bead),
        });
    }
    Ok(cp)
}

/// Sends `feedback` to the same harness session when the adapter can resume it (otherwise a
/// fresh run whose prompt includes it), commits on the same branch, reruns the gates.
pub fn revise(
    ws: &mut Workspace,
    step: &str,
    feedback: &str,
    observer: &mut dyn Observer,
) -> Result<StepOutcome> {
    if feedback.trim().is_empty() {
        return Err(Error::usage("a revision needs feedback (--feedback TEXT)"));
    }
    let mut cp = revisable(ws, step)?;
    let enforcement = contain::enforcement(ws)?;
    let Some(_lease) = lease::try_take(&ws.layout, &cp.bead)? else {
        return Err(Error::Refused {
            message: format!("{} is being worked on by another forge process", cp.bead),
            hint: "see `forge steps`".into(),
        });
    };
    let (_, hc) = harness_config(ws, Some(&cp.harness))?;
    let adapter = presets::by_name(&hc.preset).expect("checked by harness_config");
    let bead = BeadRepo::new(&ws.layout).load(&cp.bead)?;
    let resume = (adapter.can_resume() && !cp.session_id.is_empty()).then(|| cp.session_id.clone());
    ws.record(
        "step.revise",
        json!({ "step": cp.step, "bead": cp.bead, "feedback": feedback, "by": ws.actor, "resume_session": resume }),
    )?;
    let text = match &resume {
        // The session already has the task; it only needs the feedback and the rules again.
        Some(_) => format!(
            "A reviewer asked for changes:\n\n{feedback}\n\nRules, as before:\n{}\n",
            prompt::RULES
        ),
        None => prompt::render(None, &bead, &[format!("reviewer: {feedback}")]),
    };
    let inv = Invocation {
        prompt: text,
        model: hc.model.clone(),
        extra_args: hc.args.clone(),
        resume_session: resume,
        command: hc.command.clone(),
    };
    execute(ws, &mut cp, &bead, &hc, inv, None, enforcement, observer)
}

/// Replays a waiting step on the current tip of its base branch and reruns the gates. On a
/// conflict the replay is abandoned and the step stays as it was. The replay is computed in
/// memory (`git merge-tree`) and committed with plumbing, as one commit on the new base;
/// nothing in the worktree's own git state is used.
pub fn rebase(ws: &mut Workspace, step: &str, observer: &mut dyn Observer) -> Result<StepOutcome> {
    let mut cp = revisable(ws, step)?;
    let enforcement = contain::enforcement(ws)?;
    let Some(_lease) = lease::try_take(&ws.layout, &cp.bead)? else {
        return Err(Error::Refused {
            message: format!("{} is being worked on by another forge process", cp.bead),
            hint: "see `forge steps`".into(),
        });
    };
    if cp.head.is_empty() {
        return Err(Error::Refused {
            message: format!("{} has no commit to replay", cp.step),
            hint: format!("revise it (`forge revise {} --feedback ...`)", cp.step),
        });
    }
    let main = Git::new(&ws.layout.root);
    let new_base = main.rev_parse(&cp.base_ref)?;
    let git = contain::step_git(&ws.layout, &cp);
    let merged = git.merge_tree(&new_base, &cp.head, Some(&cp.base_commit))?;
    if !merged.conflicts.is_empty() {
        return Err(Error::Refused {
            message: format!(
                "{} does not replay cleanly on {}: {}",
                cp.step,
                cp.base_ref,
                merged.conflicts.join(", ")
            ),
            hint: format!(
                "revise it (`forge revise {} --feedback ...`) or reject it",
                cp.step
            ),
        });
    }
    let message = git.run(&["log", "-1", "--format=%B", &cp.head])?;
    let head = git
        .as_forge(&format!("forge ({})", cp.harness))
        .commit_tree(&merged.tree, &[&new_base], message.trim_end())?;
    git.update_ref(&format!("refs/heads/{}", cp.branch), &head, Some(&cp.head))?;
    // The worktree follows, so that a later revision starts from the replayed files.
    if git
        .run(&["read-tree", "-m", "-u", &cp.head, &head])
        .is_err()
    {
        git.run(&["read-tree", "--reset", "-u", &head])?;
    }
    let old_base = std::mem::replace(&mut cp.base_commit, new_base.clone());
    cp.head = head.clone();
    let _ = contain::sync_worktree_index(&ws.layout, &cp);
    ws.record(
        "step.rebased",
        json!({ "step": cp.step, "bead": cp.bead, "from": old_base, "onto": new_base, "head": head }),
    )?;
    let bead = BeadRepo::new(&ws.layout).load(&cp.bead)?;
    let files = git.changed_files(&new_base, &head)?;
    let diffstat = git.diffstat(&new_base, &head)?;
    check_and_wait(ws, &mut cp, &bead, files, diffstat, enforcement, observer)
}
