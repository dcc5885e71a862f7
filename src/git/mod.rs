//! Repository access. libgit2 for reading; the `git` CLI (in `cli/`) wherever the
//! user's own configuration must apply (hooks, signing, merges).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub mod cli;

#[derive(Debug, Clone)]
pub struct RepoPaths {
    /// Top of the working tree forge runs in (a linked worktree's own top, if in one).
    pub workdir: PathBuf,
    /// The common git directory shared by all worktrees.
    pub common_dir: PathBuf,
}

/// Finds the repository containing `start`, like `git rev-parse --show-toplevel
/// --git-common-dir`.
pub fn discover(start: &Path) -> Result<(git2::Repository, RepoPaths)> {
    let repo = git2::Repository::discover(start).map_err(|e| match e.code() {
        git2::ErrorCode::NotFound => Error::NotGitRepository(start.to_owned()),
        _ => Error::Git(e),
    })?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| Error::BareRepository(repo.path().to_owned()))?;
    let workdir = strip_trailing_slash(workdir);
    let common_dir = strip_trailing_slash(repo.commondir());
    Ok((
        repo,
        RepoPaths {
            workdir,
            common_dir,
        },
    ))
}

fn strip_trailing_slash(p: &Path) -> PathBuf {
    p.components().collect()
}

/// "Name <email>" from the repository's git configuration, as git would commit it.
pub fn author(repo: &git2::Repository) -> Option<String> {
    let config = repo.config().ok()?;
    let name = config.get_string("user.name").ok();
    let email = config.get_string("user.email").ok();
    match (name, email) {
        (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
        (Some(n), None) => Some(n),
        (None, Some(e)) => Some(format!("<{e}>")),
        (None, None) => None,
    }
}
