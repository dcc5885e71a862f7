//! Reclaiming steps whose owner died (a `kill -9`, a reboot): their processes are stopped,
//! their worktree is saved to the attic, and they are marked interrupted.

use std::path::Path;

use crate::ledger::Payload;
use serde::Serialize;

use crate::error::Result;
use crate::step::checkpoint::{self, State, transition};
use crate::step::gc::save_to_attic;
use crate::step::lease;
use crate::workspace::Workspace;

/// How a reclaimed step's reason begins. Its harness was never compared for changes
/// outside the step (forge died first), so such a step is not revised: a new attempt is.
pub const OWNER_GONE: &str = "interrupted: the process running it";

#[derive(Debug, Clone, Serialize)]
pub struct Reclaimed {
    pub step: String,
    pub bead: String,
    pub attic: Option<String>,
    /// Leftover harness processes that were killed.
    pub killed: Vec<u32>,
    pub session_id: String,
}

/// Processes whose environment carries the step's run marker (`FORGE_RUN`, see
/// [`crate::step::run_marker`]): what a dead owner's harness left running.
fn stray_processes(layout: &crate::store::Layout, step: &str) -> Vec<u32> {
    let marker = format!(
        "{}={}",
        crate::harness::process::RUN_MARKER,
        crate::step::run_marker(layout, step)
    );
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != std::process::id())
        .filter(|pid| {
            std::fs::read(Path::new("/proc").join(pid.to_string()).join("environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == marker.as_bytes()))
        })
        .collect()
}

fn kill(pids: &[u32]) {
    for &pid in pids {
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

/// A `git worktree add` killed halfway leaves an admin directory without its `commondir`
/// or `gitdir`, and every later `git worktree` command of the repository then fails
/// ("failed to read .../commondir"): such a leftover of this step is removed, with the
/// worktree directory if it never got its `.git` file. A complete one stays for the attic.
fn drop_half_made_worktree(ws: &Workspace, cp: &crate::step::Checkpoint) {
    let admin = crate::step::contain::admin_dir(&ws.layout, cp);
    let complete = ["commondir", "gitdir", "HEAD"]
        .iter()
        .all(|f| admin.join(f).is_file());
    if admin.is_dir() && !complete {
        let _ = std::fs::remove_dir_all(&admin);
        let worktree = ws.layout.step_worktree(&cp.worktree);
        if !worktree.join(".git").exists() {
            let _ = std::fs::remove_dir_all(&worktree);
        }
    }
}

/// Every active step whose bead's lease nobody holds.
pub fn reclaim(ws: &mut Workspace) -> Result<Vec<Reclaimed>> {
    let mut out = Vec::new();
    for mut cp in checkpoint::load_all(&ws.layout)? {
        if !cp.state.is_active() {
            continue;
        }
        // Holding the lease ourselves both proves the owner is gone and keeps a new step of
        // the bead from starting while we clean up.
        let Some(_lease) = lease::try_take(&ws.layout, &cp.bead)? else {
            continue;
        };
        let killed = stray_processes(&ws.layout, &cp.step);
        kill(&killed);
        drop_half_made_worktree(ws, &cp);
        let worktree = ws.layout.step_worktree(&cp.worktree);
        let attic = if worktree.is_dir() {
            save_to_attic(&ws.layout, &cp).ok()
        } else {
            None
        };
        cp.reason = format!("{OWNER_GONE} ({}) is gone", cp.owner_pid);
        cp.finished = ws.clock.now();
        let (owner_pid, was) = (cp.owner_pid, cp.state);
        let event = |at| Payload::StepReclaimed {
            at,
            owner_pid,
            attic: attic.clone(),
            killed: killed.clone(),
            was: Some(was),
        };
        transition(ws, &mut cp, State::Interrupted, event, &mut ())?;
        out.push(Reclaimed {
            step: cp.step.clone(),
            bead: cp.bead.clone(),
            attic,
            killed,
            session_id: cp.session_id.clone(),
        });
    }
    Ok(out)
}
