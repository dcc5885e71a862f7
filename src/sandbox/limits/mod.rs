//! Memory and process limits for a contained run (`[sandbox] memory_mb`, `max_processes`).
//!
//! Where a cgroup hierarchy with the controller is writable, the limit is a cgroup's: a
//! fresh cgroup per run with `memory.limit_in_bytes`/`memory.max` or `pids.max` set, which
//! the trampoline joins as its first act, before it runs anything, so every descendant is
//! born inside. The limits then hold for the whole tree, and the kernel counts what hit
//! them (`oom_kill`, `pids.events`) for the step's report. Otherwise the trampoline falls
//! back to rlimits: RLIMIT_AS per process for memory (which runtimes that reserve address
//! space, like node, may not start under) and RLIMIT_NPROC for processes, which counts
//! every process of the user and which root ignores: as root without a pids cgroup,
//! `max_processes` cannot be enforced and the step refuses to start.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

/// A cgroup controller forge limits through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Controller {
    Memory,
    Pids,
}

impl Controller {
    fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
        }
    }
}

/// A cgroup made for one run, which the trampoline joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    pub dir: PathBuf,
    pub controllers: Vec<Controller>,
    /// In the unified (v2) hierarchy: it then also serves to kill the run's tree.
    pub v2: bool,
}

/// Where cgroups with a controller can be made here.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    dir: PathBuf,
    v2: bool,
}

/// The cgroups of one run, removed when dropped (once their members are gone).
#[derive(Debug)]
pub struct Cgroups {
    joined: Vec<Joined>,
}

/// What the limits stopped during a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hits {
    /// Processes the kernel killed for exceeding the memory limit.
    pub oom_kills: u64,
    /// Forks refused for exceeding the process limit.
    pub fork_refusals: u64,
}

impl Hits {
    pub fn any(&self) -> bool {
        self.oom_kills > 0 || self.fork_refusals > 0
    }

    /// A sentence for the step's reason, naming the setting that stopped it.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.oom_kills > 0 {
            parts.push(format!(
                "the memory limit ([sandbox] memory_mb) killed {} process{}",
                self.oom_kills,
                if self.oom_kills == 1 { "" } else { "es" }
            ));
        }
        if self.fork_refusals > 0 {
            parts.push(format!(
                "the process limit ([sandbox] max_processes) refused {} fork{}",
                self.fork_refusals,
                if self.fork_refusals == 1 { "" } else { "s" }
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Why the configured limits cannot be enforced here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unenforceable(pub String);

/// Makes the cgroups that enforce `memory_bytes` and `max_processes` for one run, where
/// the machine has them. Returns them with what the trampoline must join; a limit no
/// cgroup covers is left to the trampoline's rlimits. Fails when `max_processes` would
/// fall to RLIMIT_NPROC as root, which does not limit root.
pub fn make(
    memory_bytes: Option<u64>,
    max_processes: Option<u64>,
) -> Result<Option<Cgroups>, Unenforceable> {
    let mut wanted: Vec<(Controller, u64)> = Vec::new();
    if let Some(b) = memory_bytes {
        wanted.push((Controller::Memory, b));
    }
    if let Some(n) = max_processes {
        wanted.push((Controller::Pids, n));
    }
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut joined: Vec<Joined> = Vec::new();
    // A process is in one cgroup of the unified hierarchy: its controllers share one, made
    // where the first of them is enabled; another enabled only elsewhere falls to rlimits.
    let mut v2_parent: Option<PathBuf> = None;
    for (controller, value) in &wanted {
        let Some(place) = place(*controller) else {
            continue;
        };
        let shared = match (&v2_parent, place.v2) {
            (Some(parent), true) if *parent == place.dir => joined.iter_mut().find(|j| j.v2),
            (Some(_), true) => continue,
            _ => None,
        };
        let dir = match shared {
            Some(j) => {
                j.controllers.push(*controller);
                j.dir.clone()
            }
            None => {
                let dir = fresh_dir(&place.dir);
                if std::fs::create_dir(&dir).is_err() {
                    continue;
                }
                if place.v2 {
                    v2_parent = Some(place.dir.clone());
                }
                joined.push(Joined {
                    dir: dir.clone(),
                    controllers: vec![*controller],
                    v2: place.v2,
                });
                dir
            }
        };
        if let Err(e) = set_limit(&dir, *controller, *value, place.v2) {
            drop(Cgroups { joined });
            return Err(Unenforceable(format!(
                "could not set the {} limit in {}: {e}",
                controller.name(),
                dir.display()
            )));
        }
    }
    let covers = |c: Controller| joined.iter().any(|j| j.controllers.contains(&c));
    if max_processes.is_some() && !covers(Controller::Pids) && rustix::process::geteuid().is_root()
    {
        drop(Cgroups { joined });
        return Err(Unenforceable(
            "[sandbox] max_processes cannot be enforced: no pids cgroup is writable here, and \
             RLIMIT_NPROC does not limit root"
                .into(),
        ));
    }
    Ok(Some(Cgroups { joined }))
}

impl Cgroups {
    /// What the trampoline joins.
    pub fn joined(&self) -> &[Joined] {
        &self.joined
    }

    /// What the limits stopped so far.
    pub fn hits(&self) -> Hits {
        let mut hits = Hits::default();
        for j in &self.joined {
            for c in &j.controllers {
                match c {
                    Controller::Memory => {
                        let file = if j.v2 {
                            "memory.events"
                        } else {
                            "memory.oom_control"
                        };
                        hits.oom_kills += counter(&j.dir.join(file), "oom_kill");
                    }
                    Controller::Pids => {
                        hits.fork_refusals += counter(&j.dir.join("pids.events"), "max");
                    }
                }
            }
        }
        hits
    }
}

impl Drop for Cgroups {
    /// Removes each cgroup once its last member is gone, waiting up to a second; a cgroup
    /// still populated is left for a later run's sweep.
    fn drop(&mut self) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
        for j in &self.joined {
            while std::fs::remove_dir(&j.dir).is_err()
                && j.dir.exists()
                && std::time::Instant::now() < until
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// Joins the cgroups (the trampoline, for itself, before it runs anything).
pub fn join(joined: &[Joined]) -> Result<(), String> {
    let me = std::process::id().to_string();
    for j in joined {
        std::fs::write(j.dir.join("cgroup.procs"), &me)
            .map_err(|e| format!("could not join the cgroup {}: {e}", j.dir.display()))?;
    }
    Ok(())
}

/// Whether the process limit falls to RLIMIT_NPROC, and the memory limit to RLIMIT_AS.
pub fn rlimits_needed(joined: &[Joined]) -> (bool, bool) {
    let covers = |c: Controller| joined.iter().any(|j| j.controllers.contains(&c));
    (!covers(Controller::Memory), !covers(Controller::Pids))
}

/// How each limit is enforced, for reports.
pub fn describe(joined: &[Joined], memory: bool, processes: bool) -> Vec<String> {
    let by = |c: Controller| match joined.iter().find(|j| j.controllers.contains(&c)) {
        Some(j) if j.v2 => "cgroup v2",
        Some(_) => "cgroup v1",
        None => "rlimit",
    };
    let mut out = Vec::new();
    if memory {
        out.push(format!("memory: {}", by(Controller::Memory)));
    }
    if processes {
        out.push(format!("processes: {}", by(Controller::Pids)));
    }
    out
}

/// How a limit on `controller` would be enforced on this machine (for `doctor`).
pub fn mechanism(controller: Controller) -> &'static str {
    match place(controller) {
        Some(p) if p.v2 => "cgroup v2",
        Some(_) => "cgroup v1",
        None if controller == Controller::Pids && rustix::process::geteuid().is_root() => {
            "none (root, no pids cgroup: max_processes refuses)"
        }
        None if controller == Controller::Pids => "RLIMIT_NPROC (all the user's processes)",
        None => "RLIMIT_AS (address space per process)",
    }
}

fn set_limit(dir: &Path, controller: Controller, value: u64, v2: bool) -> std::io::Result<()> {
    match (controller, v2) {
        (Controller::Memory, true) => {
            std::fs::write(dir.join("memory.max"), value.to_string())?;
            // Swap would let the tree grow past the limit; absent without swap accounting.
            let _ = std::fs::write(dir.join("memory.swap.max"), "0");
            Ok(())
        }
        (Controller::Memory, false) => {
            std::fs::write(dir.join("memory.limit_in_bytes"), value.to_string())?;
            let _ = std::fs::write(dir.join("memory.memsw.limit_in_bytes"), value.to_string());
            Ok(())
        }
        (Controller::Pids, _) => std::fs::write(dir.join("pids.max"), value.to_string()),
    }
}

/// `NAME N` in a flat-keyed cgroup file; 0 when absent.
fn counter(file: &Path, name: &str) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == name).then(|| v.trim().parse().ok())?
            })
        })
        .unwrap_or(0)
}

fn fresh_dir(parent: &Path) -> PathBuf {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    parent.join(format!(
        "forge-limits-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Where this process may make cgroups with `controller`, found once per process (and
/// left-overs of dead forge processes swept there).
fn place(controller: Controller) -> Option<Place> {
    static PLACES: OnceLock<(Option<Place>, Option<Place>)> = OnceLock::new();
    let (memory, pids) = PLACES.get_or_init(|| {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let find = |c: Controller| {
            let candidates = candidates(&mountinfo, &own, c, &|dir| {
                std::fs::read_to_string(dir.join("cgroup.subtree_control")).ok()
            });
            let place = candidates.into_iter().find(|p| writable(&p.dir))?;
            sweep_stale(&place.dir, "forge-limits-");
            Some(place)
        };
        (find(Controller::Memory), find(Controller::Pids))
    });
    match controller {
        Controller::Memory => memory.clone(),
        Controller::Pids => pids.clone(),
    }
}

/// Where cgroups with `controller` could be made, best first: a cgroup v1 hierarchy of
/// that controller at this process's own cgroup in it; then, in the unified hierarchy,
/// this process's cgroup or the nearest ancestor that enables the controller for its
/// children (`subtree_control` reads a directory's file).
fn candidates(
    mountinfo: &str,
    own: &str,
    controller: Controller,
    subtree_control: &dyn Fn(&Path) -> Option<String>,
) -> Vec<Place> {
    let mut out = Vec::new();
    let name = controller.name();
    for line in mountinfo.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = before.split(' ').collect();
        let after: Vec<&str> = after.split(' ').collect();
        let (Some(root), Some(mount), Some(fstype), Some(options)) =
            (fields.get(3), fields.get(4), after.first(), after.get(2))
        else {
            continue;
        };
        if *root != "/" {
            continue;
        }
        if *fstype == "cgroup" && options.split(',').any(|o| o == name) {
            let path = own.lines().find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                controllers.split(',').any(|c| c == name).then_some(path)
            });
            if let Some(path) = path.filter(|p| !p.contains(' ')) {
                out.push(Place {
                    dir: Path::new(mount).join(path.trim_start_matches('/')),
                    v2: false,
                });
            }
        }
    }
    for line in mountinfo.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = before.split(' ').collect();
        if after.split(' ').next() != Some("cgroup2") || fields.get(3) != Some(&"/") {
            continue;
        }
        let Some(mount) = fields.get(4) else { continue };
        let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
            continue;
        };
        if path.contains(' ') {
            continue;
        }
        let mut dir = Path::new(mount).join(path.trim_start_matches('/'));
        loop {
            let enables =
                subtree_control(&dir).is_some_and(|s| s.split_whitespace().any(|c| c == name));
            if enables {
                out.push(Place { dir, v2: true });
                break;
            }
            if dir == Path::new(mount) || !dir.pop() {
                break;
            }
        }
    }
    out
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!("forge-limits-{}-probe", std::process::id()));
    std::fs::create_dir(&probe).is_ok() && std::fs::remove_dir(&probe).is_ok()
}

/// Removes the cgroups under `base` named `<prefix><pid>-...` whose forge process `pid` is
/// gone; one that still has members stays (rmdir fails harmlessly). Shared with the run
/// cgroups of `harness::process`.
pub fn sweep_stale(base: &Path, prefix: &str) {
    let Ok(dir) = std::fs::read_dir(base) else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.split('-').next())
            // `forge-limits-...` is not `forge-<pid>-...`.
            .filter(|pid| pid.parse::<u32>().is_ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(owner).exists() {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

#[cfg(test)]
mod tests;
