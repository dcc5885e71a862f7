//! A running step's raw log, read on from where the last refresh stopped (at most
//! [`READ_PER_REFRESH`](super::READ_PER_REFRESH) bytes a time) through its preset's parser,
//! keeping the run summary and the last line worth showing.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::{LINE_MAX, READ_PER_REFRESH};
use crate::clock::Clock;
use crate::harness::adapter::{OutputParser, RunSummary, Stream};
use crate::redact::Redactor;
use crate::step::checkpoint::Checkpoint;
use crate::store::Layout;

/// A running step's raw log, read on from where the last refresh stopped, through its
/// preset's parser.
pub(super) struct Tail {
    path: PathBuf,
    preset: String,
    /// The log's device and inode when it was opened: a replaced log is read anew.
    id: Option<(u64, u64)>,
    file: Option<File>,
    offset: u64,
    /// The start of a line not yet ended.
    pending: Vec<u8>,
    parser: Option<Box<dyn OutputParser>>,
    pub(super) summary: RunSummary,
    pub(super) last: String,
}

impl Tail {
    pub(super) fn new(layout: &Layout, cp: &Checkpoint, clock: &Clock) -> Tail {
        Tail {
            path: crate::step::log_path(layout, &cp.step),
            preset: cp.preset.clone(),
            id: None,
            file: None,
            offset: 0,
            pending: Vec::new(),
            parser: crate::harness::presets::by_name(&cp.preset).map(|a| a.parser(clock)),
            summary: RunSummary::default(),
            last: String::new(),
        }
    }

    fn restart(&mut self, clock: &Clock) {
        self.offset = 0;
        self.pending.clear();
        self.parser = crate::harness::presets::by_name(&self.preset).map(|a| a.parser(clock));
        self.summary = RunSummary::default();
        self.last.clear();
    }

    /// Reads what was appended since the last call (at most [`READ_PER_REFRESH`]). A log
    /// that is not there yet is simply not read.
    pub(super) fn catch_up(&mut self, redactor: &Redactor, clock: &Clock) {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            return;
        };
        let id = (meta.dev(), meta.ino());
        if self.id != Some(id) || meta.len() < self.offset {
            self.restart(clock);
            self.file = File::open(&self.path).ok();
            self.id = self.file.is_some().then_some(id);
        }
        if meta.len() == self.offset {
            return;
        }
        let Some(file) = &mut self.file else {
            return;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let before = self.pending.len();
        if file
            .take(READ_PER_REFRESH)
            .read_to_end(&mut self.pending)
            .is_err()
        {
            self.pending.truncate(before);
            return;
        }
        self.offset += (self.pending.len() - before) as u64;
        let cut = match self.pending.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if self.pending.len() > LINE_MAX => self.pending.len(),
            None => return,
        };
        let lines: Vec<u8> = self.pending.drain(..cut).collect();
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            self.line(&String::from_utf8_lossy(line), redactor);
        }
    }

    fn line(&mut self, line: &str, redactor: &Redactor) {
        let Some(parser) = &mut self.parser else {
            return;
        };
        // Redacted before parsing, whole, as the harness wrote it (a value split by the
        // parser might no longer be recognised), and again in `headline`.
        let line = redactor.redact(line);
        for event in parser.line(Stream::Stdout, &line) {
            self.summary.apply(&event);
            if let Some(said) = event.headline(redactor) {
                self.last = said;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_is_read_on_from_where_it_stopped_and_anew_when_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("harness.log");
        let mut tail = Tail {
            path: path.clone(),
            preset: "command".into(),
            id: None,
            file: None,
            offset: 0,
            pending: Vec::new(),
            parser: crate::harness::presets::by_name("command")
                .map(|a| a.parser(&Clock::default())),
            summary: RunSummary::default(),
            last: String::new(),
        };
        let redactor = Redactor::new([("API_KEY".to_owned(), "sk-secret-123456".to_owned())]);
        let clock = Clock::default();
        tail.catch_up(&redactor, &clock);
        assert_eq!(tail.last, "");
        std::fs::write(&path, "first line\nsecond with sk-secret-123456\nhalf").unwrap();
        tail.catch_up(&redactor, &clock);
        assert_eq!(tail.last, "second with [REDACTED:API_KEY]");
        assert_eq!(tail.pending, b"half");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, b" done\n").unwrap();
        tail.catch_up(&redactor, &clock);
        assert_eq!(tail.last, "half done");
        // Replaced (a new file at the same path): read from its start.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "anew\n").unwrap();
        tail.catch_up(&redactor, &clock);
        assert_eq!(tail.last, "anew");
        assert_eq!(tail.offset, 5);
    }
}
