//! Which paths a step's processes may read and write.

use std::path::{Path, PathBuf};

use super::{Enforcement, Policy};
use crate::config::{NetworkMode, SandboxConfig};

/// System hierarchies a harness may read: programs, libraries, certificates, locale data.
/// Not `/dev` (block devices, the kernel log) nor `/proc` (other processes' environments
/// and command lines, forge's among them): only the files below, and [`OWN_PROC`].
pub(crate) const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/nix/store",
    "/snap",
    "/run/systemd/resolve",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/loadavg",
    "/proc/uptime",
    "/proc/version",
    "/proc/filesystems",
    "/proc/sys/kernel",
    "/proc/sys/vm",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
];

/// The harness's own `/proc/<pid>`: `/proc/self` as the trampoline resolves it, whose pid
/// the harness keeps across exec (`exec.rs` pins it). Runtimes read their own process
/// there and cannot start without it: glibc's `pthread_getattr_np` reads
/// `/proc/self/maps` for the main thread's stack, and Bun (opencode) aborts with SIGABRT
/// when that fails; they also read `/proc/self/exe`, `cgroup`, `statm`. It shows nothing
/// the harness does not have already (its memory map, its own environment), and no other
/// process: Landlock rules name inodes, so a process the harness starts gets no grant for
/// its own `/proc/<pid>` (only the harness's, which it inherited anyway), and other
/// processes' stay unreadable.
pub(crate) const OWN_PROC: &str = "/proc/self";

/// `/etc` is readable but for these: password hashes, host keys, sudo rules.
const ETC_HIDDEN: &[&str] = &[
    "shadow",
    "shadow-",
    "gshadow",
    "gshadow-",
    "ssh",
    "sudoers",
    "sudoers.d",
    "ssl/private",
];

/// Device files any program may read and write. Not the terminal (`/dev/tty`, the host's
/// ptys): a harness could type into the user's shell with TIOCSTI (ptys of its own come
/// from [`grant_private_ptys`]); not `/dev/shm`, a channel between steps.
const DEV_WRITE: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// Everything a step's policy is made from.
pub struct StepPaths<'a> {
    /// The git common directory.
    pub common_dir: &'a Path,
    /// The step's worktree and its admin directory (`<common>/worktrees/<name>`).
    pub worktree: &'a Path,
    pub admin_dir: &'a Path,
    /// Scratch directories the harness writes (its HOME, TMPDIR, object directory).
    pub scratch: &'a [PathBuf],
    /// The harness's installation (see `install::roots`), and `PATH`.
    pub install: &'a [PathBuf],
    pub path_var: &'a str,
    /// The invoking user's home: never granted as a whole, whatever the heuristics find.
    pub home: Option<&'a Path>,
}

/// The policy for one step, given the decision and the config's grants.
pub fn policy(
    enforcement: Enforcement,
    config: &SandboxConfig,
    paths: &StepPaths<'_>,
    proxy_port: Option<u16>,
) -> Policy {
    let (abi, scoped) = match enforcement {
        Enforcement::Landlock { abi, scoped } => (abi, scoped),
        Enforcement::Unsandboxed => (0, false),
    };
    let mut read: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    read.push(PathBuf::from(OWN_PROC));
    read.extend(etc_entries());
    // git in the worktree reads the repository (config, refs, objects), never forge's
    // runtime directory (other steps' logs and worktrees) or other worktrees' state.
    if let Ok(entries) = std::fs::read_dir(paths.common_dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            if name != "forge" && name != "worktrees" {
                read.push(e.path());
            }
        }
    }
    for dir in paths.path_var.split(':').filter(|d| d.starts_with('/')) {
        let dir = Path::new(dir);
        read.push(dir.to_owned());
        // Version managers (pyenv, rbenv, asdf) put shims on PATH that run their own tree.
        if dir.file_name().is_some_and(|n| n == "shims")
            && let Some(parent) = dir.parent()
        {
            read.push(parent.to_owned());
        }
    }
    // A prefix right under the home (`~/.cargo`, `~/.local`, `~/go`) holds credentials
    // beside the programs: only its `bin` is granted.
    read.extend(paths.install.iter().map(|root| match paths.home {
        Some(home) if root.parent() == Some(home) => root.join("bin"),
        _ => root.clone(),
    }));
    read.extend(config.read.iter().map(|p| expand(p, paths.home)));
    read.retain(|p| {
        !covers_home(p, paths.home) || config.read.iter().any(|r| expand(r, paths.home) == *p)
    });

    let mut write: Vec<PathBuf> = vec![paths.worktree.to_owned(), paths.admin_dir.to_owned()];
    write.extend(paths.scratch.iter().cloned());
    write.extend(DEV_WRITE.iter().map(PathBuf::from));
    write.extend(config.write.iter().map(|p| expand(p, paths.home)));
    read.sort();
    read.dedup();
    Policy {
        abi,
        read,
        write,
        network: config.network,
        proxy_port: (config.network == NetworkMode::Allowlist)
            .then_some(proxy_port)
            .flatten(),
        scoped,
        memory_bytes: config.memory_mb.map(|mb| mb.saturating_mul(1 << 20)),
        max_processes: config.max_processes,
        cgroups: Vec::new(),
        netns: None,
        ptys: false,
        pids: false,
    }
}

/// Gives the policy terminals of its own (see `ptys.rs`): the trampoline mounts a new
/// devpts instance before granting [`super::ptys::GRANTED`]. Only where the machine allows
/// that: the host's `/dev/pts` holds the user's terminals and is never granted.
pub fn grant_private_ptys(policy: &mut Policy) {
    policy.ptys = true;
    policy
        .write
        .extend(super::ptys::GRANTED.iter().map(PathBuf::from));
}

/// Gives the policy a PID namespace of its own (see `pidns.rs`): the trampoline mounts a
/// fresh procfs, where only the sandbox's processes are, before the rules grant all of
/// `/proc` instead of [`OWN_PROC`], so that every process of the tree reads its own
/// `/proc/self`. Only where the machine allows that: the host's `/proc` shows forge's
/// environment and is never granted.
pub fn grant_own_pids(policy: &mut Policy) {
    policy.pids = true;
    policy.read.retain(|p| p != Path::new(OWN_PROC));
    policy.read.push(PathBuf::from("/proc"));
    policy.read.sort();
    policy.read.dedup();
}

/// Listed once per process: every contained run (harness, gates, planner rounds) needs it.
fn etc_entries() -> Vec<PathBuf> {
    static ETC: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    ETC.get_or_init(list_etc).clone()
}

fn list_etc() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/etc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if ETC_HIDDEN.contains(&name.as_str()) {
            continue;
        }
        if name == "ssl" {
            // Certificates, not the private keys beside them.
            if let Ok(ssl) = std::fs::read_dir(e.path()) {
                out.extend(
                    ssl.flatten()
                        .filter(|s| s.file_name() != "private")
                        .map(|s| s.path()),
                );
            }
            continue;
        }
        out.push(e.path());
    }
    out
}

/// `~/x` in config means the invoking user's home.
fn expand(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Whether granting `path` would expose the whole home directory (it is the home or one
/// of its ancestors).
fn covers_home(path: &Path, home: Option<&Path>) -> bool {
    home.is_some_and(|h| h.starts_with(path))
}

/// Checks `[sandbox] read` and `write` entries: absolute (or `~/`), no `..`. Err names the
/// bad entry.
pub fn check_grants(config: &SandboxConfig) -> Result<(), String> {
    for (key, list) in [("read", &config.read), ("write", &config.write)] {
        for p in list {
            let ok = (p.starts_with('/') || p.starts_with("~/"))
                && !Path::new(p)
                    .components()
                    .any(|c| c == std::path::Component::ParentDir);
            if !ok {
                return Err(format!(
                    "[sandbox] {key} entry {p:?} must be an absolute path (or start with ~/) \
                     without `..`"
                ));
            }
            // /proc (or /proc/<pid>) grants the host's processes where the harness has no
            // PID namespace of its own: their environments hold the user's secrets. forge
            // grants what a harness needs of /proc itself.
            let path = Path::new(p);
            if path == Path::new("/proc") || path.starts_with("/proc") || path == Path::new("/") {
                return Err(format!(
                    "[sandbox] {key} entry {p:?} would expose other processes (their \
                     environments hold secrets); remove it: forge grants the harness what it \
                     needs of /proc"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANDLOCK: Enforcement = Enforcement::Landlock {
        abi: 7,
        scoped: true,
    };

    fn paths<'a>(
        common: &'a Path,
        wt: &'a Path,
        home: Option<&'a Path>,
        install: &'a [PathBuf],
    ) -> StepPaths<'a> {
        StepPaths {
            common_dir: common,
            worktree: wt,
            admin_dir: wt,
            scratch: &[],
            install,
            path_var: "/usr/bin:/home/u/.pyenv/shims",
            home,
        }
    }

    #[test]
    fn the_runtime_dir_and_other_worktrees_are_not_readable() {
        let dir = tempfile::tempdir().unwrap();
        let common = dir.path().join(".git");
        for d in ["objects", "refs", "forge", "worktrees", "hooks"] {
            std::fs::create_dir_all(common.join(d)).unwrap();
        }
        std::fs::write(common.join("config"), "").unwrap();
        let wt = dir.path().join("wt");
        let p = policy(
            LANDLOCK,
            &SandboxConfig::default(),
            &paths(&common, &wt, None, &[]),
            Some(4000),
        );
        assert!(p.read.contains(&common.join("objects")));
        assert!(p.read.contains(&common.join("config")));
        assert!(
            !p.read
                .iter()
                .any(|r| r.ends_with("forge") || r.ends_with("worktrees"))
        );
        assert!(!p.read.iter().any(|r| r.ends_with("etc/shadow")));
        assert!(p.write.contains(&wt));
        assert!(!p.write.iter().any(|w| w.starts_with(&common) && *w != wt));
        assert_eq!(p.proxy_port, Some(4000));
        assert!(
            p.read.contains(&PathBuf::from("/home/u/.pyenv")),
            "shims' tree"
        );
    }

    #[test]
    fn the_home_is_never_granted_by_heuristics() {
        let home = Path::new("/home/u");
        let install = [PathBuf::from("/home/u"), PathBuf::from("/home")];
        let p = policy(
            LANDLOCK,
            &SandboxConfig::default(),
            &paths(
                Path::new("/nonexistent"),
                Path::new("/w"),
                Some(home),
                &install,
            ),
            None,
        );
        assert!(!p.read.iter().any(|r| home.starts_with(r)), "{:?}", p.read);
        let granted = SandboxConfig {
            read: vec!["~/".into()],
            ..SandboxConfig::default()
        };
        let p = policy(
            LANDLOCK,
            &granted,
            &paths(Path::new("/nonexistent"), Path::new("/w"), Some(home), &[]),
            None,
        );
        assert!(
            p.read.contains(&PathBuf::from("/home/u/")),
            "explicit grants stand"
        );
    }

    #[test]
    fn prefixes_under_the_home_give_only_their_bin() {
        let home = Path::new("/home/u");
        let install = [
            PathBuf::from("/home/u/.cargo"),
            PathBuf::from("/home/u/.local/lib/node_modules"),
        ];
        let p = policy(
            LANDLOCK,
            &SandboxConfig::default(),
            &paths(
                Path::new("/nonexistent"),
                Path::new("/w"),
                Some(home),
                &install,
            ),
            None,
        );
        assert!(p.read.contains(&PathBuf::from("/home/u/.cargo/bin")));
        assert!(!p.read.contains(&PathBuf::from("/home/u/.cargo")));
        assert!(
            p.read
                .contains(&PathBuf::from("/home/u/.local/lib/node_modules"))
        );
    }

    #[test]
    fn only_its_own_proc_entry_and_no_terminal_by_default() {
        let p = policy(
            LANDLOCK,
            &SandboxConfig::default(),
            &paths(Path::new("/nonexistent"), Path::new("/w"), None, &[]),
            None,
        );
        // `/proc/self`, resolved by the trampoline, never `/proc` or a pid of forge's.
        assert!(p.read.contains(&PathBuf::from(OWN_PROC)));
        let proc = Path::new("/proc");
        assert!(!p.read.iter().any(|r| r == proc), "{:?}", p.read);
        let pid = format!("/proc/{}", std::process::id());
        assert!(!p.read.iter().any(|r| r.starts_with(&pid)), "{:?}", p.read);
        // No terminal: not the host's ptys, not /dev/tty, and no private ones unasked.
        assert!(!p.ptys);
        for dev in ["/dev/tty", "/dev/ptmx", "/dev/pts", "/dev/shm", "/dev"] {
            assert!(
                !p.write.iter().chain(&p.read).any(|w| w == Path::new(dev)),
                "{dev}"
            );
        }
        assert!(
            !p.summary(LANDLOCK)
                .read_extra
                .contains(&PathBuf::from(OWN_PROC)),
            "a system entry, not an extra grant"
        );
    }

    #[test]
    fn private_terminals_come_with_the_flag_the_trampoline_mounts_them_by() {
        let mut p = policy(
            LANDLOCK,
            &SandboxConfig::default(),
            &paths(Path::new("/nonexistent"), Path::new("/w"), None, &[]),
            None,
        );
        let before = p.write.clone();
        grant_private_ptys(&mut p);
        assert!(p.ptys);
        assert!(
            p.summary(LANDLOCK).private_ptys,
            "the ledger says whose they are"
        );
        let added: Vec<&PathBuf> = p.write.iter().filter(|w| !before.contains(w)).collect();
        assert_eq!(
            added,
            [&PathBuf::from("/dev/ptmx"), &PathBuf::from("/dev/pts")]
        );
        assert!(!p.write.contains(&PathBuf::from("/dev/tty")));
        // The flag travels to the trampoline with the grants.
        let json = serde_json::to_string(&p).unwrap();
        let back: Policy = serde_json::from_str(&json).unwrap();
        assert!(back.ptys);
    }

    #[test]
    fn its_own_pid_namespace_grants_all_of_proc_and_says_so() {
        let mut p = policy(
            LANDLOCK,
            &SandboxConfig::default(),
            &paths(Path::new("/nonexistent"), Path::new("/w"), None, &[]),
            None,
        );
        assert!(!p.pids);
        assert!(
            p.summary(LANDLOCK)
                .proc_view
                .contains("only the harness's own")
        );
        grant_own_pids(&mut p);
        assert!(p.pids);
        assert!(p.read.contains(&PathBuf::from("/proc")));
        assert!(!p.read.contains(&PathBuf::from(OWN_PROC)), "{:?}", p.read);
        let summary = p.summary(LANDLOCK);
        assert!(summary.proc_view.contains("PID namespace of its own"));
        assert!(
            !summary.read_extra.contains(&PathBuf::from("/proc")),
            "a system entry, not an extra grant"
        );
        // The flag travels to the trampoline, which makes the namespace before the rules.
        let back: Policy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert!(back.pids);
        // An older policy without the field has no namespace.
        let mut old = serde_json::to_value(&p).unwrap();
        old.as_object_mut().unwrap().remove("pids");
        assert!(!serde_json::from_value::<Policy>(old).unwrap().pids);
    }

    #[test]
    fn grants_must_be_absolute() {
        for bad in [
            "rel/path",
            "/a/../b",
            "~user/x",
            "/proc",
            "/proc/1",
            "/proc/self/",
            "/",
        ] {
            let c = SandboxConfig {
                read: vec![bad.into()],
                ..SandboxConfig::default()
            };
            assert!(check_grants(&c).is_err(), "{bad}");
        }
        let c = SandboxConfig {
            write: vec!["/opt/cache".into(), "~/.cache/x".into()],
            ..SandboxConfig::default()
        };
        assert!(check_grants(&c).is_ok());
    }
}
