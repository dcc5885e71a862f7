//! Terminals of the harness's own, where the machine allows it: the trampoline gives itself
//! a mount namespace with a new devpts instance on `/dev/pts`, and only then are `/dev/ptmx`
//! and `/dev/pts` granted. Harnesses that run commands in a terminal need one (OpenHands
//! runs its shell in tmux, which opens a pty for every window: without it, "create window
//! failed: fork failed: Permission denied"). The host's devpts is never granted: it holds
//! the user's own terminals, which a harness could read keystrokes from or type into
//! (TIOCSTI); the new instance holds only the ptys the sandbox opened itself.
//!
//! `/dev/ptmx` (the legacy device) opens a pty in the devpts mounted at `pts` beside it in
//! the caller's mount namespace (Linux 4.7), so it needs no bind mount. A sandboxed process
//! cannot unmount the instance to reach the host's (Landlock denies mount and umount), and
//! the Landlock rule is on the new instance's root, not on whatever `/dev/pts` later is.

use std::process::{Command, Stdio};

use rustix::mount::{MountFlags, MountPropagationFlags, mount, mount_change};
use rustix::thread::UnshareFlags;

/// What a policy with private terminals grants, once they are made.
pub const GRANTED: &[&str] = &["/dev/ptmx", "/dev/pts"];

/// The first argument of the probe that tries [`enter`] in a process of its own.
pub const PROBE_ARG: &str = "__ptys-probe";

/// Whether the trampoline can make private terminals here. Found once per process, in a
/// child (`forge __ptys-probe`): a multi-threaded process cannot enter a user namespace,
/// and the probe's mount namespace goes away with it.
pub fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("/proc/self/exe")
            .arg(PROBE_ARG)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// `forge __ptys-probe`: whether [`enter`] works in a fresh single-threaded process.
pub fn probe_main() -> i32 {
    match enter() {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Moves the calling process (the trampoline, single-threaded) into a mount namespace of
/// its own, directly where it may (root; or already in the user namespace the network
/// namespace was made in), else inside a new user namespace, and mounts a new devpts
/// instance on `/dev/pts` there.
pub fn enter() -> Result<(), String> {
    // Deprecated for CLONE_FILES/CLONE_FS, which a single-threaded process may unshare.
    #[allow(deprecated)]
    let direct = rustix::thread::unshare(UnshareFlags::NEWNS);
    if let Err(direct) = direct {
        super::netns::own_user_namespace(UnshareFlags::NEWNS, "CLONE_NEWNS").map_err(|user| {
            format!("unshare(CLONE_NEWNS): {direct}; through a user namespace: {user}")
        })?;
    }
    // Nothing mounted here may reach forge's namespace: without this, a shared `/dev`
    // would carry the new instance over the host's `/dev/pts`.
    mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(|e| format!("making the mounts private: {e}"))?;
    // The owner's only (mode 0600): the sandbox's ptys are the harness's.
    mount(
        "devpts",
        "/dev/pts",
        "devpts",
        MountFlags::NOSUID | MountFlags::NOEXEC,
        c"newinstance,ptmxmode=0666,mode=0600",
    )
    .map_err(|e| format!("mounting a devpts instance on /dev/pts: {e}"))
}
