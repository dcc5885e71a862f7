//! Worktrees and what is changed in one: adding, listing, removing and pruning linked
//! worktrees, the worktree a branch is checked out in, dirty paths and staged changes.

use std::path::{Path, PathBuf};

use super::Git;
use crate::error::Result;

/// git's worktree commands read every linked worktree's admin directory, and fail on one
/// another `git worktree add` is still making ("failed to read .../commondir"). The steps
/// of a tick with several jobs are threads of one process: they take turns here.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Git {
    /// A new worktree on a new branch, made without the repository's hooks
    /// (`post-checkout`): it is forge's, not the user's.
    pub fn worktree_add(&self, path: &Path, branch: &str, commit: &str) -> Result<()> {
        let path = path.to_string_lossy();
        let _turn = one_at_a_time();
        self.clone()
            .hardened()
            .run(&["worktree", "add", "--quiet", "-b", branch, &path, commit])?;
        Ok(())
    }

    pub fn worktree_remove(&self, path: &Path) -> Result<()> {
        let path = path.to_string_lossy();
        let _turn = one_at_a_time();
        self.run(&["worktree", "remove", "--force", "--force", &path])?;
        Ok(())
    }

    /// The working tree where `branch` (a full ref) is checked out, if any: the main one,
    /// or a linked worktree of the user's. Entries a harness could have forged (git takes
    /// a linked worktree's path and branch from its admin directory, which a step's harness
    /// may write) are ignored: anything under the common directory, where forge keeps its
    /// worktrees and the harnesses' scratch space, and anything without a `.git` file.
    pub fn worktree_of_branch(&self, branch: &str) -> Result<Option<PathBuf>> {
        let common = self.run(&["rev-parse", "--path-format=absolute", "--git-common-dir"])?;
        let common = PathBuf::from(common.trim());
        let listing = {
            let _turn = one_at_a_time();
            self.run(&["worktree", "list", "--porcelain"])?
        };
        let mut current: Option<PathBuf> = None;
        let mut first = true;
        for line in listing.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                let path = PathBuf::from(p);
                let linked_ok = !path.starts_with(&common)
                    && std::fs::symlink_metadata(path.join(".git")).is_ok_and(|m| m.is_file());
                current = (first || linked_ok).then_some(path);
                first = false;
            } else if line.strip_prefix("branch ") == Some(branch)
                && let Some(dir) = current.take()
            {
                return Ok(Some(dir));
            }
        }
        Ok(None)
    }
}

/// One entry of `git worktree list --porcelain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeEntry {
    pub path: PathBuf,
    /// git's own judgement that the directory is gone.
    pub prunable: bool,
}

impl Git {
    /// Every registered worktree, with git's judgement of whether it is gone.
    pub fn worktree_entries(&self) -> Result<Vec<WorktreeEntry>> {
        let mut entries: Vec<WorktreeEntry> = Vec::new();
        let listing = {
            let _turn = one_at_a_time();
            self.run(&["worktree", "list", "--porcelain"])?
        };
        for line in listing.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                entries.push(WorktreeEntry {
                    path: PathBuf::from(p),
                    prunable: false,
                });
            } else if line.starts_with("prunable")
                && let Some(last) = entries.last_mut()
            {
                last.prunable = true;
            }
        }
        Ok(entries)
    }

    /// `git worktree prune`: forgets worktrees whose directory is gone.
    pub fn worktree_prune(&self) -> Result<()> {
        let _turn = one_at_a_time();
        self.run(&["worktree", "prune"])?;
        Ok(())
    }

    /// Paths with uncommitted changes (staged, unstaged or untracked), and whether anything
    /// is staged.
    pub fn dirty_paths(&self) -> Result<(Vec<String>, bool)> {
        let out = self.run(&["status", "--porcelain=v1", "-z", "--untracked-files=all"])?;
        let mut paths = Vec::new();
        let mut staged = false;
        let mut entries = out.split('\0').filter(|e| !e.is_empty());
        while let Some(entry) = entries.next() {
            let (code, path) = entry.split_at(3.min(entry.len()));
            let x = code.as_bytes().first().copied().unwrap_or(b' ');
            if x != b' ' && x != b'?' {
                staged = true;
            }
            paths.push(path.to_owned());
            if x == b'R' || x == b'C' {
                // Renames carry the old path as a second entry.
                if let Some(old) = entries.next() {
                    paths.push(old.to_owned());
                }
            }
        }
        Ok((paths, staged))
    }
}

/// What `git diff --cached --name-status` says happened to a staged path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagedChange {
    Added,
    Modified,
    Deleted,
    /// Type changes and anything else git may report.
    Other,
}

impl Git {
    /// Staged changes under `pathspec` compared with HEAD (with every staged file as added
    /// before the first commit), without rename detection.
    pub fn staged_changes(&self, pathspec: &str) -> Result<Vec<(StagedChange, String)>> {
        let out = self.run(&[
            "diff",
            "--cached",
            "--name-status",
            "--no-renames",
            "-z",
            "--",
            pathspec,
        ])?;
        let mut fields = out.split('\0').filter(|s| !s.is_empty());
        let mut changes = Vec::new();
        while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
            let change = match status.as_bytes().first() {
                Some(b'A') => StagedChange::Added,
                Some(b'M') => StagedChange::Modified,
                Some(b'D') => StagedChange::Deleted,
                _ => StagedChange::Other,
            };
            changes.push((change, path.to_owned()));
        }
        Ok(changes)
    }
}
