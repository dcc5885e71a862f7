//! `[sandbox] memory_mb` and `max_processes`: enforced on the harness's whole tree by a
//! cgroup where the machine has one (it does where these tests run: root, with the
//! memory and pids controllers), named in the step's policy and report when they stop it.

use serde_json::Value;

use super::{Hostile, ON};

/// The `harness.finished` and `harness.started` events of the step.
fn harness_events(h: &Hostile) -> (Value, Value) {
    let events = h.env.events();
    let find = |kind: &str| {
        events
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} event in {events:?}"))["data"]
            .clone()
    };
    (find("harness.started"), find("harness.finished"))
}

#[test]
fn a_memory_limit_kills_the_harness_and_says_which_setting() {
    let h = Hostile::new(Some(&format!("{ON}memory_mb = 96\n")), "memory", "400");
    let o = h.step();
    h.assert_said(&o, "allocating");
    let (started, finished) = harness_events(&h);
    let enforced = started["policy"]["limits_enforced"].to_string();
    assert!(enforced.contains("memory: cgroup"), "{enforced}");
    assert!(
        finished["limits"]["oom_kills"].as_u64() >= Some(1),
        "{finished}"
    );
    let cp = o.checkpoint();
    assert_eq!(cp["state"], "failed", "{cp}");
    let reason = cp["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("[sandbox] memory_mb"), "{reason}");
    h.assert_unchanged(&o);
}

#[test]
fn a_process_limit_holds_for_the_whole_tree_even_as_root() {
    let h = Hostile::new(Some(&format!("{ON}max_processes = 12\n")), "fork", "40");
    let o = h.step();
    h.assert_denied(&o, &["EAGAIN"]);
    let (started, finished) = harness_events(&h);
    let enforced = started["policy"]["limits_enforced"].to_string();
    assert!(enforced.contains("processes: cgroup"), "{enforced}");
    assert!(
        finished["limits"]["fork_refusals"].as_u64() >= Some(1),
        "{finished}"
    );
    h.assert_unchanged(&o);
}

#[test]
fn without_limits_the_same_harness_runs_freely() {
    // The control: the fixture really allocates and forks this much when nothing stops it.
    let h = Hostile::new(Some(ON), "fork", "40");
    let o = h.step();
    h.assert_done(&o);
    let (started, finished) = harness_events(&h);
    assert_eq!(started["policy"]["limits_enforced"], serde_json::json!([]));
    assert_eq!(finished["limits"]["fork_refusals"], 0, "{finished}");
}
