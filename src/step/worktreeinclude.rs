//! `.worktreeinclude` at the repository root: gitignore patterns naming the files a new
//! step worktree gets copied from the main checkout, beside `[worktree] copy`. Only files
//! git ignores are candidates (tracked files are in the worktree already, and untracked
//! ones would end up in the agent's commit), and only regular files inside the repository:
//! never a symlink, never anything through one that leaves the repository.

use std::path::{Component, Path};

use ignore::gitignore::GitignoreBuilder;

use crate::git::cli::Git;

pub const FILE: &str = ".worktreeinclude";

/// The files `.worktreeinclude` selects, relative to `root`; none without the file. Err is
/// the reason (the step fails with it, like a broken `[worktree] copy`).
pub fn files(root: &Path) -> Result<Vec<String>, String> {
    let path = root.join(FILE);
    // The file itself must be a regular file of the repository, not a symlink.
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_file() => {}
        _ => return Ok(Vec::new()),
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {FILE}: {e}"))?;
    let mut builder = GitignoreBuilder::new(root);
    for line in text.lines() {
        builder
            .add_line(None, line)
            .map_err(|e| format!("{FILE}: {e}"))?;
    }
    let matcher = builder.build().map_err(|e| format!("{FILE}: {e}"))?;
    if matcher.is_empty() {
        return Ok(Vec::new());
    }
    let ignored = Git::new(root)
        .hardened()
        .run(&[
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
        ])
        .map_err(|e| format!("listing ignored files for {FILE}: {e}"))?;
    let canonical_root = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    Ok(ignored
        .split('\0')
        .filter(|rel| plain_relative(rel))
        .filter(|rel| matcher.matched_path_or_any_parents(rel, false).is_ignore())
        .filter(|rel| regular_file_inside(&canonical_root, root, rel))
        .map(str::to_owned)
        .collect())
}

/// A relative path with no `..`, no root and no empty name.
fn plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// A regular file (not a symlink) whose real path is inside the repository.
fn regular_file_inside(canonical_root: &Path, root: &Path, rel: &str) -> bool {
    let path = root.join(rel);
    std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file())
        && path
            .canonicalize()
            .is_ok_and(|real| real.starts_with(canonical_root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths() {
        assert!(plain_relative(".env"));
        assert!(plain_relative("a/b.key"));
        assert!(!plain_relative(""));
        assert!(!plain_relative("/etc/passwd"));
        assert!(!plain_relative("../outside"));
        assert!(!plain_relative("a/../../outside"));
    }
}
