//! `run` stopping what it started: the wall and idle timeouts, TERM then KILL after the
//! grace, forked children, `setsid` daemons found by marker, ancestry or cgroup, and
//! concurrent runs that must only kill their own processes.

use std::time::Duration;

use super::*;

#[test]
fn the_wall_timeout_stops_a_hang_without_waiting_out_the_grace() {
    let mut c = case("hang.sh", &[]);
    c.spawn.timeout = Duration::from_secs(1);
    c.spawn.grace = Duration::from_secs(5);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::WallTimeout);
    // bash dies of the TERM: forge does not sit out the five seconds of grace.
    assert_eq!(ran.fin.signal, Some(15));
    assert!(ran.elapsed >= Duration::from_secs(1));
    assert_within(&ran, Duration::from_secs(1) + MARGIN);
    assert_eq!(ran.stdout(), ["started"]);
    assert_eq!(c.recorded().len(), 2);
    assert!(ran.fin.escaped_killed.is_empty());
    assert_no_survivors(&c);
}

#[test]
fn a_harness_ignoring_term_is_killed_after_the_grace() {
    let mut c = case("ignore_term.sh", &[]);
    c.spawn.timeout = Duration::from_secs(1);
    c.spawn.grace = Duration::from_secs(1);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::WallTimeout);
    assert_eq!((ran.fin.exit_code, ran.fin.signal), (None, Some(9)));
    assert!(ran.elapsed >= Duration::from_secs(2), "{:?}", ran.elapsed);
    assert_within(&ran, Duration::from_secs(2) + MARGIN);
    assert_no_survivors(&c);
}

#[test]
fn a_forked_child_in_the_group_dies_with_the_harness_on_timeout() {
    let mut c = case("fork_child.sh", &["hang"]);
    c.spawn.timeout = Duration::from_secs(1);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::WallTimeout);
    assert_eq!(c.recorded().len(), 2);
    // The child never left the process group, so it did not escape.
    assert!(ran.fin.escaped_killed.is_empty());
    assert_within(&ran, Duration::from_millis(1500) + MARGIN);
    assert_no_survivors(&c);
}

#[test]
fn a_child_left_holding_the_pipe_after_a_normal_exit_is_killed_without_a_hang() {
    let c = case("fork_child.sh", &["exit"]);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::Exited);
    assert_eq!(ran.fin.exit_code, Some(0));
    assert_eq!(ran.stdout().last(), Some(&"main exits"));
    let child = c.recorded()[1].0 as u32;
    assert_eq!(ran.fin.escaped_killed, [child]);
    assert!(ran.elapsed >= DRAIN_AFTER_EXIT);
    assert_within(&ran, DRAIN_AFTER_EXIT + MARGIN);
    assert_no_survivors(&c);
}

#[test]
fn a_setsid_daemon_is_killed_on_timeout() {
    let mut c = case("daemon.sh", &["hang"]);
    c.spawn.timeout = Duration::from_millis(1500);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::WallTimeout);
    let recorded = c.recorded();
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    let daemon = recorded[1].0;
    assert!(
        ran.stdout()
            .contains(&format!("daemon {daemon} up").as_str())
    );
    assert_eq!(ran.fin.escaped_killed, [daemon as u32]);
    assert_within(&ran, Duration::from_secs(2) + MARGIN);
    assert_no_survivors(&c);
}

#[test]
fn a_setsid_daemon_that_ignores_term_is_killed_on_timeout() {
    let mut c = case("daemon.sh", &["hang", "ignore-term"]);
    c.spawn.timeout = Duration::from_millis(1500);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::WallTimeout);
    assert_eq!(ran.fin.signal, Some(9));
    assert!(ran.elapsed >= Duration::from_secs(2));
    assert_within(&ran, Duration::from_secs(2) + MARGIN);
    assert_eq!(ran.fin.escaped_killed, [c.recorded()[1].0 as u32]);
    assert_no_survivors(&c);
}

#[test]
fn a_daemon_orphaned_at_once_is_found_by_its_forge_step_marker() {
    // The harness exits as soon as the daemon is up: the daemon is re-parented to forge
    // before any periodic scan can have seen its ancestry.
    let c = case("daemon.sh", &["exit"]);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::Exited);
    assert_eq!(ran.fin.exit_code, Some(0));
    let daemon = c.recorded()[1].0;
    assert!(
        ran.stdout()
            .contains(&format!("daemon {daemon} up").as_str())
    );
    assert_eq!(ran.fin.escaped_killed, [daemon as u32]);
    assert_within(&ran, DRAIN_AFTER_EXIT + MARGIN);
    assert_no_survivors(&c);
}

#[test]
fn a_daemon_that_ignores_term_after_a_normal_exit_gets_killed() {
    let c = case("daemon.sh", &["exit", "ignore-term"]);
    let ran = go(&c);
    assert_eq!(ran.fin.exit_code, Some(0));
    assert_eq!(ran.fin.escaped_killed, [c.recorded()[1].0 as u32]);
    assert!(ran.elapsed >= DRAIN_AFTER_EXIT + c.spawn.grace);
    assert_within(&ran, DRAIN_AFTER_EXIT + c.spawn.grace + MARGIN);
    assert_no_survivors(&c);
}

#[test]
fn a_daemon_that_clears_its_environment_is_found_by_ancestry() {
    // No FORGE_RUN anywhere: only the scans made while the harness ran (and its child, the
    // daemon's parent, was alive) know the daemon.
    let c = case(
        "daemon.sh",
        &["exit", "clear-env", "single-fork", "linger=0.8"],
    )
    .without_marker();
    let ran = go(&c);
    assert_eq!(ran.fin.exit_code, Some(0));
    assert_eq!(ran.fin.escaped_killed, [c.recorded()[1].0 as u32]);
    assert_no_survivors(&c);

    let mut c = case("daemon.sh", &["hang", "clear-env", "single-fork"]).without_marker();
    c.spawn.timeout = Duration::from_millis(1500);
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::WallTimeout);
    assert_eq!(ran.fin.escaped_killed, [c.recorded()[1].0 as u32]);
    assert_no_survivors(&c);
}

#[test]
fn the_idle_timeout_stops_a_silent_harness() {
    let mut c = case("silent.sh", &[]);
    c.spawn.idle_timeout = Some(Duration::from_millis(700));
    let ran = go(&c);
    assert_eq!(ran.fin.ended_by, EndedBy::IdleTimeout);
    assert_eq!(ran.stdout(), ["one line"]);
    assert!(ran.elapsed >= Duration::from_millis(700));
    assert_within(&ran, Duration::from_millis(700) + MARGIN);
    assert_no_survivors(&c);
}

#[test]
fn steady_output_keeps_the_idle_timeout_away_even_without_newlines() {
    for mode in ["lines", "dots"] {
        let mut c = case("ticker.sh", &["10", "0.15", mode]);
        c.spawn.idle_timeout = Some(Duration::from_millis(700));
        let ran = go(&c);
        assert_eq!(ran.fin.ended_by, EndedBy::Exited, "{mode}");
        assert_eq!(ran.fin.exit_code, Some(0));
        assert!(ran.elapsed >= Duration::from_millis(1500));
        assert_eq!(ran.stdout().last(), Some(&"done"));
    }
}

#[test]
fn a_flood_of_output_does_not_delay_the_wall_timeout() {
    let mut c = case("flood.sh", &[]);
    c.spawn.timeout = Duration::from_secs(1);
    let mut count = 0usize;
    let t = Instant::now();
    let fin = run(&c.spawn, &mut |_, l| {
        assert_eq!(l, "flood");
        count += 1;
    })
    .unwrap();
    assert_eq!(fin.ended_by, EndedBy::WallTimeout);
    assert!(count > 1000, "{count}");
    assert!(t.elapsed() <= Duration::from_millis(1500) + MARGIN);
    assert_no_survivors(&c);
}

/// The cgroup of a process, as /proc shows it.
fn cgroup_of(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default()
}

#[test]
fn with_a_cgroup_an_orphan_without_marker_or_known_ancestry_is_killed_too() {
    // The double-forked daemon clears its environment and is orphaned before any scan sees
    // its parent: the scan alone cannot tell it belongs to the run, its cgroup can.
    assert!(
        cgroup::Cgroup::available(),
        "this test needs a writable cgroup v2 hierarchy (forge as root, or a delegated \
         subtree); where there is none, skip it by name"
    );
    cgroup::enable_for_this_thread(true);
    for mode in ["exit", "hang"] {
        let mut c = case("daemon.sh", &[mode, "clear-env"]).without_marker();
        // In "hang" mode the timeout ends the run; it must not fire before the script has
        // even started its daemon, which a loaded machine can delay past a second.
        c.spawn.timeout = Duration::from_secs(5);
        let mut daemon_cgroup = String::new();
        let fin = run(&c.spawn, &mut |_, line| {
            if let Some(pid) = line
                .strip_prefix("daemon ")
                .and_then(|l| l.strip_suffix(" up"))
            {
                daemon_cgroup = cgroup_of(pid.parse().unwrap());
            }
        })
        .unwrap();
        assert!(
            daemon_cgroup.contains("/forge-"),
            "{mode}: daemon in {daemon_cgroup:?}"
        );
        let daemon = c.recorded()[1].0;
        assert_eq!(fin.escaped_killed, [daemon as u32], "{mode}");
        assert_no_survivors(&c);
    }
}

#[test]
fn concurrent_runs_only_kill_their_own_processes() {
    concurrent_runs(false);
}

#[test]
fn concurrent_runs_with_cgroups_only_kill_their_own_processes() {
    assert!(
        cgroup::Cgroup::available(),
        "this test needs a writable cgroup v2 hierarchy (forge as root, or a delegated \
         subtree); where there is none, skip it by name"
    );
    concurrent_runs(true);
}

fn concurrent_runs(cgroups: bool) {
    // A runs a daemon for a while; B, at the same time, leaves a daemon behind and has it
    // killed. B's clean-up must not touch A's daemon (both are re-parented to this process).
    cgroup::enable_for_this_thread(cgroups);
    let mut a = case("daemon.sh", &["hang"]);
    a.spawn.timeout = Duration::from_secs(3);
    let a_spawn = a.spawn.clone();
    let a_thread = std::thread::spawn(move || {
        cgroup::enable_for_this_thread(cgroups);
        run(&a_spawn, &mut |_, _| {}).unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(3);
    while a.recorded().len() < 3 {
        assert!(Instant::now() < deadline, "A did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let b = case("daemon.sh", &["exit"]);
    let ran_b = go(&b);
    assert_eq!(ran_b.fin.escaped_killed, [b.recorded()[1].0 as u32]);
    assert_no_survivors(&b);
    assert_eq!(survivors(&a).len(), 3, "B killed some of A's processes");
    let fin_a = a_thread.join().unwrap();
    assert_eq!(fin_a.ended_by, EndedBy::WallTimeout);
    assert_eq!(fin_a.escaped_killed, [a.recorded()[1].0 as u32]);
    assert_no_survivors(&a);
}
