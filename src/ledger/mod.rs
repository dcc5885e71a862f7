//! The run ledger: one append-only JSONL file per run, each line hash-chained to the one
//! before it.
//!
//! A line is a JSON object whose keys come in this order:
//! `ts`, `run`, `seq`, `actor`, `kind`, `data`, `prev`, `hash`. `prev` is the `hash` of the
//! previous line of the same file (empty for the first), and `hash` is the SHA-256 of the
//! line's text up to (not including) `,"hash":`. So a changed byte breaks the line's own hash,
//! and a deleted, inserted or reordered line breaks `seq` or `prev`.

pub mod line;
pub mod reader;
pub mod verify;
pub mod writer;

pub use line::Event;
pub use reader::{LedgerFile, read_file};
pub use verify::{Problem, VerifyReport, verify_all};
pub use writer::LedgerWriter;

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// Every `*.jsonl` file under the ledger directory, sorted by path.
pub fn ledger_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}
