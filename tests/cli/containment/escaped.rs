//! `escaped_killed` in `harness.finished` counts the processes a harness left behind or
//! that left its process group, never forge's own helpers (the network namespace's
//! forwarder, started by the trampoline before the harness).

use serde_json::Value;

use crate::env::TestEnv;

/// Runs a sandboxed `command` harness `sh -c SCRIPT` (the default sandbox: on, network
/// allowlist, so a forwarder where the machine gives the harness a network namespace) and
/// returns its checkpoint and `harness.finished` data.
fn run(script: &str) -> (Value, Value, bool) {
    let env = TestEnv::new();
    env.script_harness("h", script);
    env.default_harness("h");
    env.create(&["Do the thing"]);
    env.commit_all("set up");
    let run = env.forge(&["--json", "step"]).json();
    let events = env.events();
    let finished = events
        .iter()
        .find(|e| e["kind"] == "harness.finished")
        .expect("a harness.finished event");
    // In a PID namespace of its own, what the harness leaves dies with the namespace.
    let own_pids = events
        .iter()
        .find(|e| e["kind"] == "harness.started")
        .and_then(|e| e["data"]["policy"]["proc_view"].as_str())
        .is_some_and(|v| v.contains("PID namespace"));
    (
        run["checkpoint"].clone(),
        finished["data"].clone(),
        own_pids,
    )
}

#[test]
fn a_clean_harness_leaves_nothing_and_counts_nothing() {
    let (cp, finished, _) = run("echo hi > agent.txt");
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    assert_eq!(finished["escaped_killed"], 0, "{finished}");
}

#[test]
fn a_double_forked_daemon_is_counted_unless_its_pid_namespace_ended_it() {
    let script = r#"echo hi > agent.txt
python3 -c '
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        time.sleep(300)
    os._exit(0)
os.wait()
'"#;
    let (cp, finished, own_pids) = run(script);
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    let escaped = finished["escaped_killed"].as_u64().unwrap_or(0);
    if own_pids {
        assert_eq!(escaped, 0, "the kernel, not forge, ended it: {finished}");
    } else {
        assert!(escaped >= 1, "{finished}");
    }
}
