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
/// with the message for stderr.
pub fn main(args: Vec<OsString>) -> String {
    let mut args = args.into_iter();
    let (Some(policy), Some(program)) = (args.next(), args.next()) else {
        return "usage: forge __sandbox POLICY PROGRAM [ARGS...]".into();
    };
    let policy: Policy = match serde_json::from_str(&policy.to_string_lossy()) {
        Ok(p) => p,
        Err(e) => return format!("bad policy: {e}"),
    };
    // First, a session of its own: no controlling terminal, so nothing it runs can type
    // into the user's shell (TIOCSTI) or get the terminal's signals, and a process group
    // that is its pid, which forge signals from the start (also when what follows fails).
    if let Err(e) = rustix::process::setsid() {
        return format!("setsid: {e}");
    }
    if let Err(e) = limits(&policy) {
        return e;
    }
    if let Some(plan) = &policy.netns {
        if let Err(e) = super::netns::enter() {
            return format!("network namespace: {e}");
        }
        if let Some((port, bridge)) = &plan.forward
            && let Err(e) = super::netns::start_forwarder(*port, bridge)
        {
            return format!("network namespace: {e}");
        }
    }
    if policy.ptys
        && let Err(e) = super::ptys::enter()
    {
        return format!("the harness's own terminals: {e}");
    }
    if policy.read.iter().any(|p| p == Path::new(OWN_PROC))
        && let Err(e) = pin_own_proc()
    {
        return format!("{OWN_PROC}: {e}");
    }
    if let Err(e) = super::landlock::restrict_self(&policy) {
        return format!("could not enforce the sandbox: {e}");
    }
    let err = Command::new(&program).args(args).exec();
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
