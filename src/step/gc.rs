//! `forge gc`: remove the worktrees of finished steps without losing anything. Before a
//! worktree goes, everything in it (uncommitted changes and untracked files) is committed
//! to `refs/forge/attic/<step>` on top of the step branch's head, and afterwards forge
//! checks that the directory and git's registration of it are really gone.

use serde::Serialize;

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

#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    pub removed: Vec<Removed>,
    /// Worktrees kept because their step is not finished.
    pub kept: Vec<String>,
}

/// Saves a worktree's state to `refs/forge/attic/<step>` and returns the commit id. The
/// commit goes on top of the head forge recorded, never on what the worktree's own HEAD
/// says (the agent could have pointed it anywhere).
pub fn save_to_attic(layout: &Layout, cp: &Checkpoint) -> Result<String> {
    let worktree = layout.runtime.join(&cp.worktree);
    let index = layout.runtime.join(format!("attic-index-{}", cp.step));
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
    let worktree = layout.runtime.join(&cp.worktree);
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

/// Removes the worktrees of every finished step forge created; never touches others.
pub fn gc(layout: &Layout) -> Result<GcReport> {
    let mut report = GcReport::default();
    let dirs = worktree_dirs(layout);
    for cp in checkpoint::load_all(layout)? {
        let worktree = layout.runtime.join(&cp.worktree);
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
    // The directory beside the repository is forge's, and goes once it is empty.
    if let Some(beside) = super::worktrees_beside(layout) {
        let _ = std::fs::remove_dir(beside);
    }
    Ok(report)
}
