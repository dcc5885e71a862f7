//! Appending to this run's ledger file. One writer per file, ever: the file is named after
//! the run, created under a temp name with `O_EXCL` and renamed into place with its first
//! line, and locked (flock) for as long as the run lives so that a verifier can tell a live
//! run from a dead one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::event::{EVENT_VERSION, Payload};
use super::line::{Event, encode};

use crate::clock::{Clock, format_rfc3339};
use crate::error::{Error, Result};
use crate::randomness::Randomness;
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

/// A run id, `YYYYMMDDTHHMMSS.ffffffZ-xxxxxxxx`: when the run started by the workspace's
/// clock, a part that orders runs which start in the same second, and 8 random base36
/// digits so that runs never collide. Events with equal timestamps are ordered by run, so
/// runs must sort in the order they started, and the second part must grow from one run
/// to the next:
/// - real clock: the microseconds of the same reading, as always;
/// - pinned clock (`FORGE_NOW`): every run starts in the same second, so the clock cannot
///   order them. With `FORGE_SEED` the seed does (zero-padded to 6 digits): a test harness
///   gives each command it runs the next seed (tests/cli/env.rs), so runs sort in the order
///   the commands started and the whole id is reproducible. Without a seed, the real time
///   in microseconds (16 digits): such runs sort among themselves by when they really
///   started, and still file under the pinned month.
pub fn new_run_id(clock: &Clock, randomness: &Randomness) -> String {
    let (secs, micros) = clock.stamp();
    let ts = format_rfc3339(secs).replace(['-', ':'], "");
    let order = match (clock.is_pinned(), randomness.seed()) {
        (false, _) => format!("{micros:06}"),
        (true, Some(seed)) => format!("{seed:06}"),
        (true, None) => format!("{:016}", crate::clock::real_micros()),
    };
    let digits = crate::bead::id::random_digits(randomness);
    format!("{}.{order}Z-{}", ts.trim_end_matches('Z'), &digits[..8])
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
            // Never over another run's file: two runs of the same id (the same FORGE_SEED
            // and FORGE_NOW, by hand) must not make one ledger file replace the other.
            rename_no_replace(&tmp, &self.path)?;
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

    /// Appends one event, redacted (every string of its data), in a single write, and
    /// makes it durable. The line carries the current event schema version.
    pub fn append_event(
        &mut self,
        clock: &Clock,
        redactor: &Redactor,
        payload: &Payload,
    ) -> Result<Event> {
        let (kind, data) = payload.to_parts();
        self.append_versioned(clock, redactor, EVENT_VERSION, &kind, data)
    }

    /// Appends a line of any kind and data, without a version, as lines were written
    /// before events were typed (tests write ledgers of old or made-up events with it).
    pub fn append(
        &mut self,
        clock: &Clock,
        redactor: &Redactor,
        kind: &str,
        data: serde_json::Value,
    ) -> Result<Event> {
        self.append_versioned(clock, redactor, 0, kind, data)
    }

    fn append_versioned(
        &mut self,
        clock: &Clock,
        redactor: &Redactor,
        v: u32,
        kind: &str,
        mut data: serde_json::Value,
    ) -> Result<Event> {
        redactor.redact_json(&mut data);
        let mut event = Event {
            ts: clock.now(),
            run: self.run.clone(),
            seq: self.seq,
            actor: redactor.redact(&self.actor).into_owned(),
            v,
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

/// Renames `from` to `to` unless `to` exists (then `AlreadyExists`), atomically:
/// `renameat2(RENAME_NOREPLACE)`, or a hard link and an unlink on a filesystem without it.
fn rename_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_never_replaces_another_runs_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = "20261205T101010.000001Z-12345678".to_owned();
        let mut writer = LedgerWriter::new(dir.path(), run, "tester".into());
        let theirs = b"{\"a line of another run with the same id\"}\n";
        std::fs::create_dir_all(writer.path().parent().unwrap()).unwrap();
        std::fs::write(writer.path(), theirs).unwrap();
        let appended = writer.append(
            &Clock::default(),
            &Redactor::default(),
            "test.event",
            serde_json::json!({}),
        );
        assert!(appended.is_err(), "the second run wrote over the first");
        assert_eq!(std::fs::read(writer.path()).unwrap(), theirs);
        // No temp file is left behind either.
        let left: Vec<_> = std::fs::read_dir(writer.path().parent().unwrap())
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }
}
