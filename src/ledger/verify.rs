//! Checking every hash chain in the ledger directory.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ledger_files;
use super::line::decode;
use super::reader::{quarantine_torn, read_file, writer_alive};
use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Torn {
    pub file: PathBuf,
    pub bytes: usize,
    /// Where the fragment was moved, if its writer is gone.
    pub quarantined: Option<PathBuf>,
    /// The run is still writing: the fragment is a line in progress, left alone.
    pub live: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub files: usize,
    pub events: usize,
    pub problems: Vec<Problem>,
    pub torn: Vec<Torn>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks one file's chain; returns the number of good events, the torn tail if any, and the
/// number of complete lines.
pub fn verify_file(
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<(usize, Option<Vec<u8>>, usize)> {
    let file = read_file(path)?;
    let run = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut prev = String::new();
    let mut good = 0;
    let mut problem = |line: usize, message: String| {
        problems.push(Problem {
            file: path.to_owned(),
            line,
            message,
        })
    };
    for (i, text) in file.lines.iter().enumerate() {
        let n = i + 1;
        let event = match decode(text) {
            Ok(e) => e,
            Err(e) => {
                problem(n, e.to_string());
                // Chain the next line to whatever this one claimed, so one bad line is
                // reported once rather than twice.
                prev = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("hash").and_then(|h| h.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                continue;
            }
        };
        if event.run != run {
            problem(
                n,
                format!("record of run '{}' in the file of run '{run}'", event.run),
            );
        } else if event.seq != i as u64 {
            problem(
                n,
                format!(
                    "sequence number {} where {i} was expected (a line was deleted, inserted or moved)",
                    event.seq
                ),
            );
        } else if event.prev != prev {
            problem(
                n,
                "does not chain to the line before it (a line was deleted, inserted or moved)"
                    .into(),
            );
        } else {
            good += 1;
        }
        prev = event.hash;
    }
    Ok((good, file.torn, file.lines.len()))
}

/// Verifies every ledger file. A torn tail of a dead run is quarantined and reported when
/// `fix` is set; without `fix` it is left in place and counted as a problem. A live run's
/// unfinished line is neither.
pub fn verify_all(ledger_dir: &Path, fix: bool) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    crate::store::sweep_temp_files_under(ledger_dir);
    for path in ledger_files(ledger_dir) {
        // Asked before reading: a run that is alive now may still be finishing its last
        // line, so its tail is not judged; a dead one cannot change under us.
        let live = writer_alive(&path);
        let (good, torn, total) = verify_file(&path, &mut report.problems)?;
        report.files += 1;
        report.events += good;
        if total == 0 && torn.is_none() && !live {
            report.problems.push(Problem {
                file: path.clone(),
                line: 1,
                message: "empty ledger file: forge never leaves one, so it was truncated".into(),
            });
        }
        if let Some(torn) = torn {
            if live {
                report.torn.push(Torn {
                    file: path,
                    bytes: torn.len(),
                    quarantined: None,
                    live,
                });
                continue;
            }
            if !fix {
                report.problems.push(Problem {
                    file: path.clone(),
                    line: total + 1,
                    message: format!(
                        "torn last line ({} bytes) from an interrupted run; `forge ledger verify` moves it aside",
                        torn.len()
                    ),
                });
            }
            let quarantined = if fix { quarantine_torn(&path)? } else { None };
            report.torn.push(Torn {
                file: path,
                bytes: torn.len(),
                quarantined,
                live,
            });
        }
    }
    Ok(report)
}
