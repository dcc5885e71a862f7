//! Where the `.forge/` changes of many machines meet: one state ref per base branch on the
//! remote, `refs/forge/state/<base>`.
//!
//! A release (and a tick's last publish) adds the files its step produced, its checkpoint
//! and its ledger run files, on top of the state ref's tip as this clone fetched it, and
//! pushes the new commit under a lease on that tip, atomically with the claim's release
//! and the step branch. When another clone advanced the state first, the lease fails,
//! nothing is updated, and the release fetches the new tip and builds again on it.
//!
//! Why that never loses an update: each machine adds only files no other machine writes.
//! A checkpoint is one file per step, and a step id belongs to the claim that named it
//! (the claim's attempt is past every attempt in its history); a ledger file is one per
//! run, and runs are one process's. So rebuilding on a newer tip only ever adds this
//! clone's files to another clone's, never replaces another clone's version of a file, and
//! the lease makes sure no tip is built on without being seen. A file that only grows (a
//! ledger run file published once at release and again at the end of the tick) is always
//! replaced by a longer version of itself: one clone's pushes are serialised by its remote
//! lock, and each reads the file afresh.
//!
//! The state ref starts from the base commit and changes nothing outside `.forge/`, so it
//! merges into the base branch without conflicts (`git fetch origin refs/forge/state/main
//! && git merge FETCH_HEAD`), and `forge ledger verify --range BASE..STATE` checks it.
//! Base branches stay the people's (and the merge queue's): forge never pushes to them
//! from a tick.

use crate::error::Result;
use crate::git::cli::Git;
use crate::store::Layout;

/// A commit on `tip` (or `base_commit` when there is no state yet) whose tree is the
/// parent's with `files` as they are in the working tree; None when they are there already.
pub fn commit_over(
    git: &Git,
    layout: &Layout,
    tip: Option<&str>,
    base_commit: &str,
    files: &[String],
    message: &str,
) -> Result<Option<String>> {
    let files: Vec<String> = files
        .iter()
        .filter(|f| layout.root.join(f).is_file())
        .cloned()
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    let parent = tip.unwrap_or(base_commit);
    let index = layout.runtime.join("remote-state.index");
    let tree = git.tree_with_files(Some(parent), &files, &index)?;
    if tree == git.rev_parse_tree(parent)? {
        return Ok(None);
    }
    Ok(Some(git.as_forge("forge").commit_tree(
        &tree,
        &[parent],
        message,
    )?))
}

/// `path` relative to the working tree, for the state's file list.
pub fn relative(layout: &Layout, path: &std::path::Path) -> Option<String> {
    path.strip_prefix(&layout.root)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}
