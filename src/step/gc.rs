//! `forge gc`: remove the worktrees of finished steps without losing anything. Before a
//! worktree goes, everything in it (uncommitted changes and untracked files) is committed
//! to `refs/forge/attic/<step>` on top of the step branch's head, and afterwards forge
//! checks that the directory and git's registration of it are really gone.
//!
//! The branches of finished steps (merged, rejected, rolled back, or failed and then
//! superseded by a later attempt) go too, once their head is safe: reachable from the base
//! branch or from the attic ref (made first if needed). A branch that moved away from the
//! head forge recorded is someone's work and stays; the delete is a compare-and-swap.

use serde::Serialize;

use super::State;
use super::checkpoint::{self, Checkpoint};
use super::worktree_dirs;
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::store::Layout;

#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub step: String,
    pub worktree: String,
    /// The attic commit that keeps the worktree's last state.
    pub attic: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeletedBranch {
    pub step: String,
    pub branch: String,
    /// The commit the branch pointed at.
    pub head: String,
    /// Where that commit stays reachable: the base branch or the step's attic ref.
    pub kept_in: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeptBranch {
    pub step: String,
    pub branch: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    pub removed: Vec<Removed>,
    /// Worktrees kept because their step is not finished.
    pub kept: Vec<String>,
    /// Branches of finished steps, deleted because their head is safe elsewhere.
    pub deleted_branches: Vec<DeletedBranch>,
    /// Branches of finished steps that forge left alone, and why.
    pub kept_branches: Vec<KeptBranch>,
}

const ZERO: &str = "0000000000000000000000000000000000000000";

/// Saves a worktree's state to `refs/forge/attic/<step>` and returns the commit id. The
/// commit goes on top of the head forge recorded, never on what the worktree's own HEAD
/// says (the agent could have pointed it anywhere).
pub fn save_to_attic(layout: &Layout, cp: &Checkpoint) -> Result<String> {
    let worktree = layout.step_worktree(&cp.worktree);
    let index = layout.attic_index(&cp.step);
    let _ = std::fs::remove_file(&index);
    let git = Git::pinned(&layout.common_dir(), &worktree, &index);
    let parent = if cp.head.is_empty() {
        &cp.base_commit
    } else {
        &cp.head
    };
    let commit = git.snapshot_commit(
        parent,
        &format!("forge attic: worktree of step {} ({})", cp.step, cp.state),
    );
    let _ = std::fs::remove_file(&index);
    let commit = commit?;
    Git::new(&layout.root).hardened().update_ref(
        &format!("refs/forge/attic/{}", cp.step),
        &commit,
        None,
    )?;
    Ok(commit)
}

/// Removes the worktree of one step after saving it to the attic.
pub fn remove_worktree(layout: &Layout, cp: &Checkpoint) -> Result<Removed> {
    let worktree = layout.step_worktree(&cp.worktree);
    let attic = save_to_attic(layout, cp)?;
    let main = Git::new(&layout.root);
    main.worktree_remove(&worktree)?;
    if worktree.exists() || main.worktree_entries()?.iter().any(|e| e.path == worktree) {
        return Err(Error::Refused {
            message: format!("the worktree of {} is still there after removal", cp.step),
            hint: format!("its state is safe in refs/forge/attic/{}", cp.step),
        });
    }
    Ok(Removed {
        step: cp.step.clone(),
        worktree: worktree.display().to_string(),
        attic,
    })
}

/// Whether nothing more will happen on the step's branch: merged, rejected or rolled back,
/// or failed (interrupted) with a later attempt of its bead after it.
fn branch_done(cp: &Checkpoint, all: &[Checkpoint]) -> bool {
    match cp.state {
        State::Merged | State::Rejected | State::RolledBack => true,
        State::Failed | State::Interrupted => all
            .iter()
            .any(|c| c.bead == cp.bead && c.attempt > cp.attempt),
        _ => false,
    }
}

/// Branches checked out in any worktree (`refs/heads/...`).
fn checked_out(git: &Git) -> Result<Vec<String>> {
    Ok(git
        .run(&["worktree", "list", "--porcelain"])?
        .lines()
        .filter_map(|l| l.strip_prefix("branch ").map(str::to_owned))
        .collect())
}

/// Deletes the branch of a finished step if its head is safe; None when there is no such
/// branch (already deleted).
fn delete_branch(
    git: &Git,
    cp: &Checkpoint,
    busy: &[String],
) -> Result<Option<std::result::Result<DeletedBranch, KeptBranch>>> {
    let refname = format!("refs/heads/{}", cp.branch);
    let Ok(now) = git.rev_parse(&refname) else {
        return Ok(None);
    };
    let kept = |reason: String| {
        Ok(Some(Err(KeptBranch {
            step: cp.step.clone(),
            branch: cp.branch.clone(),
            reason,
        })))
    };
    let recorded = if cp.head.is_empty() {
        &cp.base_commit
    } else {
        &cp.head
    };
    if &now != recorded {
        return kept(format!(
            "it moved since the step (now {}, the step left it at {})",
            short(&now),
            short(recorded)
        ));
    }
    if busy.contains(&refname) {
        return kept("it is checked out in a worktree".into());
    }
    let attic_ref = format!("refs/forge/attic/{}", cp.step);
    let attic = git.rev_parse(&attic_ref).ok();
    // Where the head stays reachable, and whether the attic ref must be made for that.
    let (kept_in, make_attic) = if !cp.base_ref.is_empty() && git.is_ancestor(&now, &cp.base_ref)? {
        (cp.base_ref.clone(), false)
    } else {
        match &attic {
            Some(a) if git.is_ancestor(&now, a)? => (attic_ref.clone(), false),
            Some(_) => {
                return kept(format!(
                    "its head is neither on {} nor in {attic_ref}",
                    cp.base_ref
                ));
            }
            None => (attic_ref.clone(), true),
        }
    };
    // One transaction: the attic ref (if new) appears exactly when the branch goes.
    let mut updates = vec![(refname.as_str(), ZERO, Some(now.as_str()))];
    if make_attic {
        updates.insert(0, (attic_ref.as_str(), now.as_str(), None));
    }
    git.update_refs(&updates)?;
    Ok(Some(Ok(DeletedBranch {
        step: cp.step.clone(),
        branch: cp.branch.clone(),
        head: now,
        kept_in,
    })))
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Removes the worktrees of every finished step forge created, and the branches of
/// finished steps whose work is safe; never touches others.
pub fn gc(layout: &Layout) -> Result<GcReport> {
    let mut report = GcReport::default();
    let dirs = worktree_dirs(layout);
    let all = checkpoint::load_all(layout)?;
    for cp in all.iter().cloned() {
        let worktree = layout.step_worktree(&cp.worktree);
        // Only worktrees under forge's own directories, named in a checkpoint, are forge's.
        if !dirs.iter().any(|d| worktree.starts_with(d)) || !worktree.exists() {
            continue;
        }
        if cp.state.is_finished() {
            report.removed.push(remove_worktree(layout, &cp)?);
        } else {
            report.kept.push(cp.step.clone());
        }
    }
    let git = Git::new(&layout.root).hardened();
    let busy = checked_out(&git)?;
    for cp in all.iter().filter(|c| branch_done(c, &all)) {
        // Only forge's own step branches.
        if !cp.branch.starts_with("forge/") {
            continue;
        }
        match delete_branch(&git, cp, &busy)? {
            Some(Ok(deleted)) => report.deleted_branches.push(deleted),
            Some(Err(kept)) => report.kept_branches.push(kept),
            None => {}
        }
    }
    // The directory beside the repository is forge's, and goes once it is empty.
    if let Some(beside) = super::worktrees_beside(layout) {
        let _ = std::fs::remove_dir(beside);
    }
    Ok(report)
}
