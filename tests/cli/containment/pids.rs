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
    let policy = serde_json::json!({
        "abi": 7,
        "read": ["/usr", "/lib", "/lib64", "/bin", "/etc", "/proc"],
        "write": ["/dev/null"],
        "network": "open",
        "proxy_port": null,
        "scoped": true,
        "memory_bytes": null,
        "max_processes": null,
        "pids": true,
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
    // The init's environment is the harness's own, nothing of the host's PID 1.
    assert!(text.lines().any(|l| l == "init-environ marker"), "{text}");
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
