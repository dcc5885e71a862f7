//! The stdin of a run that forge talks with while it runs: a protocol over stdio, such as
//! the Agent Client Protocol, where forge answers the harness's requests.
//!
//! The caller (on the run's thread, from `on_line`) queues bytes with [`Conversation::send`];
//! a writer thread of the runner writes them, so a harness that stops reading its stdin can
//! block only that thread, never the run loop and its timeouts. The writer is never joined,
//! like the readers.
//!
//! The caller ends the run with [`Conversation::end`] once it has what it asked for (the
//! harness may not exit by itself: an ACP agent waits for the next prompt). It may leave
//! [`Conversation::set_farewell`] bytes: what the runner sends before it stops the run on a
//! timeout or an interruption (ACP's `session/cancel`), giving the harness a moment to wind
//! down before the TERM.

use std::io::Write;
use std::process::ChildStdin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Clone, Default)]
pub struct Conversation {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    pipe: Mutex<Pipe>,
    over: AtomicBool,
    /// The farewell was sent: the run is being stopped.
    leaving: AtomicBool,
    /// Bytes sent and not yet written: an agent that stops reading cannot make forge hold
    /// more than [`MAX_PENDING`].
    pending: Arc<AtomicUsize>,
}

/// The most bytes waiting for the harness to read them.
pub const MAX_PENDING: usize = 64 << 20;

#[derive(Default)]
struct Pipe {
    /// What was sent before the pipe was attached.
    queued: Vec<Vec<u8>>,
    /// The writer thread's queue; None before the run starts and once the pipe is closed.
    writer: Option<Sender<Vec<u8>>>,
    closed: bool,
    farewell: Option<Vec<u8>>,
}

impl std::fmt::Debug for Conversation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversation")
            .field("over", &self.is_over())
            .finish_non_exhaustive()
    }
}

impl Conversation {
    pub fn new() -> Self {
        Self::default()
    }

    fn pipe(&self) -> std::sync::MutexGuard<'_, Pipe> {
        self.inner
            .pipe
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `bytes` for the harness's stdin (dropped once the pipe is closed). False when
    /// they would take what waits past [`MAX_PENDING`]: the harness does not read, and the
    /// bytes are dropped.
    pub fn send(&self, bytes: Vec<u8>) -> bool {
        let pending = &self.inner.pending;
        if pending.load(Ordering::SeqCst) + bytes.len() > MAX_PENDING {
            return false;
        }
        let mut pipe = self.pipe();
        if pipe.closed {
            return true;
        }
        pending.fetch_add(bytes.len(), Ordering::SeqCst);
        match &pipe.writer {
            Some(writer) => {
                let _ = writer.send(bytes);
            }
            None => pipe.queued.push(bytes),
        }
        true
    }

    /// What to send when the run is stopped from outside (None: nothing).
    pub fn set_farewell(&self, bytes: Option<Vec<u8>>) {
        self.pipe().farewell = bytes;
    }

    /// The caller has what it needs: the runner closes stdin and ends the run, stopping
    /// whatever of the harness is still running after a moment.
    pub fn end(&self) {
        self.inner.over.store(true, Ordering::SeqCst);
    }

    pub fn is_over(&self) -> bool {
        self.inner.over.load(Ordering::SeqCst)
    }

    /// Whether the runner has sent the farewell: the run is being stopped, and what the
    /// harness asks now is answered as cancelled.
    pub fn is_leaving(&self) -> bool {
        self.inner.leaving.load(Ordering::SeqCst)
    }

    /// Starts the writer thread on the child's stdin and hands it what was queued.
    pub(super) fn attach(&self, mut stdin: ChildStdin) -> std::io::Result<()> {
        let (tx, rx) = channel::<Vec<u8>>();
        let mut pipe = self.pipe();
        for bytes in pipe.queued.drain(..) {
            let _ = tx.send(bytes);
        }
        if !pipe.closed {
            pipe.writer = Some(tx);
        }
        drop(pipe);
        let pending = self.inner.pending.clone();
        // Ends with EPIPE once the child is gone, or when the queue is dropped (closing
        // stdin); a child that never reads blocks only this thread.
        std::thread::Builder::new()
            .name("forge-stdin".into())
            .spawn(move || {
                for bytes in rx {
                    let written = stdin.write_all(&bytes).and_then(|()| stdin.flush());
                    pending.fetch_sub(bytes.len(), Ordering::SeqCst);
                    if written.is_err() {
                        return;
                    }
                }
            })
            .map(|_| ())
    }

    /// Sends the farewell, if there is one and the pipe is open; says whether it did.
    pub(super) fn say_farewell(&self) -> bool {
        let mut pipe = self.pipe();
        let Some(bytes) = pipe.farewell.take() else {
            return false;
        };
        match (&pipe.writer, pipe.closed) {
            (Some(writer), false) => {
                self.inner.leaving.store(true, Ordering::SeqCst);
                writer.send(bytes).is_ok()
            }
            _ => false,
        }
    }

    /// As if the farewell had been sent (unit tests have no pipe).
    #[cfg(test)]
    pub fn leave(&self) {
        self.inner.leaving.store(true, Ordering::SeqCst);
    }

    /// What was sent and not yet handed to a pipe (none is attached in unit tests).
    #[cfg(test)]
    pub fn take_queued(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.pipe().queued)
    }

    /// Closes the harness's stdin once what is queued is written.
    pub(super) fn close(&self) {
        let mut pipe = self.pipe();
        pipe.closed = true;
        pipe.writer = None;
        pipe.queued.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_sent_after_close_and_the_farewell_goes_once() {
        let c = Conversation::new();
        assert!(c.send(b"early\n".to_vec()));
        assert!(!c.send(vec![b'x'; MAX_PENDING]));
        assert_eq!(c.pipe().queued.len(), 1);
        c.set_farewell(Some(b"bye\n".to_vec()));
        // Not attached: nowhere to say it.
        assert!(!c.say_farewell());
        c.close();
        assert!(c.send(b"late\n".to_vec()));
        assert!(c.pipe().queued.is_empty());
        assert!(!c.is_over());
        c.clone().end();
        assert!(c.is_over());
    }
}
