//! The trampoline: `forge __sandbox POLICY PROGRAM [ARGS...]`, spawned in place of the
//! harness. It joins the run's cgroups, applies resource limits and the Landlock policy to itself, then execs the
//! program, which keeps the pid, process group, environment, working directory and pipes
//! forge gave the trampoline. Doing it in a fresh exec of forge, rather than between fork
//! and exec of the harness, keeps forge free of `unsafe`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

use std::os::fd::IntoRawFd;
use std::path::Path;

use rustix::process::{Resource, Rlimit, setrlimit};

use super::Policy;
use super::paths::OWN_PROC;
use super::pidns::Ended;

/// The first argument that makes `forge` the trampoline.
pub const ARG: &str = "__sandbox";
/// The trampoline's exit status when it could not apply the policy (the harness never ran).
pub const FAILED: u8 = 125;

/// The argv that runs `program args` under `policy` (after forge's own executable).
pub fn argv(policy: &Policy, program: &str, args: &[String]) -> Vec<String> {
    let mut argv = vec![
        ARG.to_owned(),
        serde_json::to_string(policy).expect("a policy serialises"),
        program.to_owned(),
    ];
    argv.extend(args.iter().cloned());
    argv
}

/// Runs the trampoline on `args` (everything after `__sandbox`). Returns only on failure,
/// with the message for stderr, or, where the harness runs in a PID namespace of its own
/// (`pidns.rs`), once it ended, with how.
pub fn main(args: Vec<OsString>) -> Result<Ended, String> {
    let mut args = args.into_iter();
    let (Some(policy_json), Some(program)) = (args.next(), args.next()) else {
        return Err("usage: forge __sandbox POLICY PROGRAM [ARGS...]".into());
    };
    let policy: Policy = serde_json::from_str(&policy_json.to_string_lossy())
        .map_err(|e| format!("bad policy: {e}"))?;
    // First, a session of its own: no controlling terminal, so nothing it runs can type
    // into the user's shell (TIOCSTI) or get the terminal's signals, and a process group
    // that is its pid, which forge signals from the start (also when what follows fails).
    rustix::process::setsid().map_err(|e| format!("setsid: {e}"))?;
    limits(&policy)?;
    if let Some(plan) = &policy.netns {
        super::netns::enter().map_err(|e| format!("network namespace: {e}"))?;
        super::netns::start_forwarders(plan).map_err(|e| format!("network namespace: {e}"))?;
    }
    if policy.ptys {
        super::ptys::enter().map_err(|e| format!("the harness's own terminals: {e}"))?;
    }
    if policy.pids {
        // The forwarder above was started first, outside: the next child is PID 1 there.
        return super::pidns::supervise(&policy_json.to_string_lossy(), policy.ptys, program, args);
    }
    if policy.read.iter().any(|p| p == Path::new(OWN_PROC)) {
        pin_own_proc().map_err(|e| format!("{OWN_PROC}: {e}"))?;
    }
    // Last of the setup (the limits, namespaces and terminals above need them): a root
    // harness keeps Docker's default capabilities, not all of root's.
    if rustix::process::geteuid().is_root() {
        super::pidns::drop_root_capabilities()?;
    }
    super::landlock::restrict_self(&policy)
        .map_err(|e| format!("could not enforce the sandbox: {e}"))?;
    let err = Command::new(&program).args(args).exec();
    Err(exec_failed(&program, &err))
}

/// What the trampoline says when the harness's program could not be started.
pub(super) fn exec_failed(program: &std::ffi::OsStr, err: &std::io::Error) -> String {
    let hint = if err.kind() == std::io::ErrorKind::PermissionDenied {
        " (the sandbox does not let the harness read its program or interpreter: grant its \
         directory with `[sandbox] read = [\"/path\"]` in .forge/config.toml)"
    } else {
        ""
    };
    format!("{}: {err}{hint}", program.to_string_lossy())
}

/// Keeps the process's own `/proc/<pid>` directory open, without close-on-exec, for as
/// long as the harness (or a descendant that keeps the descriptor) runs. The Landlock rule
/// for it names the directory's inode, and procfs makes a new inode whenever the kernel
/// drops an unused entry from its cache (memory pressure, `drop_caches`): the grant would
/// silently stop matching, and a runtime that reads `/proc/self/maps` later would abort.
/// An open descriptor keeps the entry, and so the inode. It is a path-only descriptor of
/// the harness's own directory, which the policy grants anyway.
fn pin_own_proc() -> rustix::io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(OWN_PROC, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    let _ = fd.into_raw_fd();
    Ok(())
}

fn limits(policy: &Policy) -> Result<(), String> {
    let set = |resource, value: u64, what: &str| {
        setrlimit(
            resource,
            Rlimit {
                current: Some(value),
                maximum: Some(value),
            },
        )
        .map_err(|e| format!("could not limit {what} to {value}: {e}"))
    };
    // First of all, so that everything the trampoline starts is born inside.
    super::limits::join(&policy.cgroups)?;
    let (memory, processes) = super::limits::rlimits_needed(&policy.cgroups);
    if let Some(bytes) = policy.memory_bytes.filter(|_| memory) {
        set(Resource::As, bytes, "address space")?;
    }
    if let Some(n) = policy.max_processes.filter(|_| processes) {
        set(Resource::Nproc, n, "processes")?;
    }
    Ok(())
}
