//! Checking that committed ledger files only ever grew: across every commit of a range,
//! against each of its parents, no ledger line was rewritten and no ledger file was
//! truncated, deleted or renamed; and every committed version's hash chain holds.
//!
//! A merge commit is compared with each parent in turn: a file present in a parent must be
//! a prefix of the file in the merge, so bringing in files that another branch added is
//! fine. Each distinct version of a file is chain-checked once, and a version that extends
//! an already-checked one is checked from where that one ended, so a file appended to by a
//! thousand commits is read about once, not a thousand times.

use std::collections::HashMap;
use std::path::Path;

use git2::{Oid, Repository};
use serde::Serialize;

use super::history::{self, FileChange, Range};
use super::verify::Chain;
use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct HistoryProblem {
    /// The commit that made the change.
    pub commit: String,
    /// The parent it was compared with; None for a root commit or a broken chain.
    pub parent: Option<String>,
    pub file: String,
    /// 1-based line number in the file.
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    pub range: Range,
    /// Commits checked.
    pub commits: usize,
    /// Distinct committed versions of ledger files whose chains were checked.
    pub versions: usize,
    /// Lines read while checking those chains.
    pub lines: usize,
    pub problems: Vec<HistoryProblem>,
}

impl HistoryReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A checked version of a file: where its chain ended, and the length of its complete lines.
struct Checked {
    chain: Chain,
    complete_len: usize,
}

struct Checker<'r> {
    repo: &'r Repository,
    /// Keyed by path and blob: a chain depends on the file's name (its run id).
    checked: HashMap<(String, Oid), Checked>,
    lines: usize,
    problems: Vec<HistoryProblem>,
}

/// Where `old` and `new` first differ, as a 1-based line number of `old`, and whether `new`
/// is shorter (a truncation) rather than different.
fn first_difference(old: &[u8], new: &[u8]) -> Option<(usize, bool)> {
    if new.starts_with(old) {
        return None;
    }
    let at = old
        .iter()
        .zip(new.iter())
        .position(|(a, b)| a != b)
        .unwrap_or(new.len());
    let line = old[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    Some((line, at == new.len()))
}

fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + usize::from(!bytes.ends_with(b"\n"))
        - usize::from(bytes.is_empty())
}

impl Checker<'_> {
    fn problem(
        &mut self,
        commit: Oid,
        parent: Option<Oid>,
        file: &str,
        line: usize,
        message: String,
    ) {
        self.problems.push(HistoryProblem {
            commit: commit.to_string(),
            parent: parent.map(|p| p.to_string()),
            file: file.to_owned(),
            line,
            message,
        });
    }

    /// Compares one file of `commit` with the same file in `parent`; true when the parent
    /// had it and it grew (or stayed).
    fn growth(&mut self, commit: Oid, parent: Oid, change: &FileChange) -> Result<bool> {
        let short = &parent.to_string()[..12];
        match (change.old, change.new) {
            (Some(old), None) => {
                let lines = line_count(&history::blob(self.repo, old)?);
                self.problem(
                    commit,
                    Some(parent),
                    &change.path,
                    1,
                    format!(
                        "ledger file deleted or renamed ({lines} line(s) in parent {short}); committed ledger files are never removed"
                    ),
                );
                Ok(false)
            }
            (Some(old), Some(new)) => {
                let (old, new) = (
                    history::blob(self.repo, old)?,
                    history::blob(self.repo, new)?,
                );
                if let Some((line, truncated)) = first_difference(&old, &new) {
                    let message = if truncated {
                        format!(
                            "ledger file truncated: parent {short} had {} line(s), this commit keeps {}",
                            line_count(&old),
                            line - 1
                        )
                    } else {
                        format!("ledger line rewritten (it differs from parent {short})")
                    };
                    self.problem(commit, Some(parent), &change.path, line, message);
                    return Ok(false);
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Checks the chain of the version `new` of `path` introduced by `commit`, resuming from
    /// an already-checked version it extends (one of `olds`), if any.
    fn chain(&mut self, commit: Oid, path: &str, new: Oid, olds: &[Oid]) -> Result<()> {
        if self.checked.contains_key(&(path.to_owned(), new)) {
            return Ok(());
        }
        let bytes = history::blob(self.repo, new)?;
        // `olds` are prefixes of `bytes` (checked by `growth`).
        let resume = olds.iter().find_map(|old| {
            let c = self.checked.get(&(path.to_owned(), *old))?;
            Some((c.chain.clone(), c.complete_len))
        });
        let (mut chain, start) = resume.unwrap_or_else(|| (Chain::for_path(Path::new(path)), 0));
        let (lines, torn) = history::split_lines(&bytes[start..]);
        for line in &lines {
            self.lines += 1;
            let text = String::from_utf8_lossy(line);
            if let Some(message) = chain.push(&text) {
                self.problem(commit, None, path, chain.lines, message);
            }
        }
        if chain.lines == 0 && !torn {
            self.problem(
                commit,
                None,
                path,
                1,
                "empty ledger file committed: forge never leaves one".into(),
            );
        }
        let complete_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.checked.insert(
            (path.to_owned(), new),
            Checked {
                chain,
                complete_len,
            },
        );
        Ok(())
    }
}

/// Checks every commit in `range` against each of its parents.
pub fn verify_history(repo: &Repository, range: Range) -> Result<HistoryReport> {
    let commits = history::commits(repo, &range)?;
    let mut checker = Checker {
        repo,
        checked: HashMap::new(),
        lines: 0,
        problems: Vec::new(),
    };
    for &commit in &commits {
        let parents: Vec<Oid> = repo.find_commit(commit)?.parent_ids().collect();
        let tree = history::ledger_tree(repo, commit)?;
        let mut per_parent: Vec<Vec<FileChange>> = Vec::new();
        if parents.is_empty() {
            per_parent.push(history::changes(repo, None, tree.as_ref())?);
        }
        // Versions of each file in the parents that this commit's version extends: its
        // chain can be checked from where theirs ended.
        let mut extends: HashMap<&str, Vec<Oid>> = HashMap::new();
        for &parent in &parents {
            let ptree = history::ledger_tree(repo, parent)?;
            per_parent.push(history::changes(repo, ptree.as_ref(), tree.as_ref())?);
        }
        for (parent, changes) in parents.iter().zip(&per_parent) {
            for change in changes {
                if checker.growth(commit, *parent, change)?
                    && let Some(old) = change.old
                {
                    extends.entry(&change.path).or_default().push(old);
                }
            }
        }
        // Versions new in this commit: changed relative to every parent. A file identical
        // to a parent's was checked with that parent, or lies outside the range.
        let mut fresh: Vec<(&str, Oid)> = Vec::new();
        for change in per_parent.iter().flatten() {
            let Some(new) = change.new else { continue };
            let everywhere = per_parent
                .iter()
                .all(|cs| cs.iter().any(|c| c.path == change.path));
            if everywhere && !fresh.iter().any(|(p, _)| *p == change.path) {
                fresh.push((&change.path, new));
            }
        }
        for (path, new) in fresh {
            let olds = extends.get(path).map(Vec::as_slice).unwrap_or_default();
            checker.chain(commit, path, new, olds)?;
        }
    }
    Ok(HistoryReport {
        range,
        commits: commits.len(),
        versions: checker.checked.len(),
        lines: checker.lines,
        problems: checker.problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_changed_line() {
        assert_eq!(first_difference(b"a\nb\n", b"a\nb\nc\n"), None);
        assert_eq!(first_difference(b"a\nb\n", b"a\nx\n"), Some((2, false)));
        assert_eq!(first_difference(b"a\nb\nc\n", b"a\n"), Some((2, true)));
        assert_eq!(first_difference(b"a\nb\n", b""), Some((1, true)));
        assert_eq!(first_difference(b"a\nhal", b"a\nhalf\n"), None);
        assert_eq!(first_difference(b"a\nhal", b"a\n"), Some((2, true)));
    }

    #[test]
    fn counts_lines() {
        assert_eq!(line_count(b""), 0);
        assert_eq!(line_count(b"a\n"), 1);
        assert_eq!(line_count(b"a\nb"), 2);
    }
}
