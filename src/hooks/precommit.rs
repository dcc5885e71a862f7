//! `forge hook pre-commit`: checks the `.forge/` files a commit is about to record, as they
//! are staged (read from the index, never the working tree):
//!
//! - no git conflict markers;
//! - beads, assumptions, checkpoints and the config parse, with a schema version this forge
//!   knows;
//! - a committed ledger file only grows: the staged version starts with HEAD's byte for
//!   byte, is not deleted, ends with a complete line, and its hash chain holds (the lines
//!   the commit adds are verified and chained onto the last committed line; a new file is
//!   verified whole);
//! - no secret (the redactor's token shapes and the values of secret-looking environment
//!   variables) in any staged `.forge/` file;
//! - no temp or quarantine file is staged.
//!
//! Only staged paths are read, in one `git diff --cached` and one `git cat-file --batch`,
//! so the cost follows the size of the commit, not of the repository.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::git::cli::{Git, StagedChange};
use crate::ledger::line::check;
use crate::redact::Redactor;
use crate::store::is_temp_name;
use crate::store::kind::{FileKind, validate};
use crate::store::parse::{find_conflict_marker, line_col};

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Relative to the working tree.
    pub file: String,
    /// 1-based, when the problem has a place.
    pub line: Option<usize>,
    pub message: String,
    pub hint: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PreCommitReport {
    /// Staged `.forge/` paths looked at.
    pub checked: usize,
    pub problems: Vec<Problem>,
}

impl PreCommitReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn problem(
    file: &str,
    line: Option<usize>,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Problem {
    Problem {
        file: file.to_owned(),
        line,
        message: message.into(),
        hint: hint.into(),
    }
}

/// A library error about a staged file as a problem (same words as everywhere else).
fn from_error(file: &str, err: &Error) -> Problem {
    let line = match err {
        Error::Parse { line, .. } | Error::ConflictMarkers { line, .. } => Some(*line),
        _ => None,
    };
    let message = match err {
        Error::Parse {
            line,
            column,
            message,
            ..
        } => format!("column {column}: {message} (line {line})"),
        Error::SchemaVersion {
            found, supported, ..
        } => format!(
            "schema version {found} is not supported (this forge understands up to {supported})"
        ),
        Error::InvalidFile { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let hint = err.hints_then("then `git add` it again").join("; ");
    problem(file, line, message, hint)
}

/// 1-based line of byte `offset`.
fn line_of(text: &[u8], offset: usize) -> usize {
    text[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Append-only and chained: `head` is the committed version, if any.
fn check_ledger(file: &str, staged: &[u8], head: Option<&[u8]>, out: &mut Vec<Problem>) {
    let restore = format!(
        "ledger files are append-only: restore the committed lines with `git restore --source=HEAD --staged --worktree {file}`"
    );
    if let Some(head) = head
        && !staged.starts_with(head)
    {
        let common = staged.iter().zip(head).take_while(|(a, b)| a == b).count();
        let line = line_of(head, common);
        let message = if head.starts_with(staged) {
            format!("the committed ledger file is truncated: line {line} on are gone")
        } else {
            format!("line {line} of the committed ledger file was changed")
        };
        out.push(problem(file, Some(line), message, restore));
        return;
    }
    if staged.is_empty() {
        out.push(problem(
            file,
            Some(1),
            "an empty ledger file (forge never writes one)",
            "unstage it: `git rm --cached` it",
        ));
        return;
    }
    let Ok(text) = std::str::from_utf8(staged) else {
        out.push(problem(file, None, "not UTF-8: not a ledger file", restore));
        return;
    };
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    if complete.len() != text.len() {
        out.push(problem(
            file,
            Some(line_of(staged, complete.len())),
            "the last line is incomplete (a run is still writing it, or was interrupted)",
            "let the run finish, or run `forge ledger verify` to move a dead run's torn line aside; then `git add` the file again",
        ));
    }
    let run = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The committed complete lines were checked when they were committed (and `forge
    // ledger verify` checks them in CI): only the lines this commit adds are verified here,
    // chained onto the last committed line. That keeps the hook's cost proportional to
    // the commit, not to the file.
    let trusted = head.map_or(0, trusted_len);
    let first = complete.as_bytes()[..trusted]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    let mut prev = complete[..trusted]
        .trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .filter(|l| !l.is_empty())
        .map(claimed_hash)
        .unwrap_or_default();
    for (seq, line) in (first..).zip(complete[trusted..].lines()) {
        let n = seq + 1;
        let message = match check(line) {
            Err(e) => Some(e.to_string()),
            Ok(h) if h.run != run => Some(format!(
                "a record of run '{}' in the file of run '{run}'",
                h.run
            )),
            Ok(h) if h.seq != seq as u64 => Some(format!(
                "sequence number {} where {seq} was expected (a line was deleted, inserted or moved)",
                h.seq
            )),
            Ok(h) if h.prev != prev => Some(
                "does not chain to the line before it (a line was deleted, inserted or moved)"
                    .into(),
            ),
            Ok(h) => {
                prev = h.hash.into_owned();
                None
            }
        };
        if let Some(message) = message {
            out.push(problem(file, Some(n), message, restore.clone()));
            return;
        }
    }
}

/// The length of the complete lines of a committed ledger file.
fn trusted_len(head: &[u8]) -> usize {
    head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

/// The hash a line claims, whether or not it verifies.
fn claimed_hash(line: &str) -> String {
    match check(line) {
        Ok(h) => h.hash.into_owned(),
        Err(_) => serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("hash").and_then(|h| h.as_str()).map(str::to_owned))
            .unwrap_or_default(),
    }
}

/// The first place where the redactor would change `text`: the line of a secret.
fn secret_line(redactor: &Redactor, text: &str) -> Option<usize> {
    let redacted = redactor.redact(text);
    if redacted == text {
        return None;
    }
    let common = text
        .bytes()
        .zip(redacted.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    Some(line_col(text, common).0)
}

/// Checks every staged `.forge/` path.
pub fn check_staged(git: &Git, redactor: &Redactor) -> Result<PreCommitReport> {
    let changes = git.staged_changes(".forge/")?;
    let mut report = PreCommitReport {
        checked: changes.len(),
        problems: Vec::new(),
    };
    if changes.is_empty() {
        return Ok(report);
    }
    // One batch: every staged blob, and HEAD's version of every changed ledger file.
    let mut specs = Vec::new();
    let mut wanted = Vec::new();
    for (change, path) in &changes {
        let ledger = FileKind::of(path) == FileKind::Ledger;
        let staged = (*change != StagedChange::Deleted).then(|| {
            specs.push(format!(":{path}"));
            specs.len() - 1
        });
        let head = (ledger && *change != StagedChange::Added).then(|| {
            specs.push(format!("HEAD:{path}"));
            specs.len() - 1
        });
        wanted.push((staged, head));
    }
    let blobs = git.cat_file_batch(&specs)?;
    let get = |i: Option<usize>| i.and_then(|i| blobs[i].as_deref());
    for ((change, path), (staged, head)) in changes.iter().zip(wanted) {
        let kind = FileKind::of(path);
        let name = path.rsplit('/').next().unwrap_or(path);
        let out = &mut report.problems;
        if *change == StagedChange::Deleted {
            if kind == FileKind::Ledger {
                out.push(problem(
                    path,
                    None,
                    "a committed ledger file is deleted",
                    format!("ledger files are never deleted: `git restore --source=HEAD --staged --worktree {path}`"),
                ));
            }
            continue;
        }
        if is_temp_name(name) || name.ends_with(".torn") {
            out.push(problem(
                path,
                None,
                "a temp file of an interrupted write, or a quarantined torn ledger line, is staged",
                format!("unstage it: `git rm --cached {path}`"),
            ));
            continue;
        }
        let Some(bytes) = get(staged) else {
            continue;
        };
        let text = String::from_utf8_lossy(bytes);
        // Of a committed ledger file that grew, only what the commit adds is scanned: the
        // committed part was checked when it was committed.
        let from = match (kind, get(head)) {
            (FileKind::Ledger, Some(h)) if bytes.starts_with(h) => trusted_len(h),
            _ => 0,
        };
        let (skipped, scanned) = match (text.get(..from), text.get(from..)) {
            (Some(a), Some(b)) => (a, b),
            _ => ("", &text[..]),
        };
        let line_offset = skipped.bytes().filter(|&b| b == b'\n').count();
        if let Some(line) = find_conflict_marker(scanned) {
            let hint = match kind {
                _ if kind.is_item() => {
                    format!("run `forge resolve {path}` (it merges both sides field by field), then `git add` it")
                }
                _ => "edit the file to keep the right side of each conflict and remove the marker lines, then `git add` it".into(),
            };
            out.push(problem(
                path,
                Some(line_offset + line),
                "an unresolved git conflict marker",
                hint,
            ));
            continue;
        }
        if kind == FileKind::Ledger {
            check_ledger(path, bytes, get(head), out);
        } else if let Err(e) = validate(kind, Path::new(path), &text) {
            out.push(from_error(path, &e));
        }
        if let Some(line) = secret_line(redactor, scanned) {
            out.push(problem(
                path,
                Some(line_offset + line),
                "what looks like a secret (an API key, token, private key or a password in a URL)",
                "remove it and `git add` the file again; forge redacts what it writes, so it came from elsewhere",
            ));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_located_without_being_repeated() {
        let r = Redactor::default();
        let text = "a = 1\nb = \"ghp_abcdefghijklmnopqrstuvwxyz0123456789\"\n";
        assert_eq!(secret_line(&r, text), Some(2));
        assert_eq!(secret_line(&r, "a = \"[REDACTED]\"\n"), None);
    }

    #[test]
    fn a_rewritten_ledger_line_is_located() {
        let mut out = Vec::new();
        check_ledger("l.jsonl", b"one\nTWO\n", Some(b"one\ntwo\n"), &mut out);
        assert_eq!(out[0].line, Some(2));
        assert!(out[0].message.contains("changed"), "{:?}", out[0]);
        out.clear();
        check_ledger("l.jsonl", b"one\n", Some(b"one\ntwo\n"), &mut out);
        assert!(out[0].message.contains("truncated"), "{:?}", out[0]);
    }
}
