//! What the sandbox grants a harness of its own and nothing else's: its own `/proc/<pid>`
//! (runtimes read `/proc/self/maps` to start: Bun aborts without it), never another
//! process's; and, with `ptys`, terminals from a devpts instance of its own (OpenHands's
//! tmux opens one per window), never the host's, which hold the user's terminals. Tested on
//! the trampoline itself, as the user running the tests (as root: a mount namespace made
//! directly) and as an unprivileged one (through a user namespace).

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::userns::reachable_forge;

/// Each probe prints `NAME ok` or `NAME denied ERRNO`; the pty's device and what
/// `/dev/pts` lists follow.
const PROGRAM: &str = r#"
import os
def probe(name, f):
    try:
        f()
        print(name, "ok")
    except OSError as e:
        print(name, "denied", e.errno)
probe("own-maps", lambda: open("/proc/self/maps").read())
probe("own-exe", lambda: os.readlink("/proc/self/exe"))
probe("parent-environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read())
probe("init-cmdline", lambda: open("/proc/1/cmdline", "rb").read())
try:
    master, slave = os.openpty()
    print("pty-dev", os.fstat(slave).st_dev)
    print("pts", " ".join(sorted(os.listdir("/dev/pts"))))
except OSError as e:
    print("pty denied", e.errno)
"#;

/// Runs the program through `forge __sandbox`, as the invoking user or as `nobody`.
fn sandboxed(forge: &Path, ptys: bool, unprivileged: bool) -> String {
    let mut write = vec!["/dev/null"];
    if ptys {
        write.extend(["/dev/ptmx", "/dev/pts"]);
    }
    let policy = serde_json::json!({
        "abi": 7,
        "read": ["/usr", "/lib", "/lib64", "/bin", "/etc", "/proc/self"],
        "write": write,
        "network": "open",
        "proxy_port": null,
        "scoped": true,
        "memory_bytes": null,
        "max_processes": null,
        "ptys": ptys,
    });
    let mut cmd = Command::new(forge);
    cmd.arg("__sandbox")
        .arg(policy.to_string())
        .arg("python3")
        .args(["-c", PROGRAM])
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    if unprivileged && rustix::process::geteuid().is_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the trampoline failed ({}):\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn assert_only_its_own_proc(out: &str) {
    for line in [
        "own-maps ok",
        "own-exe ok",
        "parent-environ denied 13",
        "init-cmdline denied 13",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} in:\n{out}");
    }
}

fn private_terminals(unprivileged: bool) {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    let out = sandboxed(&forge, true, unprivileged);
    assert_only_its_own_proc(&out);
    let host = std::fs::metadata("/dev/pts").unwrap().dev();
    let dev: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("pty-dev "))
        .unwrap_or_else(|| panic!("no pty opened:\n{out}"))
        .parse()
        .unwrap();
    assert_ne!(dev, host, "the pty came from the host's devpts:\n{out}");
    // A fresh instance: its own pty and nothing of the host's.
    assert!(out.lines().any(|l| l == "pts 0 ptmx"), "{out}");
}

#[test]
fn a_harness_gets_terminals_of_its_own_and_only_its_own_proc() {
    private_terminals(false);
}

#[test]
fn an_unprivileged_harness_gets_terminals_of_its_own_too() {
    private_terminals(true);
}

#[test]
fn without_private_terminals_no_pty_is_granted() {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    let out = sandboxed(&forge, false, false);
    assert_only_its_own_proc(&out);
    assert!(out.lines().any(|l| l == "pty denied 13"), "{out}");
}
