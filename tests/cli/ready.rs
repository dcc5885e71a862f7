use crate::env::{TestEnv, ids};

#[test]
fn a_chain_becomes_ready_link_by_link() {
    let env = TestEnv::new();
    let a = env.create(&["a"]);
    let b = env.create(&["b", "--dep", &a]);
    let c = env.create(&["c", "--dep", &format!("{b}:blocks")]);
    assert_eq!(env.ready(), [a.as_str()]);
    env.forge(&["bead", "close", &a]).ok();
    assert_eq!(env.ready(), [b.as_str()]);
    env.forge(&["bead", "close", &b]).ok();
    assert_eq!(env.ready(), [c.as_str()]);
}

#[test]
fn deferred_dependency_blocks_and_closed_does_not() {
    let env = TestEnv::new();
    let a = env.create(&["a"]);
    let b = env.create(&["b"]);
    let waits_a = env.create(&["waits on a", "--dep", &a]);
    let waits_b = env.create(&["waits on b", "--dep", &b]);
    env.forge(&["bead", "close", &a]).ok();
    env.forge(&["bead", "defer", &b]).ok();
    assert_eq!(env.ready(), [waits_a]);
    let blocked = env.forge(&["--json", "blocked"]).ok().json();
    let entry = &blocked["blocked"][0];
    assert_eq!(entry["bead"]["id"], waits_b.as_str());
    assert_eq!(
        entry["blocked_by"],
        serde_json::json!([{"reason": "dependency", "id": b, "status": "deferred"}])
    );
}

#[test]
fn epics_wait_for_open_children_and_deferred_parents_hide_children() {
    let env = TestEnv::new();
    let epic = env.create(&["epic", "-k", "epic"]);
    let c1 = env.create(&["child 1", "--parent", &epic]);
    let c2 = env.create(&["child 2", "--dep", &format!("{epic}:parent")]);
    let mut ready = env.ready();
    ready.sort();
    let mut children = vec![c1.as_str(), c2.as_str()];
    children.sort();
    assert_eq!(ready, children, "equal rank: both children, in id order");
    env.forge(&["bead", "close", &c1]).ok();
    env.forge(&["bead", "close", &c2]).ok();
    // The epic is never work itself: it closed with its last child.
    assert!(env.ready().is_empty(), "{:?}", env.ready());
    assert_eq!(env.show(&epic)["status"], "closed");

    let parked = env.create(&["parked epic", "-k", "epic"]);
    let child = env.create(&["child of parked", "--parent", &parked]);
    let grandchild = env.create(&["grandchild", "--parent", &child]);
    env.forge(&["bead", "defer", &parked]).ok();
    let ready = env.ready();
    assert!(
        !ready.contains(&child) && !ready.contains(&grandchild),
        "{ready:?}"
    );
    let text = env.forge(&["blocked"]).ok().stdout;
    assert!(
        text.contains(&format!("parent {parked} is deferred")),
        "{text}"
    );
    env.forge(&["bead", "reopen", &parked]).ok();
    let ready = env.ready();
    assert!(
        ready.contains(&child) && ready.contains(&grandchild),
        "{ready:?}"
    );
}

#[test]
fn ready_orders_by_priority_value_then_age() {
    let env = TestEnv::new();
    let low = env.create(&["low", "-p", "3"]);
    let urgent = env.create(&["urgent", "-p", "0"]);
    let valuable = env.create(&["valuable", "--value", "90"]);
    let older = env
        .command(&["--json", "bead", "create", "older"])
        .env("FORGE_NOW", "2026-01-01T00:00:00Z")
        .output()
        .unwrap();
    let older = crate::env::to_run(older).ok().json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let plain = env.create(&["plain"]);
    assert_eq!(env.ready(), [urgent, valuable, older, plain, low]);
    let limited = env.forge(&["--json", "ready", "-n", "2"]).ok().json();
    assert_eq!(ids(&limited["ready"]).len(), 2);
}

#[test]
fn cycles_are_refused_and_printed() {
    let env = TestEnv::new();
    let a = env.create(&["a"]);
    let b = env.create(&["b", "--dep", &a]);
    let c = env.create(&["c", "--dep", &b]);
    let before = env.snapshot();
    let run = env.forge(&["bead", "dep", "add", &a, &c]).fails_with(7);
    assert!(
        run.stderr.contains(&format!("{a} -> {c} -> {b} -> {a}")),
        "{}",
        run.stderr
    );
    let json = env
        .forge(&["--json", "bead", "dep", "add", &a, &a])
        .fails_with(7)
        .error_json();
    assert_eq!(json["error"]["code"], "cycle");
    assert_eq!(before, env.snapshot(), "a refused cycle changed files");
}

#[test]
fn parent_cycles_and_epic_waiting_on_its_child_are_refused() {
    let env = TestEnv::new();
    let epic = env.create(&["epic", "-k", "epic"]);
    let child = env.create(&["child", "--parent", &epic]);
    env.forge(&["bead", "dep", "add", &epic, &child, "--type", "parent"])
        .fails_with(7);
    // The child waiting on its epic would never be ready: the epic waits for the child.
    env.forge(&["bead", "dep", "add", &child, &epic])
        .fails_with(7);
    // A task may depend on its non-epic parent task.
    let task = env.create(&["task parent"]);
    let sub = env.create(&["sub", "--parent", &task]);
    env.forge(&["bead", "dep", "add", &sub, &task]).ok();
}

#[test]
fn related_links_never_block() {
    let env = TestEnv::new();
    let a = env.create(&["a"]);
    let b = env.create(&["b", "--dep", &format!("{a}:related")]);
    let c = env.create(&["c", "--dep", &format!("{a}:discovered-from")]);
    assert_eq!(env.ready().len(), 3, "{:?}", [a, b, c]);
}

#[test]
fn human_output_of_ready_and_blocked() {
    let env = TestEnv::new();
    let empty = env.forge(&["ready"]).ok();
    assert!(empty.stdout.is_empty() && empty.stderr.contains("No bead is ready"));
    let a = env.create(&["first thing", "-p", "1"]);
    let b = env.create(&["second thing", "--dep", &a]);
    let ready = env.forge(&["ready"]).ok().stdout;
    assert!(
        ready.contains(&a) && ready.contains("P1") && ready.contains("first thing"),
        "{ready}"
    );
    let blocked = env.forge(&["blocked"]).ok().stdout;
    assert!(
        blocked.contains(&b) && blocked.contains(&format!("waits for {a} (open)")),
        "{blocked}"
    );
}
