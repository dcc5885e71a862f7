//! The ledger as committed: which ledger files a range of commits changed, and their
//! contents at any commit. Read with libgit2, so a range of a thousand commits costs no
//! thousand processes.
//!
//! A range is written like git's: `BASE..HEAD` (commits reachable from HEAD but not from
//! BASE), `BASE...HEAD` (from the merge base of the two), `BASE..` or a bare `BASE` (up to
//! `HEAD`). Without one, the base is the merge base of `HEAD` with the default branch, the
//! first of `origin/HEAD`, `main`, `master`, `origin/main`, `origin/master` that exists; when
//! none does, the range is the whole history.

use git2::{Oid, Repository, Tree};
use serde::Serialize;

use crate::error::{Error, Result};

/// The ledger directory, relative to the top of the working tree.
pub const LEDGER_DIR: &str = ".forge/ledger";

/// Where the default range starts, in order of preference.
pub const DEFAULT_BRANCHES: [&str; 5] = [
    "origin/HEAD",
    "main",
    "master",
    "origin/main",
    "origin/master",
];

/// A resolved range of commits.
#[derive(Debug, Clone, Serialize)]
pub struct Range {
    /// As given, or how the default was found (`main...HEAD`).
    pub spec: String,
    /// Commits reachable from here are outside the range; None: the whole history.
    pub base: Option<String>,
    pub head: String,
}

impl Range {
    pub fn base_oid(&self) -> Option<Oid> {
        self.base.as_deref().and_then(|b| Oid::from_str(b).ok())
    }

    pub fn head_oid(&self) -> Oid {
        Oid::from_str(&self.head).expect("resolved ranges hold full commit ids")
    }
}

fn commit_of(repo: &Repository, rev: &str) -> Result<Oid> {
    let rev = if rev.is_empty() { "HEAD" } else { rev };
    let object = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| Error::usage(format!("'{rev}' is not a commit here: {}", e.message())))?;
    Ok(object.id())
}

/// Resolves `spec`, or the default range when it is None or empty.
pub fn resolve_range(repo: &Repository, spec: Option<&str>) -> Result<Range> {
    let spec = spec.map(str::trim).filter(|s| !s.is_empty());
    let Some(spec) = spec else {
        return default_range(repo);
    };
    let (base, head) = if let Some((a, b)) = spec.split_once("...") {
        let (a, b) = (commit_of(repo, a)?, commit_of(repo, b)?);
        (merge_base(repo, a, b)?, b)
    } else if let Some((a, b)) = spec.split_once("..") {
        (Some(commit_of(repo, a)?), commit_of(repo, b)?)
    } else {
        (Some(commit_of(repo, spec)?), commit_of(repo, "HEAD")?)
    };
    Ok(Range {
        spec: spec.to_owned(),
        base: base.map(|b| b.to_string()),
        head: head.to_string(),
    })
}

fn merge_base(repo: &Repository, a: Oid, b: Oid) -> Result<Option<Oid>> {
    match repo.merge_base(a, b) {
        Ok(oid) => Ok(Some(oid)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// From the merge base of HEAD and the default branch; the whole history without one.
pub fn default_range(repo: &Repository) -> Result<Range> {
    let head = commit_of(repo, "HEAD")?;
    for name in DEFAULT_BRANCHES {
        let Ok(branch) = repo.revparse_single(name).and_then(|o| o.peel_to_commit()) else {
            continue;
        };
        let base = merge_base(repo, branch.id(), head)?;
        return Ok(Range {
            spec: format!("{name}...HEAD"),
            base: base.map(|b| b.to_string()),
            head: head.to_string(),
        });
    }
    Ok(Range {
        spec: "HEAD (whole history)".into(),
        base: None,
        head: head.to_string(),
    })
}

/// Commits in the range, parents before children.
pub fn commits(repo: &Repository, range: &Range) -> Result<Vec<Oid>> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
    walk.push(range.head_oid())?;
    if let Some(base) = range.base_oid() {
        walk.hide(base)?;
    }
    Ok(walk.collect::<std::result::Result<Vec<_>, _>>()?)
}

/// The ledger directory's tree in a commit, if it has one.
pub fn ledger_tree(repo: &Repository, commit: Oid) -> Result<Option<Tree<'_>>> {
    let tree = repo.find_commit(commit)?.tree()?;
    let entry = match tree.get_path(std::path::Path::new(LEDGER_DIR)) {
        Ok(e) => e,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(entry.to_object(repo)?.into_tree().ok())
}

/// How one ledger file differs between two commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Relative to the top of the working tree (`.forge/ledger/2026-11/<run>.jsonl`).
    pub path: String,
    /// The blob before; None when the file was added.
    pub old: Option<Oid>,
    /// The blob after; None when the file was deleted (or is no longer a regular file).
    pub new: Option<Oid>,
}

/// Ledger files (`<run>.jsonl` under the ledger directory, see
/// [`super::is_ledger_file_name`]) that differ between two ledger trees. Renames are not
/// detected: a renamed file is one deleted and one added.
pub fn changes(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
) -> Result<Vec<FileChange>> {
    if old.map(Tree::id) == new.map(Tree::id) {
        return Ok(Vec::new());
    }
    let mut opts = git2::DiffOptions::new();
    opts.include_typechange(true).ignore_submodules(true);
    let diff = repo.diff_tree_to_tree(old, new, Some(&mut opts))?;
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let (of, nf) = (delta.old_file(), delta.new_file());
        let Some(rel) = nf.path().or_else(|| of.path()) else {
            continue;
        };
        let name = rel.file_name().and_then(|n| n.to_str());
        if !name.is_some_and(super::is_ledger_file_name) {
            continue;
        }
        let blob = |f: &git2::DiffFile<'_>| {
            (f.exists()
                && matches!(
                    f.mode(),
                    git2::FileMode::Blob | git2::FileMode::BlobExecutable
                ))
            .then(|| f.id())
        };
        let change = FileChange {
            path: format!("{LEDGER_DIR}/{}", rel.to_string_lossy()),
            old: blob(&of),
            new: blob(&nf),
        };
        // A symlink that became a file shows as a typechange whose old side is no blob.
        if change.old.is_some() || change.new.is_some() {
            out.push(change);
        }
    }
    Ok(out)
}

/// A blob's bytes.
pub fn blob(repo: &Repository, oid: Oid) -> Result<Vec<u8>> {
    Ok(repo.find_blob(oid)?.content().to_vec())
}

/// A file's bytes at a commit, if it exists there.
pub fn file_at(repo: &Repository, commit: Oid, path: &str) -> Result<Option<Vec<u8>>> {
    let tree = repo.find_commit(commit)?.tree()?;
    let entry = match tree.get_path(std::path::Path::new(path)) {
        Ok(e) => e,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(entry
        .to_object(repo)?
        .into_blob()
        .ok()
        .map(|b| b.content().to_vec()))
}

/// The complete lines of a file's bytes (without newlines) and whether a torn tail follows.
pub fn split_lines(bytes: &[u8]) -> (Vec<&[u8]>, bool) {
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let lines = match bytes[..end].split_last() {
        Some((_newline, body)) => body.split(|&b| b == b'\n').collect(),
        None => Vec::new(),
    };
    (lines, end < bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_like_the_reader() {
        assert_eq!(split_lines(b"a\nb\n"), (vec![&b"a"[..], &b"b"[..]], false));
        assert_eq!(split_lines(b"a\nhalf"), (vec![&b"a"[..]], true));
        assert_eq!(split_lines(b""), (vec![], false));
        assert_eq!(split_lines(b"\n"), (vec![&b""[..]], false));
    }
}
