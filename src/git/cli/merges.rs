//! Merges: `git merge-tree` to merge without a worktree, merging into the checked-out
//! branch, reverting a merge, and the unmerged entries a conflicted merge leaves.

use super::Git;
use crate::error::{Error, Result};

/// The outcome of a merge computed without touching any working tree.
#[derive(Debug, Clone)]
pub struct MergeTree {
    pub tree: String,
    /// Conflicted paths; empty when the merge is clean.
    pub conflicts: Vec<String>,
}

impl Git {
    /// Merges `theirs` into `ours` in memory (`git merge-tree --write-tree`). With
    /// `merge_base`, that commit is used as the base (a revert is a merge whose base is the
    /// commit being reverted).
    pub fn merge_tree(
        &self,
        ours: &str,
        theirs: &str,
        merge_base: Option<&str>,
    ) -> Result<MergeTree> {
        let mut args = vec!["merge-tree", "--write-tree", "--name-only", "--no-messages"];
        let base_arg;
        if let Some(base) = merge_base {
            base_arg = format!("--merge-base={base}");
            args.push(&base_arg);
        }
        args.push(ours);
        args.push(theirs);
        let out = self
            .command(&args)
            .output()
            .map_err(|e| Error::io("git", e))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = stdout.lines();
        let tree = lines.next().unwrap_or("").trim().to_owned();
        match out.status.code() {
            Some(0) => Ok(MergeTree {
                tree,
                conflicts: Vec::new(),
            }),
            Some(1) => Ok(MergeTree {
                tree,
                conflicts: lines.filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            }),
            _ => Err(Error::GitCommand {
                command: format!("git {}", args.join(" ")),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            }),
        }
    }

    /// `git merge --no-ff` of `commit` into the branch checked out here, with the user's own
    /// configuration (identity, signing, hooks).
    pub fn merge_no_ff(&self, commit: &str, message: &str) -> Result<()> {
        self.run(&[
            "merge",
            "--no-ff",
            "--no-edit",
            "--quiet",
            "-m",
            message,
            commit,
        ])?;
        Ok(())
    }

    /// `git revert -m 1` of a merge commit into the branch checked out here.
    pub fn revert_merge(&self, merge: &str, message: &str) -> Result<()> {
        self.run(&["revert", "--no-commit", "-m", "1", merge])?;
        self.run(&["commit", "--quiet", "-m", message])?;
        Ok(())
    }
}

/// One entry of `git ls-files -u`: a path with unmerged stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmergedEntry {
    /// 1 base, 2 ours, 3 theirs.
    pub stage: u8,
    pub oid: String,
    pub path: String,
}

impl Git {
    /// Unmerged index entries under `pathspec`.
    pub fn unmerged(&self, pathspec: &str) -> Result<Vec<UnmergedEntry>> {
        let out = self.run(&["ls-files", "-u", "-z", "--", pathspec])?;
        Ok(out
            .split('\0')
            .filter_map(|entry| {
                let (meta, path) = entry.split_once('\t')?;
                let mut parts = meta.split(' ');
                let _mode = parts.next()?;
                let oid = parts.next()?.to_owned();
                let stage = parts.next()?.parse().ok()?;
                Some(UnmergedEntry {
                    stage,
                    oid,
                    path: path.to_owned(),
                })
            })
            .collect())
    }
}
