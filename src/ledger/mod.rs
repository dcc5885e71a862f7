//! The run ledger: one append-only JSONL file per run, each line hash-chained to the one
//! before it.
//!
//! A line is a JSON object whose keys come in this order:
//! `ts`, `run`, `seq`, `actor`, `v` (the event schema version; absent before versions
//! existed), `kind`, `data`, `prev`, `hash`. `kind` and `data` are a typed
//! [`event::Payload`]. `prev` is the `hash` of the
//! previous line of the same file (empty for the first), and `hash` is the SHA-256 of the
//! line's text up to (not including) `,"hash":`. So a changed byte breaks the line's own hash,
//! and a deleted, inserted or reordered line breaks `seq` or `prev`.
//!
//! Reading: `reader` (a working-tree file, torn tails), `verify` (chains in the working
//! tree), `history` (files as committed, ranges of commits), `growth` (committed files only
//! ever grew), `review` (what a range of commits added, per bead and step), `render` (that
//! review as Markdown), `cost` (tokens and money, with a price table for estimates),
//! `provenance` (agent commits reached a branch only through approvals the ledger records).

pub mod cost;
pub mod event;
pub mod growth;
pub mod history;
pub mod line;
pub mod provenance;
pub mod reader;
pub mod render;
pub mod review;
pub mod verify;
pub mod writer;

pub use event::Payload;
pub use line::Event;
pub use reader::{LedgerFile, read_file};
pub use verify::{Problem, VerifyReport, verify_all};
pub use writer::LedgerWriter;

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// Whether a file named `name` is a ledger file: `<run>.jsonl`. Not a temp file that a
/// writer is about to rename into place (`.tmp-<pid>-<random>-<run>.jsonl`, which also
/// ends in `.jsonl`), nor any other hidden file, nor a quarantined `<run>.jsonl.torn`.
pub fn is_ledger_file_name(name: &str) -> bool {
    name.len() > ".jsonl".len() && name.ends_with(".jsonl") && !name.starts_with('.')
}

/// Every ledger file under the ledger directory (see [`is_ledger_file_name`]), sorted by
/// path. Other processes' files in flight are left out: a reader that listed one would
/// find it renamed, or read it under a name that is not its run's.
pub fn ledger_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.file_name().to_str().is_some_and(is_ledger_file_name))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

/// Every event in the ledger directory whose line verifies on its own, in ledger order
/// (time, run, sequence number), and how many lines were left out because they do not.
pub fn read_events(dir: &Path) -> crate::Result<(Vec<Event>, usize)> {
    let mut events = Vec::new();
    let mut skipped = 0;
    for path in ledger_files(dir) {
        for text in &read_file(&path)?.lines {
            match line::decode(text) {
                Ok(e) => events.push(e),
                Err(_) => skipped += 1,
            }
        }
    }
    events.sort_by(|a, b| (&a.ts, &a.run, a.seq).cmp(&(&b.ts, &b.run, b.seq)));
    Ok((events, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_run_files_are_ledger_files() {
        let temp =
            crate::store::temp_path_for(Path::new("2026-11/20261121T090000Z-r1.jsonl")).unwrap();
        let temp = temp.file_name().unwrap().to_str().unwrap();
        assert!(temp.ends_with(".jsonl"), "{temp}");
        assert!(!is_ledger_file_name(temp));
        assert!(is_ledger_file_name("20261121T090000Z-r1.jsonl"));
        for other in [
            "20261121T090000Z-r1.jsonl.torn",
            ".jsonl",
            ".hidden.jsonl",
            "notes.txt",
            "r1.jsonl~",
        ] {
            assert!(!is_ledger_file_name(other), "{other}");
        }
    }
}
