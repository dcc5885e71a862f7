//! Checking every hash chain in the ledger directory.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ledger_files;
use super::line::check;
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

/// Where one file's hash chain stands after some of its lines: enough to check lines
/// appended later without reading the earlier ones again.
#[derive(Debug, Clone)]
pub struct Chain {
    run: String,
    /// Complete lines checked so far.
    pub lines: usize,
    /// Of those, lines that verified.
    pub good: usize,
    prev: String,
}

impl Chain {
    /// The start of the chain of the file of run `run`.
    pub fn new(run: &str) -> Chain {
        Chain {
            run: run.to_owned(),
            lines: 0,
            good: 0,
            prev: String::new(),
        }
    }

    /// The chain of the ledger file at `path`, whose name is its run id.
    pub fn for_path(path: &Path) -> Chain {
        let run = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Chain::new(&run)
    }

    /// Checks the next complete line (without its newline); returns what is wrong with it.
    pub fn push(&mut self, text: &str) -> Option<String> {
        let i = self.lines;
        self.lines += 1;
        let head = match check(text) {
            Ok(h) => h,
            Err(e) => {
                // Chain the next line to whatever this one claimed, so one bad line is
                // reported once rather than twice.
                self.prev = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("hash").and_then(|h| h.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                return Some(e.to_string());
            }
        };
        let problem = if head.run != self.run {
            Some(format!(
                "record of run '{}' in the file of run '{}'",
                head.run, self.run
            ))
        } else if head.seq != i as u64 {
            Some(format!(
                "sequence number {} where {i} was expected (a line was deleted, inserted or moved)",
                head.seq
            ))
        } else if head.prev != self.prev {
            Some(
                "does not chain to the line before it (a line was deleted, inserted or moved)"
                    .into(),
            )
        } else {
            self.good += 1;
            None
        };
        self.prev = head.hash.into_owned();
        problem
    }
}

/// Checks one file's chain; returns the number of good events, the torn tail if any, and the
/// number of complete lines.
pub fn verify_file(
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<(usize, Option<Vec<u8>>, usize)> {
    let file = read_file(path)?;
    let mut chain = Chain::for_path(path);
    for text in &file.lines {
        if let Some(message) = chain.push(text) {
            problems.push(Problem {
                file: path.to_owned(),
                line: chain.lines,
                message,
            });
        }
    }
    Ok((chain.good, file.torn, file.lines.len()))
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
