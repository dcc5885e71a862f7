//! A run's output: the log it is appended to (never inside `.forge/`), the reader threads
//! that split each pipe into lines and send them in batches, and the calling thread's end,
//! which writes the log and calls `on_line` in arrival order.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::Instant;

use super::imp::READ_BUF;
use super::lines::{MAX_LINE_BYTES, Splitter};
use crate::error::{Error, Result};
use crate::harness::adapter::Stream;

pub(super) enum Msg {
    Lines(Stream, Vec<String>),
    Eof,
}

/// Opens the log for appending, refusing any path inside a `.forge` directory: raw harness
/// output may hold secrets, and `.forge/` is committed.
pub(super) fn open_log(path: &Path) -> Result<BufWriter<File>> {
    if path.components().any(|c| c.as_os_str() == ".forge") {
        return Err(Error::Refused {
            message: format!(
                "will not write the harness log {} inside .forge/",
                path.display()
            ),
            hint: "harness logs may contain secrets; keep them under the git common directory"
                .into(),
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    Ok(BufWriter::with_capacity(READ_BUF, file))
}

/// Reads one pipe into lines until end of file, sending them in batches (one per read).
/// Ends early when nobody listens any more; forge never joins it, because a process that
/// escaped every kill could hold the pipe open for ever.
pub(super) fn read_pipe(
    mut pipe: Box<dyn Read + Send>,
    stream: Stream,
    tx: &SyncSender<Msg>,
    activity: &AtomicU64,
    start: Instant,
) {
    let mut buf = vec![0u8; READ_BUF];
    let mut splitter = Splitter::new(MAX_LINE_BYTES);
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        activity.fetch_max(start.elapsed().as_millis() as u64, Ordering::Relaxed);
        let mut lines = Vec::new();
        splitter.feed(&buf[..n], &mut lines);
        if !lines.is_empty() && tx.send(Msg::Lines(stream, lines)).is_err() {
            return;
        }
    }
    let mut lines = Vec::new();
    splitter.finish(&mut lines);
    if !lines.is_empty() && tx.send(Msg::Lines(stream, lines)).is_err() {
        return;
    }
    let _ = tx.send(Msg::Eof);
}

/// The calling thread's end of the output: the log and the caller's callback.
pub(super) struct Output<'a> {
    pub(super) rx: Receiver<Msg>,
    /// Streams that have not reached end of file.
    pub(super) open: usize,
    pub(super) log: BufWriter<File>,
    /// The first log write error; writing stops there, delivering does not.
    pub(super) log_err: Option<std::io::Error>,
    pub(super) on_line: &'a mut dyn FnMut(Stream, &str),
    /// A panic of `on_line`: no more calls; the run is stopped and the panic resumed.
    pub(super) panic: Option<Box<dyn std::any::Any + Send>>,
    /// When the last message was handled.
    pub(super) last_msg: Instant,
}

impl Output<'_> {
    pub(super) fn closed(&self) -> bool {
        self.open == 0
    }

    /// Handles output until `until`, or until both streams are closed.
    pub(super) fn pump_until(&mut self, until: Instant) {
        loop {
            if self.closed() {
                return;
            }
            let msg = match self.rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Disconnected) => {
                    self.open = 0;
                    continue;
                }
                Err(TryRecvError::Empty) => {
                    // Nothing waiting: a good moment to make the log current for readers.
                    self.flush();
                    let now = Instant::now();
                    if now >= until {
                        return;
                    }
                    match self.rx.recv_timeout(until - now) {
                        Ok(msg) => msg,
                        Err(RecvTimeoutError::Timeout) => return,
                        Err(RecvTimeoutError::Disconnected) => {
                            self.open = 0;
                            continue;
                        }
                    }
                }
            };
            self.handle(msg);
            if Instant::now() >= until {
                return;
            }
        }
    }

    /// Handles output until `until`, sleeping out the rest once both streams are closed:
    /// the rhythm of a polling loop.
    pub(super) fn wait_until(&mut self, until: Instant) {
        self.pump_until(until);
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Eof => self.open = self.open.saturating_sub(1),
            Msg::Lines(stream, lines) => {
                for line in lines {
                    if self.log_err.is_none() {
                        let written = self
                            .log
                            .write_all(line.as_bytes())
                            .and_then(|()| self.log.write_all(b"\n"));
                        if let Err(e) = written {
                            self.log_err = Some(e);
                        }
                    }
                    if self.panic.is_none() {
                        let on_line = &mut self.on_line;
                        let called = catch_unwind(AssertUnwindSafe(|| on_line(stream, &line)));
                        self.panic = called.err();
                    }
                }
            }
        }
        // Measured after the work: a slow `on_line` is not a quiet pipe.
        self.last_msg = Instant::now();
    }

    pub(super) fn flush(&mut self) {
        if self.log_err.is_none()
            && let Err(e) = self.log.flush()
        {
            self.log_err = Some(e);
        }
    }
}
