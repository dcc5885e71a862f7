//! The run loop: spawn, pump output, watch the clocks, and clean up the process tree.

use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};

use super::cgroup::Cgroup;
use super::output::{Msg, Output, open_log, read_pipe};
use super::tree::{self, EnvCheck, Tracker};
use super::{EndedBy, Finished, Spawn};
use crate::error::{Error, Result};
use crate::harness::adapter::Stream;

/// How often the main loop wakes up to check the child and the clocks.
const TICK: Duration = Duration::from_millis(50);
/// How often the process tree is scanned while the harness runs (to learn its descendants
/// before they can escape).
const SCAN_EVERY: Duration = Duration::from_millis(200);
/// After the harness exits, how long its output may take to reach end of file before the
/// processes still holding the pipes are killed.
pub const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(1);
/// After everything is killed, the readers deliver what is left while it keeps coming: until
/// nothing arrived for `FINAL_DRAIN`, and at most for `FINAL_DRAIN_CAP`.
const FINAL_DRAIN: Duration = Duration::from_millis(250);
const FINAL_DRAIN_CAP: Duration = Duration::from_secs(1);
/// How long a harness whose conversation forge ended gets to exit on its own.
const CONCLUDE_WAIT: Duration = Duration::from_secs(3);
/// How long a conversation's farewell (see `conversation.rs`) may take to be answered
/// before the TERM, at most (and never more than the grace).
const FAREWELL_WAIT: Duration = Duration::from_secs(2);
/// How long killed processes get to die before forge stops waiting to reap them.
const REAP_WAIT: Duration = Duration::from_millis(500);
/// Pipe reads, and the depth of the channel in batches (memory stays bounded when the
/// caller is slower than the harness: the harness then blocks on its writes).
pub(super) const READ_BUF: usize = 64 * 1024;
const CHANNEL_DEPTH: usize = 8;

pub fn run(spawn: &Spawn, on_line: &mut dyn FnMut(Stream, &str)) -> Result<Finished> {
    let start = Instant::now();
    let log = open_log(&spawn.log)?;
    tree::become_subreaper();

    let mut cmd = match &spawn.sandbox {
        Some(policy) => {
            // The running binary itself, even if it was replaced on disk since it started
            // (an upgrade during a tick): the child's /proc/self/exe is forge's inode.
            let exe = if Path::new("/proc/self/exe").exists() {
                std::path::PathBuf::from("/proc/self/exe")
            } else {
                std::env::current_exe().map_err(|e| Error::io("forge's own executable", e))?
            };
            let mut cmd = Command::new(exe);
            cmd.args(crate::sandbox::exec::argv(
                policy,
                &spawn.program,
                &spawn.args,
            ));
            cmd
        }
        None => {
            let mut cmd = Command::new(&spawn.program);
            cmd.args(&spawn.args);
            cmd
        }
    };
    cmd.current_dir(&spawn.cwd)
        .env_clear()
        .envs(spawn.env.iter().map(|(k, v)| (k, v)))
        .stdin(if spawn.stdin.is_some() || spawn.conversation.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if spawn.sandbox.is_none() {
        // The trampoline calls setsid(), which makes it a group leader too (and fails in
        // one that already is).
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| Error::io(&spawn.program, e))?;
    let marker = spawn
        .env
        .iter()
        .find(|(k, v)| k == super::RUN_MARKER && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}").into_bytes());
    // A unified-hierarchy cgroup enforcing the limits holds the tree already (the
    // trampoline joins it); moving the harness to another would take it out of the limits.
    let limits_v2 = spawn
        .sandbox
        .as_ref()
        .and_then(|p| p.cgroups.iter().find(|j| j.v2));
    let cgroup = match limits_v2 {
        Some(j) => Some(Cgroup::adopt(j.dir.clone())),
        None => Cgroup::create(child.id() as i32),
    };
    let mut tracker = Tracker::new(child.id() as i32, marker, cgroup);
    tracker.scan(EnvCheck::Skip);

    // Everything below must end with the tree cleaned up, so failures to start the helper
    // threads are remembered and handled like a timeout.
    let mut failure: Option<Error> = None;
    if let Some(conversation) = &spawn.conversation {
        if let Some(stdin) = child.stdin.take()
            && let Err(e) = conversation.attach(stdin)
        {
            failure = Some(Error::io(&spawn.program, e));
        }
    } else if let (Some(bytes), Some(mut stdin)) = (spawn.stdin.clone(), child.stdin.take()) {
        // A child that never reads stdin must not block forge: write from a thread, which
        // ends with EPIPE once the child is gone. Dropping the pipe closes it.
        let spawned = std::thread::Builder::new()
            .name("forge-stdin".into())
            .spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        if let Err(e) = spawned {
            failure = Some(Error::io(&spawn.program, e));
        }
    }
    let activity = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::sync_channel::<Msg>(CHANNEL_DEPTH);
    let mut open = 0;
    let pipes: [(Stream, Option<Box<dyn Read + Send>>); 2] = [
        (
            Stream::Stdout,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            Stream::Stderr,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ];
    for (stream, pipe) in pipes {
        let Some(pipe) = pipe else { continue };
        let (tx, activity) = (tx.clone(), activity.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("forge-{stream:?}").to_lowercase())
            .spawn(move || read_pipe(pipe, stream, &tx, &activity, start));
        match spawned {
            Ok(_) => open += 1,
            Err(e) => failure = Some(Error::io(&spawn.program, e)),
        }
    }
    drop(tx);
    let mut out = Output {
        rx,
        open,
        log,
        log_err: None,
        on_line,
        panic: None,
        last_msg: Instant::now(),
    };

    let wall = start + spawn.timeout;
    let idle_ms = spawn.idle_timeout.map(|d| d.as_millis() as u64);
    let mut next_scan = Instant::now() + SCAN_EVERY;
    let mut status: Option<ExitStatus> = None;
    let mut ended_by = EndedBy::Exited;
    let interrupt = super::interrupt_flag();
    while failure.is_none() && out.panic.is_none() {
        status = child.try_wait().ok().flatten();
        if status.is_some() {
            break;
        }
        let stopped = spawn
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed));
        if interrupt.load(Ordering::Relaxed) || stopped {
            ended_by = EndedBy::Interrupted;
            break;
        }
        if spawn.conversation.as_ref().is_some_and(|c| c.is_over()) {
            ended_by = EndedBy::Concluded;
            break;
        }
        let now = Instant::now();
        if now >= wall {
            ended_by = EndedBy::WallTimeout;
            break;
        }
        let mut until = (now + TICK).min(wall);
        if let Some(idle_ms) = idle_ms {
            let last = start + Duration::from_millis(activity.load(Ordering::Relaxed));
            let idle_deadline = last + Duration::from_millis(idle_ms);
            if now >= idle_deadline {
                ended_by = EndedBy::IdleTimeout;
                break;
            }
            until = until.min(idle_deadline);
        }
        if now >= next_scan {
            tracker.scan(EnvCheck::Orphans);
            next_scan = now + SCAN_EVERY;
        }
        out.wait_until(until);
    }

    // A panic in `on_line` or a failure to start a thread: stop everything as on a timeout
    // (the panic is resumed once the tree is dead).
    let broken = failure.is_some() || out.panic.is_some();
    if let Some(conversation) = &spawn.conversation {
        let stopped = matches!(
            ended_by,
            EndedBy::WallTimeout | EndedBy::IdleTimeout | EndedBy::Interrupted
        );
        if stopped && !broken && conversation.say_farewell() {
            // The harness gets a moment to answer the farewell (a cancelled turn) before
            // the TERM; the caller ends the conversation once it has.
            let until = Instant::now() + spawn.grace.min(FAREWELL_WAIT);
            while !conversation.is_over() && Instant::now() < until {
                status = child.try_wait().ok().flatten();
                if status.is_some() {
                    break;
                }
                out.pump_until((Instant::now() + TICK).min(until));
            }
        }
        conversation.close();
        if ended_by == EndedBy::Concluded && !broken {
            // With stdin closed, a harness that is done exits by itself (codex-acp takes
            // about 2 s to stop its app server; OpenHands never does).
            let until = Instant::now() + CONCLUDE_WAIT;
            while status.is_none() && Instant::now() < until {
                out.wait_until((Instant::now() + TICK).min(until));
                status = child.try_wait().ok().flatten();
            }
        }
    }
    let concluded = ended_by == EndedBy::Concluded && status.is_some();
    if (ended_by == EndedBy::Exited || concluded) && !broken {
        // The harness is gone; give its output a moment to reach end of file. Anything still
        // holding the pipes after that is killed below, and the readers are not waited for.
        let exited = Instant::now();
        let drain = (exited + DRAIN_AFTER_EXIT).min(wall.max(exited + TICK * 4));
        while !out.closed() && Instant::now() < drain {
            out.pump_until(drain);
        }
    }
    let escaped_killed = clean_up(
        &mut tracker,
        &mut child,
        &mut status,
        &mut out,
        spawn.grace,
        // A harness that exited by itself left behind whatever still runs. One whose
        // conversation forge ended was stopped on purpose, with the helpers in its group.
        ended_by == EndedBy::Exited && !broken,
    );
    let status = match status {
        Some(s) => Some(s),
        None => wait_child(&mut child, REAP_WAIT),
    };
    // Everything is dead now, so what is left in the pipes is finite: read it while it
    // keeps coming (a slow `on_line` must not lose the last lines), within a cap, since a
    // process forge could not kill might still hold a pipe.
    let cap = Instant::now() + FINAL_DRAIN_CAP;
    while !out.closed() {
        let until = (out.last_msg + FINAL_DRAIN).min(cap);
        if Instant::now() >= until {
            break;
        }
        out.pump_until(until);
    }
    out.flush();
    if let Some(payload) = out.panic.take() {
        std::panic::resume_unwind(payload);
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(e) = out.log_err.take() {
        return Err(Error::io(&spawn.log, e));
    }
    Ok(Finished {
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        ended_by,
        duration_ms: start.elapsed().as_millis() as u64,
        escaped_killed,
    })
}

/// Stops the harness (if it still runs) and every process of its tree, and returns the
/// pids of the processes that escaped: those outside the harness's process group, and, when
/// the harness exited by itself (`left_behind`), every process it left running. forge's own
/// helpers in the tree (the network namespace's forwarder) are stopped but never counted.
///
/// TERM goes to the group and to each escaped process; then forge waits up to `grace`
/// (less when everything is gone sooner), pumping output so a child writing on its way out
/// cannot block; then KILL goes to the group and, after a stop-the-world sweep, to every
/// process of the run that is still alive; then the zombies are reaped.
fn clean_up(
    tracker: &mut Tracker,
    child: &mut Child,
    status: &mut Option<ExitStatus>,
    out: &mut Output<'_>,
    grace: Duration,
    left_behind: bool,
) -> Vec<u32> {
    let root = tracker.root();
    let root_pid = Pid::from_raw(root);
    let mut escaped: BTreeSet<u32> = BTreeSet::new();
    // Told apart while they still run (a killed process's executable is gone): pid and
    // start time of each helper found.
    let mut helpers: HashSet<(i32, u64)> = HashSet::new();
    let note = |p: &tree::Proc, escaped: &mut BTreeSet<u32>, helpers: &HashSet<(i32, u64)>| {
        if p.pid != root && (left_behind || p.pgrp != root) && !helpers.contains(&(p.pid, p.start))
        {
            escaped.insert(p.pid as u32);
        }
    };

    let alive = |tracker: &mut Tracker, env| -> Vec<tree::Proc> {
        tracker
            .scan(env)
            .into_iter()
            .filter(|p| p.pid != root && p.alive())
            .collect()
    };
    let survivors = alive(tracker, EnvCheck::All);
    if status.is_some() && survivors.is_empty() {
        tracker.reap(REAP_WAIT);
        return Vec::new();
    }
    // Before any signal: a dying process's command line is already gone.
    helpers.extend(
        survivors
            .iter()
            .filter(|p| tree::forge_helper(p))
            .map(|p| (p.pid, p.start)),
    );

    // Once the harness is reaped its pid, and so its group id, is only reserved while a
    // member is left: signal the group only then, so a reused id is never hit.
    let group = root_pid.filter(|_| status.is_none() || survivors.iter().any(|p| p.pgrp == root));
    if let Some(pgid) = group {
        let _ = kill_process_group(pgid, Signal::TERM);
    }
    if let Some(pid) = root_pid
        && status.is_none()
    {
        // Not reaped yet, so the pid is still the harness's even if it left the group.
        let _ = kill_process(pid, Signal::TERM);
    }
    for p in &survivors {
        if p.pgrp != root {
            tree::signal(p, Signal::TERM);
        }
        note(p, &mut escaped, &helpers);
    }
    let grace_end = Instant::now() + grace;
    loop {
        if status.is_none() {
            *status = child.try_wait().ok().flatten();
        }
        let alive_now = alive(tracker, EnvCheck::Orphans);
        if status.is_some() && alive_now.is_empty() {
            break;
        }
        let now = Instant::now();
        if now >= grace_end {
            break;
        }
        out.wait_until((now + TICK).min(grace_end));
    }

    if let Some(pgid) = group {
        let _ = kill_process_group(pgid, Signal::KILL);
    }
    if status.is_none() {
        let _ = child.kill();
    }
    for p in tracker.sweep() {
        note(&p, &mut escaped, &helpers);
    }
    tracker.reap(REAP_WAIT);
    escaped.into_iter().collect()
}

/// Waits for the (killed) harness to be reaped, up to `wait`. A process stuck in the kernel
/// (uninterruptible sleep) may outlast it; it is then reported without a status.
fn wait_child(child: &mut Child, wait: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + wait;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
