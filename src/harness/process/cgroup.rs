//! A cgroup per run, where cgroup v2 is mounted and forge may create cgroups.
//!
//! Membership in a cgroup is inherited on fork and cannot be shed by `setsid`, double
//! forks or a cleared environment, so it catches what the `/proc` scan cannot attribute
//! (a daemon orphaned before any scan saw its parent, with no `FORGE_RUN` left in its
//! environment), and `cgroup.kill` kills every member at once. It is an extra net, never
//! required: without a writable cgroup v2 hierarchy the scan in `tree.rs` does the work.
//!
//! The harness is moved into the cgroup right after it is spawned (std cannot start it
//! there without unsafe code), stopped while it moves; see [`Cgroup::create`].

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

#[cfg(test)]
thread_local! {
    /// Tests prove the scan alone by default, and opt in to cgroups where they test them.
    static ENABLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Lets runs started on this thread use cgroups (tests only).
#[cfg(test)]
pub(super) fn enable_for_this_thread(on: bool) {
    ENABLED.with(|e| e.set(on));
}

pub(super) struct Cgroup {
    dir: PathBuf,
    /// Made by this module, which removes it; an adopted one is its maker's to remove
    /// (the limits' cgroup, whose counters are read after the run).
    owned: bool,
}

impl Cgroup {
    /// Creates a fresh cgroup under forge's own and moves the just-spawned harness `pid`
    /// (forge's unreaped child, so the pid cannot have been reused) into it; None when that
    /// is not possible here.
    ///
    /// Moving a process between cgroups waits for an RCU grace period, tens of
    /// milliseconds, long enough for a shell to start and fork. The harness is therefore
    /// stopped for the move: SIGSTOP reaches it within microseconds of its exec, while it
    /// is still in the dynamic loader, and children forked after SIGCONT are born inside.
    pub(super) fn create(pid: i32) -> Option<Cgroup> {
        #[cfg(test)]
        if !ENABLED.with(|e| e.get()) {
            return None;
        }
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let base = base()?;
        let target = Pid::from_raw(pid)?;
        let dir = base.join(format!(
            "forge-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).ok()?;
        let stopped = kill_process(target, Signal::STOP).is_ok();
        let moved = std::fs::write(dir.join("cgroup.procs"), pid.to_string()).is_ok();
        if stopped {
            let _ = kill_process(target, Signal::CONT);
        }
        if !moved {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(Cgroup { dir, owned: true })
    }

    /// The cgroup at `dir`, made and joined by someone else (the limits' cgroup, which
    /// the trampoline joins).
    pub(super) fn adopt(dir: PathBuf) -> Cgroup {
        Cgroup { dir, owned: false }
    }

    /// Whether runs can get a cgroup on this machine.
    #[cfg(test)]
    pub(super) fn available() -> bool {
        let Some(base) = base() else {
            return false;
        };
        let probe = base.join(format!("forge-{}-probe", std::process::id()));
        std::fs::create_dir(&probe).is_ok() && std::fs::remove_dir(&probe).is_ok()
    }

    /// The processes in the cgroup now.
    pub(super) fn pids(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// SIGKILLs every member (Linux 5.14 and later). Returns whether the kernel took it.
    pub(super) fn kill(&self) -> bool {
        std::fs::write(self.dir.join("cgroup.kill"), "1").is_ok()
    }

    /// Removes the cgroup once its last member is gone, waiting up to `wait` for that. A
    /// cgroup that stays populated is left behind; a later run sweeps it once empty.
    /// An adopted cgroup is left to its maker.
    pub(super) fn remove(self, wait: Duration) {
        if !self.owned {
            return;
        }
        let until = Instant::now() + wait;
        while std::fs::remove_dir(&self.dir).is_err() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// forge's own cgroup directory in a cgroup v2 mount, if there is one; left-over cgroups of
/// dead forge processes are swept the first time.
fn base() -> Option<PathBuf> {
    static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let base = cgroup2_dir(&mountinfo, &own)?;
        crate::sandbox::limits::sweep_stale(&base, "forge-");
        Some(base)
    })
    .clone()
}

/// Joins the cgroup2 mount point (of a mount showing the hierarchy's root) with the
/// process's path in the unified hierarchy (the `0::` line).
fn cgroup2_dir(mountinfo: &str, own: &str) -> Option<PathBuf> {
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    if path.contains(' ') {
        return None; // "(deleted)" or worse: not a place to create anything
    }
    let mount = mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let fstype = after.split(' ').next()?;
        let fields: Vec<&str> = before.split(' ').collect();
        (fstype == "cgroup2" && fields.get(3) == Some(&"/")).then(|| fields.get(4).copied())?
    })?;
    Some(Path::new(mount).join(path.trim_start_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adopted_cgroup_is_left_to_its_maker() {
        // The limits' cgroup: its counters (oom_kill, pids.events) are read after the run.
        let dir = tempfile::tempdir().unwrap();
        let adopted = dir.path().join("forge-limits-1-0");
        std::fs::create_dir(&adopted).unwrap();
        Cgroup::adopt(adopted.clone()).remove(Duration::ZERO);
        assert!(adopted.is_dir());
    }

    #[test]
    fn finds_the_unified_hierarchy_in_mountinfo() {
        let mountinfo = "\
35 24 0:30 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 24 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
41 24 0:35 /nested /elsewhere rw,relatime - cgroup2 cgroup2 rw
";
        assert_eq!(
            cgroup2_dir(mountinfo, "1:cpu:/\n0::/user.slice/session-1.scope\n"),
            Some(PathBuf::from(
                "/sys/fs/cgroup/unified/user.slice/session-1.scope"
            ))
        );
        assert_eq!(
            cgroup2_dir(mountinfo, "0::/\n"),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(cgroup2_dir(mountinfo, "1:cpu:/\n"), None);
        assert_eq!(cgroup2_dir("", "0::/\n"), None);
    }
}
