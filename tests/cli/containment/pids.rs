//! A PID namespace of the harness's own, with a fresh `/proc` (`src/sandbox/pidns.rs`), where
//! the machine allows it (it does where these tests run: as root, and through a user
//! namespace as `nobody`): every process of the tree reads its own `/proc/self` (Bun,
//! started by Node in claude-agent-acp, aborts without `/proc/self/maps`), and `/proc` shows
//! nothing of forge's or the user's other processes. The harness still ends as before: its
//! exit code, or the signal that killed it, and forge's TERM on a timeout stops the tree.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::userns::reachable_forge;
use super::{Hostile, ON};
use crate::env::{TestEnv, fixture, toml_string};

/// A child reads its own `/proc/self`; then every process `/proc` lists, by command line.
const PROGRAM: &str = r#"
import os, subprocess, sys
r = subprocess.run(["head", "-1", "/proc/self/maps"], capture_output=True, text=True)
print("child-maps", "ok" if r.returncode == 0 else "denied " + r.stderr.strip())
r = subprocess.run([sys.executable, "-c", "print(open('/proc/self/status').read().splitlines()[0])"],
                   capture_output=True, text=True)
print("child-status", "ok" if r.returncode == 0 else "denied " + r.stderr.strip())
print("own-pid", os.getpid())
for name in sorted(os.listdir("/proc"), key=lambda n: (len(n), n)):
    if name.isdigit():
        try:
            cmd = open(f"/proc/{name}/cmdline", "rb").read().replace(b"\0", b" ").decode()[:80]
        except OSError as e:
            cmd = f"({e.errno})"
        print("proc", name, cmd)
try:
    env = open("/proc/1/environ", "rb").read()
    print("init-environ", "marker" if b"PIDS_TEST_MARKER=" in env else "other")
except OSError as e:
    print("init-environ denied", e.errno)
"#;

/// The trampoline with a policy that has the namespace; `nobody` when the tests run as root.
fn trampoline(forge: &Path, unprivileged: bool, program: &[&str]) -> Command {
    trampoline_with(forge, unprivileged, true, program)
}

/// [`trampoline`], with the PID namespace or without (`pids`).
fn trampoline_with(forge: &Path, unprivileged: bool, pids: bool, program: &[&str]) -> Command {
    let policy = serde_json::json!({
        "abi": 7,
        "read": ["/usr", "/lib", "/lib64", "/bin", "/etc", "/proc"],
        "write": ["/dev/null"],
        "network": "open",
        "proxy_port": null,
        "scoped": true,
        "memory_bytes": null,
        "max_processes": null,
        "pids": pids,
    });
    let mut cmd = Command::new(forge);
    cmd.arg("__sandbox")
        .arg(policy.to_string())
        .args(program)
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("PIDS_TEST_MARKER", "1");
    if unprivileged && rustix::process::geteuid().is_root() {
        cmd.uid(65534).gid(65534);
    }
    cmd
}

fn sees_only_its_own_tree(unprivileged: bool) {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    let out = trampoline(&forge, unprivileged, &["python3", "-c", PROGRAM])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the trampoline failed ({}):\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // (a) Children read their own /proc/self.
    for line in ["child-maps ok", "child-status ok", "own-pid 2"] {
        assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
    }
    // (b) Only the sandbox's processes: its init (PID 1, forge), the harness (2) and the
    // child it runs now; nothing of the test's, whose pid is not even a number there.
    let procs: Vec<(u32, &str)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("proc "))
        .map(|l| {
            let (pid, cmd) = l.split_once(' ').unwrap_or((l, ""));
            (pid.parse().unwrap(), cmd)
        })
        .collect();
    assert!(
        procs
            .first()
            .is_some_and(|(pid, cmd)| *pid == 1 && cmd.contains("__sandbox-init")),
        "{text}"
    );
    assert!(
        procs
            .get(1)
            .is_some_and(|(pid, cmd)| *pid == 2 && cmd.starts_with("python3 -c")),
        "{text}"
    );
    assert_eq!(procs.len(), 2, "other processes in its /proc:\n{text}");
    let test = std::env::current_exe().unwrap();
    let test_name = test.file_name().unwrap().to_string_lossy();
    assert!(!text.contains(&*test_name), "{text}");
    // The init is not dumpable: the harness cannot read its environment (nor ptrace it).
    assert!(
        text.lines().any(|l| l.starts_with("init-environ denied")),
        "{text}"
    );
}

#[test]
fn a_harness_and_its_children_read_their_own_proc_and_see_no_other_process() {
    sees_only_its_own_tree(false);
}

#[test]
fn an_unprivileged_harness_gets_its_own_pid_namespace_too() {
    sees_only_its_own_tree(true);
}

fn status_of(mut cmd: Command, term_after: Option<Duration>) -> (ExitStatus, String) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    if let Some(after) = term_after {
        std::thread::sleep(after);
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
            rustix::process::Signal::TERM,
        )
        .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_trampoline_ends_as_the_harness_ended() {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    for unprivileged in [false, true] {
        let run = |program: &[&str], term: Option<Duration>| {
            status_of(trampoline(&forge, unprivileged, program), term)
        };
        let (s, out) = run(&["sh", "-c", "exit 7"], None);
        assert_eq!(s.code(), Some(7), "{out}");
        let (s, out) = run(&["sh", "-c", "kill -USR1 $$"], None);
        assert_eq!(s.signal(), Some(libc_sigusr1()), "{s} {out}");
        // forge's TERM reaches the harness (and the signal that killed it is reported) ...
        let (s, out) = run(&["sh", "-c", "sleep 100"], Some(Duration::from_millis(500)));
        assert_eq!(s.signal(), Some(15), "{s} {out}");
        // ... and a harness that handles it ends as it chooses.
        let (s, out) = run(
            &[
                "sh",
                "-c",
                "trap 'echo stopping; exit 3' TERM; sleep 100 & wait",
            ],
            Some(Duration::from_millis(500)),
        );
        assert_eq!(s.code(), Some(3), "{s} {out}");
        assert!(out.contains("stopping"), "{out}");
        // A program it cannot start: the trampoline's failure status and the reason.
        let (s, out) = run(&["/nonexistent/harness"], None);
        assert_eq!(s.code(), Some(125), "{out}");
        assert!(out.contains("/nonexistent/harness"), "{out}");
    }
}

fn libc_sigusr1() -> i32 {
    rustix::process::Signal::USR1.as_raw()
}

#[test]
fn a_steps_harness_sees_only_its_own_processes_and_its_children_their_proc() {
    let h = Hostile::new(Some(ON), "proc", "");
    let o = h.step();
    h.assert_done(&o);
    let started = h
        .env
        .events()
        .into_iter()
        .find(|e| e["kind"] == "harness.started")
        .unwrap();
    let view = started["data"]["policy"]["proc_view"].to_string();
    assert!(view.contains("PID namespace of its own"), "{view}");
    let lines = o.hostile_lines();
    let procs: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("hostile: proc: pid "))
        .collect();
    assert!(
        procs
            .first()
            .is_some_and(|p| p.starts_with("1: ") && p.contains("__sandbox-init")),
        "{lines:?}"
    );
    // The init and the harness: not forge's `step`, not the test, not the user's shell.
    assert_eq!(procs.len(), 2, "{lines:?}");
    assert!(procs[1].contains("fake-hostile"), "{lines:?}");
    assert!(!procs.iter().any(|p| p.contains(" step")), "{lines:?}");
    h.assert_unchanged(&o);
}

#[test]
fn a_timeout_stops_the_whole_tree_and_reports_the_signal() {
    let env = TestEnv::new();
    env.sandbox_write_beside_repo();
    env.configure(&format!(
        "[harness.claude]\npreset = \"claude\"\ncommand = [{}]\ntimeout = 2\ngrace = 1\n\
         pass_env = [\"FAKE_SCENARIO\", \"FAKE_PIDS_FILE\"]\n",
        toml_string(fixture("harnesses/fake-claude").to_str().unwrap())
    ));
    env.create(&["Do the thing"]);
    env.commit_all("set up");
    let pids = env.repo.parent().unwrap().join("pids.txt");
    let started = Instant::now();
    let out = env
        .command(&["--json", "step", "--harness", "claude"])
        .env("FAKE_SCENARIO", "hang")
        .env("FAKE_PIDS_FILE", &pids)
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    let run = crate::env::to_run(out);
    assert_eq!(run.code, 4, "{}", run.stdout);
    assert!(run.stdout.contains("timed out after 2s"), "{}", run.stdout);
    let finished: Value = env
        .events()
        .into_iter()
        .find(|e| e["kind"] == "harness.finished")
        .unwrap();
    assert_eq!(finished["data"]["signal"], 15, "{finished}");
    assert_eq!(
        crate::env::processes_with_env(&format!("FAKE_PIDS_FILE={}", pids.display())),
        Vec::<u32>::new(),
        "processes of the run survived"
    );
    // The fake recorded its pid in its own namespace: 2, after the init.
    let recorded = std::fs::read_to_string(&pids).unwrap();
    assert_eq!(recorded.trim(), "2", "{recorded}");
}

/// Runs `python3 -c program args` in the sandbox; its output, and that it succeeded.
fn python_inside(
    forge: &Path,
    unprivileged: bool,
    pids: bool,
    program: &str,
    args: &[&str],
) -> String {
    let mut argv = vec!["python3", "-c", program];
    argv.extend_from_slice(args);
    let out = trampoline_with(forge, unprivileged, pids, &argv)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{}: {text}", out.status);
    text
}

/// Attaches a System V shared memory segment by id, lists the segments, sets the hostname.
const IPC_AND_UTS: &str = r#"
import ctypes, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
r = libc.shmat(int(sys.argv[1]), None, 0)
print("attach", "failed" if r in (None, ctypes.c_void_p(-1).value) else "ok", ctypes.get_errno())
r = subprocess.run(["ipcs", "-m"], capture_output=True, text=True)
print("ipcs", r.stdout.replace("\n", " | "))
r = subprocess.run(["hostname", "forge-renamed-it"], capture_output=True, text=True)
print("hostname", r.returncode, r.stderr.strip())
"#;

/// A segment of the host's (mode 0666: even `nobody` could use it on the host).
struct Segment(String);

impl Segment {
    fn new() -> Segment {
        let out = Command::new("ipcmk")
            .args(["-M", "4096", "-p", "0666"])
            .output()
            .expect("ipcmk (util-linux)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let id = text
            .split_whitespace()
            .last()
            .filter(|id| id.parse::<u32>().is_ok())
            .unwrap_or_else(|| panic!("ipcmk: {text}"))
            .to_owned();
        Segment(id)
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        let _ = Command::new("ipcrm").args(["-m", &self.0]).status();
    }
}

#[test]
fn the_host_s_ipc_and_hostname_are_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    let segment = Segment::new();
    // The test itself can attach it: the id is right.
    let host = Command::new("ipcs")
        .args(["-m", "-i", &segment.0])
        .output()
        .unwrap();
    assert!(host.status.success(), "{host:?}");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    for unprivileged in [false, true] {
        let text = python_inside(&forge, unprivileged, true, IPC_AND_UTS, &[&segment.0]);
        // EINVAL: no such segment in its IPC namespace.
        assert!(text.contains("attach failed 22"), "{text}");
        let ipcs = text.lines().find(|l| l.starts_with("ipcs ")).unwrap();
        assert!(!ipcs.contains(&format!(" {} ", segment.0)), "{text}");
        assert!(!text.contains("hostname 0"), "{text}");
        assert_eq!(
            std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
            hostname
        );
    }
}

/// The capability sets of the process, as hex, and bits of them.
const CAPABILITIES: &str = r#"
import subprocess
for line in open("/proc/self/status"):
    if line.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh")):
        print(line.split()[0], line.split()[1])
r = subprocess.run(["hostname", "forge-renamed-it"], capture_output=True, text=True)
print("hostname", r.returncode, r.stderr.strip())
"#;

#[test]
fn a_root_harness_keeps_only_docker_s_default_capabilities() {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE
    // SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
    let docker: u64 = [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 27, 29, 31]
        .iter()
        .map(|b| 1u64 << b)
        .sum();
    // With the PID namespace (the init drops them) and without (the trampoline does).
    for pids in [true, false] {
        let text = python_inside(&forge, false, pids, CAPABILITIES, &[]);
        let set = |name: &str| {
            let line = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix(&format!("{name}: "))
                        .or(l.strip_prefix(&format!("{name} ")))
                })
                .unwrap_or_else(|| panic!("{name} in {text}"));
            u64::from_str_radix(line.trim(), 16).unwrap()
        };
        for name in ["CapEff:", "CapPrm:", "CapBnd:"] {
            let caps = set(name.trim_end_matches(':'));
            for bit in [21, 34, 16, 2, 19, 25, 12, 13, 17, 39, 38] {
                assert_eq!(
                    caps & (1 << bit),
                    0,
                    "bit {bit} of {name} (pids {pids}):\n{text}"
                );
            }
            assert_eq!(caps, docker, "{name} (pids {pids}):\n{text}");
        }
        assert_eq!(set("CapAmb"), 0, "{text}");
        assert!(text.contains("hostname 1"), "pids {pids}:\n{text}");
    }
}

#[test]
fn a_harness_cannot_write_the_init_s_report_nor_ptrace_it() {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    for unprivileged in [false, true] {
        // Once, a forged "signal 19" here stopped the trampoline (and forge with it).
        let (s, out) = status_of(
            trampoline(
                &forge,
                unprivileged,
                &[
                    "sh",
                    "-c",
                    "for i in $(seq 1000); do echo 'signal 19' >&4 || break; done; \
                     ls -l /proc/self/fd/ >&2; exit 1",
                ],
            ),
            None,
        );
        assert_eq!(s.code(), Some(1), "{s} {out}");
        assert!(out.contains("Bad file descriptor"), "{out}");
        let ptrace = r#"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, 1, None, None)  # PTRACE_ATTACH
print("ptrace", r, ctypes.get_errno())
"#;
        let text = python_inside(&forge, unprivileged, true, ptrace, &[]);
        // EPERM: the init is not dumpable.
        assert!(text.contains("ptrace -1 1"), "{text}");
    }
}

#[test]
fn killing_the_trampoline_alone_ends_the_harness_s_tree() {
    let dir = tempfile::tempdir().unwrap();
    let forge = reachable_forge(dir.path());
    for unprivileged in [false, true] {
        let marker = format!("PIDS_ORPHAN_MARKER={}-{unprivileged}", std::process::id());
        let (name, value) = marker.split_once('=').unwrap();
        let mut cmd = trampoline(&forge, unprivileged, &["sh", "-c", "sleep 300 & sleep 300"]);
        cmd.env(name, value)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let started = Instant::now();
        // The harness and its sleeps are up (the trampoline has the marker too).
        while crate::env::processes_with_env(&marker).len() < 4 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the harness never started"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let killed = Instant::now();
        loop {
            let left = crate::env::processes_with_env(&marker);
            if left.is_empty() {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(5),
                "left running: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
