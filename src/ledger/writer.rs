//! Appending to this run's ledger file. One writer per file, ever: the file is named after
//! the run, created under a temp name with `O_EXCL` and renamed into place with its first
//! line, and locked (flock) for as long as the run lives so that a verifier can tell a live
//! run from a dead one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::line::{Event, encode};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clock::{Clock, format_rfc3339};
use crate::error::{Error, Result};
use crate::redact::Redactor;
use crate::store::temp_path_for;

#[derive(Debug)]
pub struct LedgerWriter {
    path: PathBuf,
    run: String,
    actor: String,
    file: Option<File>,
    seq: u64,
    prev: String,
}

/// A run id: the run's real start time to the microsecond and a random part, so that runs
/// sort by when they started and never collide. It deliberately ignores a pinned clock:
/// it orders events that carry equal timestamps.
pub fn new_run_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ts = format_rfc3339(now.as_secs() as i64).replace(['-', ':'], "");
    let digits = crate::bead::id::random_digits();
    format!(
        "{}.{:06}Z-{}",
        ts.trim_end_matches('Z'),
        now.subsec_micros(),
        &digits[..8]
    )
}

impl LedgerWriter {
    /// A writer for a new run. Nothing touches the disk until the first event.
    pub fn new(ledger_dir: &Path, run: String, actor: String) -> Self {
        // Files are grouped by month so that no directory grows without bound.
        let month = format!("{}-{}", &run[0..4], &run[4..6]);
        let path = ledger_dir.join(month).join(format!("{run}.jsonl"));
        LedgerWriter {
            path,
            run,
            actor,
            file: None,
            seq: 0,
            prev: String::new(),
        }
    }

    pub fn run(&self) -> &str {
        &self.run
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the first line to a temp file and renames it into place, so a run killed
    /// at any moment never leaves an empty or partial-first-line ledger file behind.
    fn create_with(&mut self, first_line: &[u8]) -> Result<()> {
        let dir = self
            .path
            .parent()
            .expect("ledger files live in a directory");
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let tmp = temp_path_for(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let result = (|| -> std::io::Result<File> {
            let mut file = OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(&tmp)?;
            // The lock lives on the open file and survives the rename.
            file.lock()?;
            file.write_all(first_line)?;
            file.sync_data()?;
            fs::rename(&tmp, &self.path)?;
            File::open(dir)?.sync_all()?;
            Ok(file)
        })();
        match result {
            Ok(file) => {
                self.file = Some(file);
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(Error::io(&self.path, e))
            }
        }
    }

    /// Appends one event, redacted, in a single write, and makes it durable.
    pub fn append(
        &mut self,
        clock: &Clock,
        redactor: &Redactor,
        kind: &str,
        mut data: serde_json::Value,
    ) -> Result<Event> {
        redactor.redact_json(&mut data);
        let mut event = Event {
            ts: clock.now(),
            run: self.run.clone(),
            seq: self.seq,
            actor: redactor.redact(&self.actor).into_owned(),
            kind: kind.to_owned(),
            data,
            prev: self.prev.clone(),
            hash: String::new(),
        };
        let (mut line, hash) = encode(&event);
        line.push('\n');
        match self.file.as_mut() {
            None => self.create_with(line.as_bytes())?,
            Some(file) => file
                .write_all(line.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|e| Error::io(&self.path, e))?,
        }
        self.seq += 1;
        self.prev = hash.clone();
        event.hash = hash;
        Ok(event)
    }
}
