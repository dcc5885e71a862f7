//! Finding, signalling and reaping the processes that belong to one harness run.
//!
//! A kill of the harness's process group misses descendants that left the group (`setsid`,
//! `setpgid`, double-forked daemons). forge therefore makes itself a child subreaper, so
//! orphans are re-parented to forge instead of init, and decides which processes belong to
//! a run from `/proc`:
//!
//! - the harness itself (pid and start time), and every member of its process group;
//! - every process seen as a descendant of one of those on an earlier scan (remembered by
//!   pid and start time, so the memory survives re-parenting but not pid reuse);
//! - every process whose initial environment holds the run's `FORGE_RUN=...` entry (the
//!   second net, for orphans that were born and re-parented between two scans);
//! - every member of the run's cgroup, where there is one (see `cgroup.rs`);
//! - and all descendants of any of the above.
//!
//! Only processes started no earlier than the harness are considered, so forge itself,
//! its other children and anything older can never be mistaken for part of a run.
//! Signals go through a pidfd opened after re-checking the start time, so a pid that was
//! reused in the meantime is never signalled.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::io::Errno;

use super::cgroup::Cgroup;
use rustix::process::{
    Pid, PidfdFlags, Signal, WaitOptions, kill_process, pidfd_open, pidfd_send_signal, waitpid,
};

/// One line of `/proc/PID/stat`, the parts forge needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub state: u8,
    /// Clock ticks since boot: with the pid, it names one process for good.
    pub start: u64,
}

impl Proc {
    /// Running, sleeping or stopped: anything but a zombie (or dead and about to vanish).
    pub fn alive(&self) -> bool {
        !matches!(self.state, b'Z' | b'X' | b'x')
    }

    pub fn zombie(&self) -> bool {
        self.state == b'Z'
    }
}

/// Makes forge a child subreaper, once per process. Returns whether it is one.
pub(super) fn become_subreaper() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    // prctl takes any nonzero value as "on"; rustix spells that as a pid.
    *DONE.get_or_init(|| rustix::process::set_child_subreaper(Some(Pid::INIT)).is_ok())
}

pub(super) fn parse_stat(stat: &[u8]) -> Option<Proc> {
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so the fields
    // are counted from the last ')'.
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let pid = std::str::from_utf8(&stat[..open])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    Some(Proc {
        pid,
        state: *fields.first()?.as_bytes().first()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

pub(super) fn read_stat(pid: i32) -> Option<Proc> {
    parse_stat(&std::fs::read(format!("/proc/{pid}/stat")).ok()?)
}

fn all_procs() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_stat)
        .collect()
}

fn environ_has(pid: i32, entry: &[u8]) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|&b| b == 0).any(|e| e == entry))
        .unwrap_or(false)
}

/// Sends `sig` to `p` if it is still the same process (same start time). Returns whether
/// the signal was delivered.
pub(super) fn signal(p: &Proc, sig: Signal) -> bool {
    let Some(pid) = Pid::from_raw(p.pid) else {
        return false;
    };
    let same = || read_stat(p.pid).is_some_and(|q| q.start == p.start);
    match pidfd_open(pid, PidfdFlags::empty()) {
        // The pidfd pins the process: once the start time matches, the signal cannot reach
        // a newcomer that reused the pid.
        Ok(fd) => same() && pidfd_send_signal(&fd, sig).is_ok(),
        Err(Errno::SRCH) => false,
        // No pidfds (old kernel, seccomp): check, then kill, with a tiny reuse window.
        Err(_) => same() && kill_process(pid, sig).is_ok(),
    }
}

/// The first arguments of forge's own helpers that run inside a harness's tree: the
/// network namespace's forwarder (`forge __forward`, started by the trampoline before the
/// harness). They are stopped with the run but are not processes the harness left behind.
const HELPER_ARGS: &[&str] = &[crate::sandbox::netns::FORWARD_ARG];

/// Whether `p` is one of forge's own helpers: forge's executable (the same file as this
/// process's), run with a helper's first argument. A harness that runs forge's binary as
/// `__forward` itself only hides that process from the count; it is stopped all the same.
pub(super) fn forge_helper(p: &Proc) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(cmdline) = std::fs::read(format!("/proc/{}/cmdline", p.pid)) else {
        return false;
    };
    let helper = cmdline
        .split(|&b| b == 0)
        .nth(1)
        .is_some_and(|arg| HELPER_ARGS.iter().any(|h| h.as_bytes() == arg));
    let id = |path: String| std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    helper
        && id("/proc/self/exe".into())
            .is_some_and(|me| id(format!("/proc/{}/exe", p.pid)) == Some(me))
        && read_stat(p.pid).is_some_and(|q| q.start == p.start)
}

/// Which processes may have their environment read for the `FORGE_RUN` marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EnvCheck {
    /// None: a quick scan by ancestry and process group only.
    Skip,
    /// Only orphans re-parented to forge: cheap enough to do on every periodic scan.
    Orphans,
    /// Every process started since the harness: the final sweep.
    All,
}

/// The processes of one run, as far as forge can tell.
pub(super) struct Tracker {
    me: i32,
    root: i32,
    root_start: u64,
    marker: Option<Vec<u8>>,
    /// Processes known to belong to the run: pid to start time.
    known: HashMap<i32, u64>,
    cgroup: Option<Cgroup>,
}

impl Tracker {
    /// `root` is the harness's pid (also its process group id); `marker` the
    /// `FORGE_RUN=value` environment entry unique to this run, if there is one; `cgroup`
    /// the run's own cgroup, if it has one.
    pub(super) fn new(root: i32, marker: Option<Vec<u8>>, cgroup: Option<Cgroup>) -> Self {
        let root_start = read_stat(root).map_or(0, |p| p.start);
        Tracker {
            me: std::process::id() as i32,
            root,
            root_start,
            marker,
            known: HashMap::from([(root, root_start)]),
            cgroup,
        }
    }

    pub(super) fn root(&self) -> i32 {
        self.root
    }

    /// Reads `/proc` and returns every process of the run (zombies included, forge never),
    /// remembering them for the next scan.
    pub(super) fn scan(&mut self, env: EnvCheck) -> Vec<Proc> {
        let procs: Vec<Proc> = all_procs()
            .into_iter()
            .filter(|p| p.start >= self.root_start && p.pid != self.me)
            .collect();
        let members: HashSet<i32> = self
            .cgroup
            .as_ref()
            .map(|c| c.pids())
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut ours: HashSet<i32> = HashSet::new();
        for p in &procs {
            let seed = self.known.get(&p.pid) == Some(&p.start)
                || members.contains(&p.pid)
                || p.pgrp == self.root
                || self.marked(p, env);
            if seed {
                ours.insert(p.pid);
            }
        }
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for p in &procs {
            children.entry(p.ppid).or_default().push(p.pid);
        }
        let mut queue: Vec<i32> = ours.iter().copied().collect();
        while let Some(pid) = queue.pop() {
            for &child in children.get(&pid).into_iter().flatten() {
                if ours.insert(child) {
                    queue.push(child);
                }
            }
        }
        let found: Vec<Proc> = procs
            .into_iter()
            .filter(|p| ours.contains(&p.pid))
            .collect();
        self.known = found.iter().map(|p| (p.pid, p.start)).collect();
        found
    }

    fn marked(&self, p: &Proc, env: EnvCheck) -> bool {
        let Some(marker) = &self.marker else {
            return false;
        };
        let look = match env {
            EnvCheck::Skip => false,
            EnvCheck::Orphans => p.ppid == self.me,
            EnvCheck::All => true,
        };
        look && environ_has(p.pid, marker)
    }

    /// Stops every live process of the run except the harness itself (so none can fork or
    /// respawn a sibling), scanning again until no new one appears, then kills them all.
    /// Returns the processes signalled.
    pub(super) fn sweep(&mut self) -> Vec<Proc> {
        let mut stopped: HashMap<i32, Proc> = HashMap::new();
        for _ in 0..10 {
            let fresh: Vec<Proc> = self
                .scan(EnvCheck::All)
                .into_iter()
                .filter(|p| p.pid != self.root && p.alive() && !stopped.contains_key(&p.pid))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for p in fresh {
                signal(&p, Signal::STOP);
                stopped.insert(p.pid, p);
            }
        }
        let mut killed: Vec<Proc> = stopped
            .into_values()
            .filter(|p| signal(p, Signal::KILL))
            .collect();
        if let Some(cgroup) = &self.cgroup {
            // Whatever forked past the scans: the kernel kills every member.
            cgroup.kill();
        }
        killed.sort_by_key(|p| p.pid);
        killed
    }

    /// Reaps the run's zombies that were re-parented to forge, waiting up to `wait` for
    /// killed processes to finish dying, and removes the run's cgroup. The harness itself
    /// is left to its `Child`.
    pub(super) fn reap(&mut self, wait: Duration) {
        let until = Instant::now() + wait;
        loop {
            let mut dying = false;
            for p in self.scan(EnvCheck::Skip) {
                if p.pid == self.root {
                    continue;
                }
                if p.zombie() {
                    if p.ppid == self.me
                        && let Some(pid) = Pid::from_raw(p.pid)
                    {
                        let _ = waitpid(Some(pid), WaitOptions::NOHANG);
                    }
                } else {
                    dying = true;
                }
            }
            if !dying || Instant::now() >= until {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(cgroup) = self.cgroup.take() {
            cgroup.remove(until.saturating_duration_since(Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_awkward_command_names() {
        let line = b"4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615\n";
        let p = parse_stat(line).unwrap();
        assert_eq!(
            p,
            Proc {
                pid: 4242,
                ppid: 1,
                pgrp: 4242,
                state: b'S',
                start: 987654
            }
        );
        assert!(p.alive());
        assert!(parse_stat(b"garbage").is_none());
        let me = read_stat(std::process::id() as i32).unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        assert!(me.alive() && me.start > 0);
    }
}
