//! Running a harness under forge's control.
//!
//! The child gets its own process group, stdin from /dev/null (or the bytes given, written
//! from a separate thread and then closed), the environment it is handed and nothing else.
//! Output lines of both streams are appended to a log file in arrival order and handed to
//! the caller as they arrive; a line longer than [`MAX_LINE_BYTES`] is split into pieces of
//! at most that size (see `lines.rs`), so memory stays bounded whatever the harness prints.
//!
//! A wall-clock timeout and an idle timeout (no byte on either stream) stop it: TERM to the
//! group and to every process that escaped it, up to `grace` of waiting (less once all are
//! gone), KILL to the group, then a sweep that stops and kills every remaining process of
//! the run, and reaping. When the harness exits by itself, its output gets
//! [`DRAIN_AFTER_EXIT`] to reach end of file; whatever it left running (a daemon holding the
//! pipe) then gets the same TERM, grace, KILL treatment. Reader threads are never joined,
//! so a process holding a pipe cannot hang forge. `run` returns a few hundred milliseconds
//! after `timeout + grace` at worst in practice; processes that refuse to die even on KILL
//! (stuck in the kernel) and output that keeps coming from a process forge cannot kill can
//! add up to about 1.5 s more. If `on_line` panics, the run is stopped the same way and the
//! panic is resumed once the tree is dead.
//!
//! Which processes belong to a run is decided in `tree.rs`: the harness's process group,
//! its descendants as seen by scans of `/proc` while it runs (forge is a child subreaper, so
//! orphans stay forge's descendants), and any process whose environment holds the run's
//! `FORGE_RUN=...` entry; where cgroup v2 is writable, also every member of a cgroup made
//! for the run (`cgroup.rs`). The marker must be unique to the run among runs that overlap in
//! time: a run's clean-up kills every process carrying it that started after the run did.

use std::path::PathBuf;

/// The environment variable whose entry marks a run's processes. Its value must be unique
/// among runs that overlap in time on the machine, across repositories too: a run's
/// clean-up kills every process carrying it that started after the run did. (`FORGE_STEP`
/// names the step for the harness and is not unique: two repositories can have a step of
/// the same id, and seeded test runs do.)
pub const RUN_MARKER: &str = "FORGE_RUN";
use std::time::Duration;

use serde::Serialize;

use super::adapter::Stream;
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct Spawn {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment; nothing is inherited. A `FORGE_RUN` entry ([`RUN_MARKER`]) marks the
    /// run's processes (see the module documentation).
    pub env: Vec<(String, String)>,
    /// None: stdin is /dev/null (unless there is a `conversation`).
    pub stdin: Option<Vec<u8>>,
    /// forge talks with the harness over its stdin while it runs (see `conversation.rs`);
    /// `stdin` is then ignored.
    pub conversation: Option<Conversation>,
    /// Both streams are appended here, line by line, as they arrive (the file and its
    /// directory are created). A path inside a `.forge` directory is refused: raw output
    /// may hold secrets.
    pub log: PathBuf,
    pub timeout: Duration,
    pub idle_timeout: Option<Duration>,
    /// Between TERM and KILL.
    pub grace: Duration,
    /// Run under this sandbox policy (through forge's trampoline, `sandbox::exec`).
    pub sandbox: Option<crate::sandbox::Policy>,
    /// Set: the run is stopped like on forge's interruption ([`interrupt_flag`]), and ends
    /// [`EndedBy::Interrupted`].
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    Exited,
    WallTimeout,
    IdleTimeout,
    /// forge itself was asked to stop (Ctrl-C, SIGTERM, SIGHUP): see [`interrupt_flag`].
    Interrupted,
    /// forge ended the conversation once it had its answer ([`Conversation::end`]); what
    /// of the harness still ran was stopped.
    Concluded,
}

/// Set (by the CLI's signal handler) when forge is asked to stop. A running harness is then
/// stopped like on a timeout, so that no process outlives forge's interruption.
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    static FLAG: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
        std::sync::OnceLock::new();
    FLAG.get_or_init(Default::default).clone()
}

#[derive(Debug, Clone, Serialize)]
pub struct Finished {
    /// None when killed by a signal.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub ended_by: EndedBy,
    pub duration_ms: u64,
    /// Processes that outlived the harness's own exit (or, on a timeout, that had left its
    /// process group) and that forge signalled one by one, in pid order.
    pub escaped_killed: Vec<u32>,
}

/// Runs `spawn` to completion, calling `on_line` for each line of output on this thread.
///
/// Errors: the log cannot be opened (or lies inside `.forge/`), the program cannot be
/// started, or the log could not be written (reported after the run, whose lines were still
/// delivered and whose process tree was cleaned up as always).
pub fn run(spawn: &Spawn, on_line: &mut dyn FnMut(Stream, &str)) -> Result<Finished> {
    imp::run(spawn, on_line)
}

mod cgroup;
mod conversation;
mod imp;
mod lines;
mod output;
mod tree;

pub use conversation::{Conversation, MAX_PENDING};
pub use imp::DRAIN_AFTER_EXIT;
pub use lines::MAX_LINE_BYTES;

#[cfg(test)]
mod tests;
