//! Revising a step with a person's feedback, and replaying it on a moved base.

use serde_json::json;

use super::checkpoint::{Checkpoint, State};
use super::run::{Observer, StepOutcome, check_and_wait, execute, harness_config};
use super::{lease, prompt};
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
    execute(ws, &mut cp, &bead, &hc, inv, None, observer)
}

/// Replays a waiting step on the current tip of its base branch and reruns the gates. On a
/// conflict the replay is abandoned and the step stays as it was.
pub fn rebase(ws: &mut Workspace, step: &str, observer: &mut dyn Observer) -> Result<StepOutcome> {
    let mut cp = revisable(ws, step)?;
    let Some(_lease) = lease::try_take(&ws.layout, &cp.bead)? else {
        return Err(Error::Refused {
            message: format!("{} is being worked on by another forge process", cp.bead),
            hint: "see `forge steps`".into(),
        });
    };
    let main = Git::new(&ws.layout.root);
    let new_base = main.rev_parse(&cp.base_ref)?;
    let wt = Git::new(&ws.layout.runtime.join(&cp.worktree));
    if let Err(e) = wt.run(&["rebase", "--quiet", "--onto", &new_base, &cp.base_commit]) {
        let conflicts = wt
            .run(&["diff", "--name-only", "--diff-filter=U"])
            .unwrap_or_default();
        let _ = wt.run(&["rebase", "--abort"]);
        return Err(Error::Refused {
            message: format!(
                "{} does not replay cleanly on {}: {}",
                cp.step,
                cp.base_ref,
                if conflicts.trim().is_empty() {
                    e.to_string()
                } else {
                    conflicts.lines().collect::<Vec<_>>().join(", ")
                }
            ),
            hint: format!(
                "revise it (`forge revise {} --feedback ...`) or reject it",
                cp.step
            ),
        });
    }
    let head = wt.rev_parse("HEAD")?;
    let old_base = std::mem::replace(&mut cp.base_commit, new_base.clone());
    cp.head = head.clone();
    ws.record(
        "step.rebased",
        json!({ "step": cp.step, "bead": cp.bead, "from": old_base, "onto": new_base, "head": head }),
    )?;
    let bead = BeadRepo::new(&ws.layout).load(&cp.bead)?;
    let files = wt.changed_files(&new_base, &head)?;
    let diffstat = wt.diffstat(&new_base, &head)?;
    check_and_wait(ws, &mut cp, &bead, files, diffstat, observer)
}
