//! A PID namespace of the harness's own, with a fresh procfs on `/proc`, where the machine
//! allows it: forge runs as root or the kernel lets unprivileged users make user namespaces,
//! and the kernel lets it mount a procfs there (inside a user namespace it refuses when the
//! host's `/proc` has overmounts, as in many containers: `mnt_too_revealing`).
//!
//! Runtimes read their own `/proc/self` to start (Bun aborts without `/proc/self/maps`), and
//! so do the processes a harness starts: claude-agent-acp (Node) starts Claude Code's Bun
//! binary. Landlock rules name inodes and procfs makes one per process, so without a
//! namespace only the harness's own `/proc/<pid>` can be granted (`paths::OWN_PROC`), never
//! its children's; all of the host's `/proc` would show forge's environment, with the user's
//! secrets, to the harness. The fresh `/proc` shows only the sandbox's own processes, so all
//! of it is granted.
//!
//! Three processes, where without the namespace there is one:
//! - the trampoline (`exec.rs`), outside the namespace, stays forge's child: it forwards
//!   signals and ends as the harness ended, with its exit code or of the same signal
//!   ([`supervise`], [`end`]);
//! - PID 1 of the namespace is forge again (`forge __sandbox-init`, [`init_main`]): it mounts
//!   the procfs, applies the Landlock rules, starts the harness, reaps orphans and forwards
//!   signals to the harness (PID 1 receives only the signals it handles); when the harness
//!   ends it reports how to the trampoline and exits, and the kernel kills whatever the
//!   harness left behind in the namespace;
//! - the harness, PID 2.
//!
//! The report travels on a pipe the trampoline makes. The init is not handed a descriptor of
//! it: whatever it inherits, the harness would inherit too (std cannot mark or close a
//! descriptor it does not own without `unsafe`), and could forge a report or fill the pipe.
//! Instead the init opens the pipe anew, close-on-exec and non-blocking, through the
//! trampoline's `/proc/<pid>/fd/<fd>` (named in its argv), before it covers `/proc` with the
//! namespace's own procfs.
//!
//! Besides the PID namespace the harness gets an IPC namespace (System V IPC and POSIX
//! message queues of its own, none of the host's) and a UTS namespace (a hostname of its own).
//! The init is not dumpable (the harness, even as root, cannot ptrace it or read its
//! `/proc/1/*`) and dies with the trampoline (`PR_SET_PDEATHSIG`), taking the namespace with
//! it. A root harness keeps only [`ROOT_CAPABILITIES`].

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use rustix::thread::CapabilitySet;
use std::process::{Command, ExitStatus, Stdio};

use rustix::mount::{MountFlags, MountPropagationFlags, mount, mount_bind, mount_change};
use rustix::thread::UnshareFlags;

use super::netns::Way;

/// The first argument of PID 1 in the namespace.
pub const INIT_ARG: &str = "__sandbox-init";
/// The first argument of the probe that tries the namespace in a process of its own.
pub const PROBE_ARG: &str = "__pidns-probe";

/// Signals the trampoline and the init pass on to the harness. forge stops a harness with
/// TERM then KILL (KILL needs no forwarding: it kills the init, and with it the namespace).
const FORWARDED: &[i32] = &[
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
    signal_hook::consts::SIGUSR1,
    signal_hook::consts::SIGUSR2,
    signal_hook::consts::SIGWINCH,
];

/// Files of the fresh procfs that only root can read and that show the kernel's memory or
/// the host's: covered with `/dev/null` when the harness runs as root. (Writes anywhere in
/// `/proc` are Landlock's to refuse.)
const MASKED: &[&str] = &[
    "/proc/kcore",
    "/proc/kmsg",
    "/proc/kallsyms",
    "/proc/keys",
    "/proc/key-users",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/kpagecount",
    "/proc/kpageflags",
    "/proc/kpagecgroup",
    "/proc/latency_stats",
];

/// Whether harnesses can get a PID namespace here, and how. Found once per process, in a
/// child (`forge __pidns-probe`) that goes through the same steps as the trampoline: a
/// multi-threaded process cannot enter a user namespace.
pub fn available() -> Option<Way> {
    static AVAILABLE: std::sync::OnceLock<Option<Way>> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let status = Command::new("/proc/self/exe")
            .arg(PROBE_ARG)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        match status.code() {
            Some(0) => Some(Way::Direct),
            Some(PROBE_USER_NAMESPACE) => Some(Way::UserNamespace),
            _ => None,
        }
    })
}

/// The probe's exit code when the namespace needs a user namespace.
const PROBE_USER_NAMESPACE: i32 = 3;

/// `forge __pidns-probe [inside]`: makes the namespaces as the trampoline does, then has
/// its first process there (`inside`) mount the procfs. 0: directly; 3: through a user
/// namespace; 1: not here.
pub fn probe_main(args: &[String]) -> i32 {
    if args.first().is_some_and(|a| a == "inside") {
        return i32::from(mount_proc().is_err());
    }
    let Ok(way) = enter(false) else {
        return 1;
    };
    let inside = keep_sys_admin().and_then(|()| {
        Command::new("/proc/self/exe")
            .args([PROBE_ARG, "inside"])
            .stdin(Stdio::null())
            .status()
            .map_err(|e| e.to_string())
    });
    match (inside, way) {
        (Ok(s), Way::Direct) if s.success() => 0,
        (Ok(s), Way::UserNamespace) if s.success() => PROBE_USER_NAMESPACE,
        _ => 1,
    }
}

/// Makes the calling process's next child the first process of a new PID namespace, and
/// gives the caller a mount namespace of its own to mount that namespace's procfs in (unless
/// it has one already, `mount_ns`: the private terminals' or a user namespace's). Directly
/// where it may, else inside a new user namespace (see `netns::own_user_namespace`).
fn enter(mount_ns: bool) -> Result<Way, String> {
    // IPC: the host's System V shared memory, semaphores and message queues would be
    // reachable (by root, and by anyone where their mode lets everyone). UTS: root could
    // rename the host.
    let own = UnshareFlags::NEWPID | UnshareFlags::NEWIPC | UnshareFlags::NEWUTS;
    let flags = if mount_ns {
        own
    } else {
        own | UnshareFlags::NEWNS
    };
    // Deprecated for CLONE_FILES/CLONE_FS; the trampoline is single-threaded.
    #[allow(deprecated)]
    let way = match rustix::thread::unshare(flags) {
        Ok(()) => Way::Direct,
        Err(direct) => {
            super::netns::own_user_namespace(
                flags,
                "CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWNS",
            )
            .map_err(|user| {
                format!(
                    "unshare(CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS): {direct}; \
                     through a user namespace: {user}"
                )
            })?;
            Way::UserNamespace
        }
    };
    // The procfs mounted on /proc must not reach forge's namespace.
    mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| format!("making the mounts private: {e}"))?;
    Ok(way)
}

/// Lets the init, an exec of forge, mount the procfs. Root keeps its capabilities across
/// exec; another uid, even one holding every capability in its own user namespace, loses
/// them, unless they are ambient. The init drops them again before the harness starts.
/// This process keeps no other: the init may open its `/proc/<pid>/fd` only if it holds
/// every capability this process does (commoncap's ptrace check).
fn keep_sys_admin() -> Result<(), String> {
    use rustix::thread::{CapabilitySets, capabilities, set_capabilities};
    if rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let caps = capabilities(None).map_err(|e| format!("capget: {e}"))?;
    let keep = caps.permitted & CapabilitySet::SYS_ADMIN;
    set_capabilities(
        None,
        CapabilitySets {
            effective: keep,
            permitted: keep,
            inheritable: keep,
        },
    )
    .map_err(|e| format!("capset: {e}"))?;
    rustix::thread::configure_capability_in_ambient_set(CapabilitySet::SYS_ADMIN, true)
        .map_err(|e| format!("keeping CAP_SYS_ADMIN for the init: {e}"))
}

/// Mounts the namespace's procfs on `/proc` (called by its first process) and, for root,
/// covers [`MASKED`].
fn mount_proc() -> Result<(), String> {
    mount(
        "proc",
        "/proc",
        "proc",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        None,
    )
    .map_err(|e| {
        format!(
            "mounting a procfs on /proc: {e} (the kernel refuses it in a user namespace where \
             /proc has overmounts, as in many containers)"
        )
    })?;
    if rustix::process::geteuid().is_root() {
        for file in MASKED {
            if std::fs::symlink_metadata(file).is_ok() {
                mount_bind("/dev/null", *file).map_err(|e| format!("covering {file}: {e}"))?;
            }
        }
    }
    Ok(())
}

/// How the harness ended, as the init reports it to the trampoline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Code(i32),
    Signal(i32),
}

impl Ended {
    fn encode(self) -> String {
        match self {
            Ended::Code(n) => format!("exit {n}"),
            Ended::Signal(s) => format!("signal {s}"),
        }
    }

    fn decode(text: &str) -> Option<Ended> {
        let (kind, n) = text.trim().split_once(' ')?;
        let n = n.parse().ok()?;
        match kind {
            "exit" => Some(Ended::Code(n)),
            "signal" => Some(Ended::Signal(n)),
            _ => None,
        }
    }

    fn of(status: ExitStatus) -> Ended {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(n), _) => Ended::Code(n),
            (None, Some(s)) => Ended::Signal(s),
            (None, None) => Ended::Code(i32::from(super::exec::FAILED)),
        }
    }
}

/// The trampoline's part, after the resource limits, the network namespace and the private
/// terminals (`mount_ns`: they made a mount namespace): makes the namespace, starts the init
/// there with `policy` (as the trampoline got it) and `program args`, forwards signals to
/// it until it exits, and returns how the harness ended. Err: the harness never started.
pub fn supervise(
    policy: &str,
    mount_ns: bool,
    program: OsString,
    args: impl Iterator<Item = OsString>,
) -> Result<Ended, String> {
    let failed = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    enter(mount_ns).map_err(|e| failed("the harness's own PID namespace", &e))?;
    keep_sys_admin().map_err(|e| failed("the harness's own PID namespace", &e))?;
    // Close-on-exec, both ends: the init opens the pipe anew through this process's
    // `/proc/<pid>/fd/<fd>`, and so nothing it starts can inherit it.
    let (report, report_w) = std::io::pipe().map_err(|e| failed("a pipe", &e))?;
    drop(report_w);
    // For the init to open it: entering a user namespace made this process non-dumpable,
    // and then only a holder of CAP_SYS_PTRACE in forge's namespace could. Nothing in the
    // PID namespace sees this process; outside, only the same uid, which could make a user
    // namespace of its own anyway.
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable)
        .map_err(|e| failed("PR_SET_DUMPABLE", &e))?;
    let report_path = format!(
        "{}:{}",
        rustix::process::getpid().as_raw_nonzero(),
        report.as_raw_fd()
    );
    // Before the init exists, so that no signal for it is lost.
    let mut signals = signal_hook::iterator::Signals::new(
        FORWARDED
            .iter()
            .copied()
            .chain([signal_hook::consts::SIGCHLD]),
    )
    .map_err(|e| failed("signal handlers", &e))?;
    let mut init = Command::new("/proc/self/exe")
        .arg(INIT_ARG)
        .arg(&report_path)
        .arg(policy)
        .arg(program)
        .args(args)
        .spawn()
        .map_err(|e| failed("starting the namespace's init", &e))?;
    let init_pid = rustix::process::Pid::from_raw(init.id() as i32);
    let status = loop {
        match init.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(failed("waiting for the namespace's init", &e)),
        }
        for sig in signals.wait() {
            if sig != signal_hook::consts::SIGCHLD
                && let (Some(pid), Some(sig)) = (init_pid, signal(sig))
            {
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    };
    // Everything in the namespace is dead once its init is: what is in the pipe is all
    // there is. The init's report is its last line.
    let _ = rustix::io::ioctl_fionbio(&report, true);
    let mut bytes = Vec::new();
    let _ = (&report).take(1 << 20).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let reported = text.lines().rev().find_map(Ended::decode);
    Ok(reported.unwrap_or(Ended::of(status)))
}

fn signal(raw: i32) -> Option<rustix::process::Signal> {
    use rustix::process::Signal;
    [
        Signal::TERM,
        Signal::INT,
        Signal::HUP,
        Signal::QUIT,
        Signal::USR1,
        Signal::USR2,
        Signal::WINCH,
    ]
    .into_iter()
    .find(|s| s.as_raw() == raw)
}

/// Ends the trampoline as the harness ended: with its exit code, or killed by the same
/// signal (without a core dump of forge's: the harness made its own). Only a signal whose
/// default action ends the process is raised: the report is the harness's word as much as
/// the init's, and a STOP would stop the trampoline, and forge waiting on it. Returns the
/// exit code to use otherwise (128 + the signal, as shells do).
pub fn end(ended: Ended) -> u8 {
    match ended {
        Ended::Code(n) => n as u8,
        Ended::Signal(s) => {
            if TERMINATING.contains(&s) {
                let _ = rustix::process::setrlimit(
                    rustix::process::Resource::Core,
                    rustix::process::Rlimit {
                        current: Some(0),
                        maximum: Some(0),
                    },
                );
                let _ = signal_hook::low_level::emulate_default_handler(s);
            }
            u8::try_from(128 + i64::from(s)).unwrap_or(super::exec::FAILED)
        }
    }
}

/// The signals whose default action ends the process (with or without a core dump); the
/// others stop it, continue it or are ignored.
const TERMINATING: &[i32] = {
    use signal_hook::consts::*;
    &[
        SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1,
        SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO,
        SIGSYS,
    ]
};

/// `forge __sandbox-init TRAMPOLINE_PID:REPORT_FD POLICY PROGRAM [ARGS...]`, PID 1 of the
/// namespace. Returns the exit code once the harness ended and was reported;
/// Err: the harness never started (the trampoline then ends as this process did).
pub fn init_main(args: Vec<OsString>) -> Result<u8, String> {
    // First: die with the trampoline, and with this process the namespace, so that killing
    // the trampoline alone leaves nothing of the harness running.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| format!("PR_SET_PDEATHSIG: {e}"))?;
    // Then: PID 1 gets only the signals it has handlers for.
    let mut signals = signal_hook::iterator::Signals::new(
        FORWARDED
            .iter()
            .copied()
            .chain([signal_hook::consts::SIGCHLD]),
    )
    .map_err(|e| format!("signal handlers: {e}"))?;
    let mut args = args.into_iter();
    let (Some(report_at), Some(policy), Some(program)) = (args.next(), args.next(), args.next())
    else {
        return Err(format!(
            "usage: forge {INIT_ARG} TRAMPOLINE_PID:REPORT_FD POLICY PROGRAM [ARGS...]"
        ));
    };
    let report_at = report_at.to_string_lossy();
    let (trampoline, report_fd) = report_at
        .split_once(':')
        .and_then(|(pid, fd)| Some((pid.parse::<i32>().ok()?, fd.parse::<i32>().ok()?)))
        .ok_or_else(|| format!("bad report pipe {report_at:?}"))?;
    // The trampoline may have died before the death signal was set: then it never comes.
    // (`/proc` is still the trampoline's here: its PID namespace, where the parent shows.)
    if parent_pid()? != trampoline {
        return Err("the trampoline is gone".into());
    }
    let policy: super::Policy =
        serde_json::from_str(&policy.to_string_lossy()).map_err(|e| format!("bad policy: {e}"))?;
    let fd = format!("/proc/{trampoline}/fd/{report_fd}");
    // Close-on-exec (std's default): the harness never has it. Non-blocking: nothing can
    // keep the init from exiting.
    let mut report = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&fd)
        .map_err(|e| format!("the report pipe ({fd}): {e}"))?;
    mount_proc()?;
    // Nothing in the namespace may ptrace PID 1 or read its `/proc/1/*`.
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| format!("PR_SET_DUMPABLE: {e}"))?;
    drop_capabilities()?;
    super::landlock::restrict_self(&policy)
        .map_err(|e| format!("could not enforce the sandbox: {e}"))?;
    let harness = Command::new(&program)
        .args(args)
        .spawn()
        .map_err(|e| super::exec::exec_failed(&program, &e))?;
    let harness_pid = harness.id() as i32;
    loop {
        for sig in signals.wait() {
            if sig == signal_hook::consts::SIGCHLD {
                if let Some(ended) = reap(harness_pid) {
                    let line = format!("\n{}\n", ended.encode());
                    let _ = std::io::Write::write_all(&mut report, line.as_bytes());
                    return Ok(0);
                }
            } else if let (Some(pid), Some(sig)) =
                (rustix::process::Pid::from_raw(harness_pid), signal(sig))
            {
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    }
}

/// Reaps every child that has ended (orphans come to PID 1); returns how the harness ended
/// if it was among them.
fn reap(harness: i32) -> Option<Ended> {
    let mut ended = None;
    while let Ok(Some((pid, status))) = rustix::process::wait(rustix::process::WaitOptions::NOHANG)
    {
        if pid.as_raw_nonzero().get() == harness {
            ended = match (status.exit_status(), status.terminating_signal()) {
                (Some(n), _) => Some(Ended::Code(n)),
                (None, Some(s)) => Some(Ended::Signal(s)),
                (None, None) => None,
            };
        }
    }
    ended
}

/// The parent's pid, as the mounted `/proc` shows it (field 4 of `/proc/self/stat`; the
/// command in field 2 may hold spaces and parentheses).
fn parent_pid() -> Result<i32, String> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(|e| format!("reading /proc/self/stat: {e}"))?;
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
        .ok_or_else(|| format!("bad /proc/self/stat: {stat:?}"))
}

/// Gives up what [`keep_sys_admin`] kept, so that the harness inherits no capability; root
/// keeps only [`ROOT_CAPABILITIES`] ([`drop_root_capabilities`]).
fn drop_capabilities() -> Result<(), String> {
    use rustix::thread::{CapabilitySets, set_capabilities};
    if rustix::process::geteuid().is_root() {
        return drop_root_capabilities();
    }
    let _ = rustix::thread::clear_ambient_capability_set();
    set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::empty(),
            permitted: CapabilitySet::empty(),
            inheritable: CapabilitySet::empty(),
        },
    )
    .map_err(|e| format!("dropping the init's capabilities: {e}"))
}

/// What a root harness keeps: Docker's default set. It can still chown, override file
/// modes, kill and change uid in its sandbox, but not mount, load modules, set the clock,
/// read the kernel's log, trace or load BPF, configure or sniff the network, ptrace other
/// processes, reach raw I/O, open files by handle or reboot.
pub(super) const ROOT_CAPABILITIES: CapabilitySet = CapabilitySet::CHOWN
    .union(CapabilitySet::DAC_OVERRIDE)
    .union(CapabilitySet::FOWNER)
    .union(CapabilitySet::FSETID)
    .union(CapabilitySet::KILL)
    .union(CapabilitySet::SETGID)
    .union(CapabilitySet::SETUID)
    .union(CapabilitySet::SETPCAP)
    .union(CapabilitySet::NET_BIND_SERVICE)
    .union(CapabilitySet::SYS_CHROOT)
    .union(CapabilitySet::MKNOD)
    .union(CapabilitySet::AUDIT_WRITE)
    .union(CapabilitySet::SETFCAP);

/// For a root sandbox (the init, or the trampoline before it execs the harness): keeps
/// only [`ROOT_CAPABILITIES`] in the bounding, effective, permitted and inheritable sets,
/// and none ambient. The bounding set matters most: a root exec gets all of it back.
/// Call after every step of the sandbox's setup that needs more.
pub(super) fn drop_root_capabilities() -> Result<(), String> {
    use rustix::thread::{CapabilitySets, capabilities, set_capabilities};
    rustix::thread::clear_ambient_capability_set()
        .map_err(|e| format!("clearing the ambient capabilities: {e}"))?;
    for bit in 0..64 {
        let cap = CapabilitySet::from_bits_retain(1 << bit);
        if ROOT_CAPABILITIES.contains(cap) {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(cap) {
            // Past the kernel's last capability.
            Ok(()) | Err(rustix::io::Errno::INVAL) => {}
            Err(e) => {
                return Err(format!(
                    "dropping capability {bit} from the bounding set: {e}"
                ));
            }
        }
    }
    let caps = capabilities(None).map_err(|e| format!("capget: {e}"))?;
    set_capabilities(
        None,
        CapabilitySets {
            effective: caps.effective & ROOT_CAPABILITIES,
            permitted: caps.permitted & ROOT_CAPABILITIES,
            inheritable: caps.inheritable & ROOT_CAPABILITIES,
        },
    )
    .map_err(|e| format!("dropping root's capabilities: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip_and_garbage_is_none() {
        for e in [Ended::Code(0), Ended::Code(7), Ended::Signal(15)] {
            assert_eq!(Ended::decode(&e.encode()), Some(e));
        }
        for bad in ["", "exit", "exit x", "boom 3"] {
            assert_eq!(Ended::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_reported_stop_or_ignored_signal_is_an_exit_code_not_raised() {
        // Raised, SIGSTOP would stop this test process; SIGWINCH and SIGCHLD do nothing.
        assert_eq!(end(Ended::Signal(signal_hook::consts::SIGSTOP)), 128 + 19);
        assert_eq!(end(Ended::Signal(signal_hook::consts::SIGTSTP)), 128 + 20);
        assert_eq!(end(Ended::Signal(signal_hook::consts::SIGWINCH)), 128 + 28);
        assert_eq!(end(Ended::Signal(signal_hook::consts::SIGCHLD)), 128 + 17);
        assert_eq!(end(Ended::Signal(1000)), crate::sandbox::exec::FAILED);
        assert_eq!(end(Ended::Signal(-200)), crate::sandbox::exec::FAILED);
    }
}
