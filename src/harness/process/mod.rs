//! Running a harness under forge's control.
//!
//! The child gets its own process group, stdin from /dev/null (or the bytes given), the
//! environment it is handed and nothing else. Output lines are copied to a log file and
//! handed to the caller as they arrive. A wall-clock timeout and an idle timeout stop it:
//! TERM to the group, a grace period, KILL to the group, then any descendant that escaped
//! the group. Reads have deadlines, so a child that escaped and holds the pipe cannot hang
//! forge.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::adapter::Stream;
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct Spawn {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment; nothing is inherited.
    pub env: Vec<(String, String)>,
    /// None: stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Both streams are appended here, line by line, as they arrive.
    pub log: PathBuf,
    pub timeout: Duration,
    pub idle_timeout: Option<Duration>,
    /// Between TERM and KILL.
    pub grace: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    Exited,
    WallTimeout,
    IdleTimeout,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finished {
    /// None when killed by a signal.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub ended_by: EndedBy,
    pub duration_ms: u64,
    /// Processes that outlived the harness's own exit (or the group kill) and were killed.
    pub escaped_killed: Vec<u32>,
}

/// Runs `spawn` to completion, calling `on_line` for each line of output on this thread.
pub fn run(spawn: &Spawn, on_line: &mut dyn FnMut(Stream, &str)) -> Result<Finished> {
    imp::run(spawn, on_line)
}

mod imp;
