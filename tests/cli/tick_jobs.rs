//! `forge tick --jobs N`: several steps at once inside one tick.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::env::{TestEnv, WAIT_FOR_GO, fixture, to_run, toml_string, wait_for_marker};

fn with_script(script: &str) -> TestEnv {
    let env = TestEnv::new();
    env.script_harness("fake", script);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    env
}

fn with_claude() -> TestEnv {
    let env = TestEnv::new();
    env.configure(&format!(
        "[harness.claude]\npreset = \"claude\"\ncommand = [{}]\ntimeout = 60\ngrace = 1\n",
        toml_string(fixture("harnesses/fake-claude").to_str().unwrap())
    ));
    env.default_harness("claude");
    env
}

/// `forge --json tick ARGS...` under the real clock, and how long it took.
fn timed_tick(env: &TestEnv, args: &[&str]) -> (Value, Duration) {
    let mut all = vec!["--json", "tick"];
    all.extend_from_slice(args);
    let start = Instant::now();
    let out = env.command(&all).env_remove("FORGE_NOW").output().unwrap();
    let took = start.elapsed();
    (to_run(out).ok().json(), took)
}

/// `step.claimed` events per bead.
fn claims(env: &TestEnv) -> std::collections::BTreeMap<String, usize> {
    let mut n = std::collections::BTreeMap::new();
    for e in env.events() {
        if e["kind"] == "step.claimed" {
            let bead = e["data"]["bead"].as_str().unwrap_or_default().to_owned();
            *n.entry(bead).or_default() += 1;
        }
    }
    n
}

/// HEAD, the status and the index outside `.forge/` (forge's own state, which a tick
/// records to).
fn user_state(env: &TestEnv) -> (String, String, String) {
    let outside = |text: String| -> String {
        text.lines()
            .filter(|l| !l.contains(".forge/"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    (
        env.git(&["rev-parse", "HEAD"]),
        outside(env.git(&["status", "--porcelain", "--untracked-files=all"])),
        outside(env.git(&["ls-files", "--stage"])),
    )
}

#[test]
fn four_jobs_run_four_steps_in_about_the_time_of_one() {
    let env = with_script("sleep 3; echo x > \"$FORGE_BEAD.txt\"");
    let beads: Vec<String> = (0..5)
        .map(|i| env.create(&[&format!("bead {i}")]))
        .collect();
    env.commit_all("set up");
    // A change the steps must not touch: staged and unstaged, in the user's tree.
    std::fs::write(env.path("staged.txt"), "staged\n").unwrap();
    env.git(&["add", "staged.txt"]);
    std::fs::write(env.path("README.md"), "edited by the user\n").unwrap();
    let before = user_state(&env);

    // One step alone, measured here rather than assumed.
    let (one, single) = timed_tick(&env, &[]);
    assert_eq!(one["ran"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["ran"][0]["state"], "awaiting-approval", "{one}");

    env.edit_config("steps = 1", "steps = 4");
    let (four, parallel) = timed_tick(&env, &["--jobs", "4"]);
    let ran = four["ran"].as_array().unwrap();
    assert_eq!(ran.len(), 4, "{four}");
    assert!(
        ran.iter().all(|r| r["state"] == "awaiting-approval"),
        "{four}"
    );
    assert_eq!(four["stopped"], "step_limit", "{four}");
    assert_eq!(four["awaiting_approval"].as_array().unwrap().len(), 5);
    // Every bead ran exactly once across both ticks.
    let claimed = claims(&env);
    assert_eq!(claimed.len(), 5, "{claimed:?}");
    assert!(
        beads.iter().all(|b| claimed.get(b) == Some(&1)),
        "{claimed:?}"
    );
    assert!(
        parallel.as_secs_f64() < 1.5 * single.as_secs_f64(),
        "four steps at once took {parallel:?}, one step {single:?}"
    );
    assert_eq!(
        user_state(&env),
        before,
        "the user's tree and index are untouched"
    );
}

#[test]
fn eight_ticks_with_four_jobs_each_run_no_bead_twice() {
    let env = with_script(&format!("{WAIT_FOR_GO}echo x > \"$FORGE_BEAD.txt\""));
    env.edit_config("steps = 1", "steps = 4");
    for i in 0..6 {
        env.create(&[&format!("bead {i}")]);
    }
    env.commit_all("set up");
    let done = crate::tick::eight_ticks_one_works(&env, &["--jobs", "4"]);
    let (mut worked, mut refused) = (0, 0);
    for report in done {
        if report["stopped"] == "another_tick" {
            refused += 1;
        } else {
            worked += 1;
            assert_eq!(report["ran"].as_array().unwrap().len(), 4, "{report}");
        }
    }
    assert_eq!((worked, refused), (1, 7), "exactly one tick works");
    let claimed = claims(&env);
    assert_eq!(claimed.len(), 4, "{claimed:?}");
    assert!(
        claimed.values().all(|&n| n == 1),
        "a bead ran twice: {claimed:?}"
    );
}

/// What fake-claude reports per run.
const RUN_USD: f64 = 0.0312475;

fn money_spent(report: &Value) -> f64 {
    report["spent_today"]["money"].as_f64().unwrap()
}

#[test]
fn a_budget_covering_two_reservations_starts_two_of_four_jobs() {
    let env = with_claude();
    env.edit_config("steps = 1", "steps = 4");
    env.edit_config(
        "# money_per_day = 20.0",
        "money_per_day = 0.08\nreserve_usd = 0.04",
    );
    for i in 0..4 {
        env.create(&[&format!("bead {i}")]);
    }
    let r = env.forge(&["--json", "tick", "--jobs", "4"]).ok().json();
    assert_eq!(r["ran"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["stopped"], "budget", "{r}");
    // The bound: the steps running after the last start spent at most their
    // reservations' worth beyond them; here each spent less than it reserved.
    let spent = money_spent(&r);
    assert!((spent - 2.0 * RUN_USD).abs() < 1e-6, "{r}");
    assert!(spent <= 0.08, "{r}");
    assert_eq!(claims(&env).len(), 2);
    // Nothing more starts today.
    let again = env.forge(&["--json", "tick", "--jobs", "4"]).ok().json();
    assert!(again["ran"].as_array().unwrap().is_empty(), "{again}");
    assert_eq!(again["stopped"], "budget", "{again}");
}

#[test]
fn without_a_known_reservation_a_step_runs_alone_then_the_mean_of_runs_reserves() {
    let env = with_claude();
    env.edit_config("steps = 1", "steps = 4");
    // Room for two runs, not three.
    env.edit_config("# money_per_day = 20.0", "money_per_day = 0.07");
    for i in 0..4 {
        env.create(&[&format!("bead {i}")]);
    }
    let r = env.forge(&["--json", "tick", "--jobs", "4"]).ok().json();
    assert_eq!(r["ran"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["stopped"], "budget", "{r}");
    let spent = money_spent(&r);
    assert!(spent <= 0.07, "{r}");
    let exhausted: Vec<Value> = env
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "budget.exhausted")
        .collect();
    assert_eq!(exhausted.len(), 1);
    assert!(
        exhausted[0]["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("reserved"),
        "{exhausted:?}"
    );
}

#[test]
fn jobs_zero_is_refused() {
    let env = TestEnv::new();
    let out = env.command(&["tick", "--jobs", "0"]).output().unwrap();
    assert!(!out.status.success());
    env.edit_config("steps = 1", "steps = 1\njobs = 0");
    let out = env.command(&["tick"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("jobs = 0"));
}

/// A pause given while jobs run starts nothing more; the running steps finish.
/// Steps that write their work, then wait for a `go` that never comes.
fn waiting_forever() -> TestEnv {
    let env = with_script(&format!(
        "echo work > \"$FORGE_BEAD.txt\"; {WAIT_FOR_GO}echo late >> \"$FORGE_BEAD.txt\""
    ));
    env.edit_config("steps = 1", "steps = 5");
    for i in 0..4 {
        env.create(&[&format!("bead {i}")]);
    }
    env
}

/// The steps a tick report lists all ended interrupted, their work on their branches.
fn assert_interrupted_with_work(env: &TestEnv, r: &Value) {
    let ran = r["ran"].as_array().unwrap();
    assert!(!ran.is_empty() && ran.len() <= 2, "{r}");
    for s in ran {
        assert_eq!(s["state"], "interrupted", "{r}");
        let step = s["step"].as_str().unwrap();
        let (bead, attempt) = step.rsplit_once('.').unwrap();
        let file = env.git(&["show", &format!("forge/{bead}/{attempt}:{bead}.txt")]);
        assert_eq!(file, "work\n", "{step}");
    }
    assert_eq!(claims(env).len(), ran.len(), "nothing more started");
}

#[test]
fn a_pause_during_a_parallel_tick_ends_its_running_steps() {
    let env = waiting_forever();
    env.commit_all("set up");
    let beside = env.repo.parent().unwrap().to_owned();
    let child = env
        .command(&["--json", "tick", "--jobs", "2"])
        .env_remove("FORGE_NOW")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_marker(&beside.join("started"), "the tick's first harness");
    env.forge(&["pause", "--reason", "hold on"]).ok();
    let r = to_run(child.wait_with_output().unwrap()).ok().json();
    assert_eq!(r["stopped"], "paused", "{r}");
    assert_interrupted_with_work(&env, &r);
}

#[test]
fn a_parallel_tick_out_of_wall_time_ends_its_running_steps() {
    let env = waiting_forever();
    env.edit_config("# wall_time = 3600", "wall_time = 2");
    env.commit_all("set up");
    let started = Instant::now();
    let r = env
        .command(&["--json", "tick", "--jobs", "2"])
        .env_remove("FORGE_NOW")
        .output()
        .unwrap();
    let r = to_run(r).ok().json();
    // Well before the harness's own 30 s timeout.
    assert!(started.elapsed() < Duration::from_secs(25), "{r}");
    assert_eq!(r["stopped"], "wall_time", "{r}");
    assert_interrupted_with_work(&env, &r);
}

/// Ctrl-C ends every running step as interrupted, its work kept, and starts nothing more.
#[test]
fn ctrl_c_interrupts_every_running_job_and_keeps_its_work() {
    let env = with_script(&format!(
        "echo work > \"$FORGE_BEAD.txt\"; {WAIT_FOR_GO}echo late >> \"$FORGE_BEAD.txt\""
    ));
    env.edit_config("steps = 1", "steps = 5");
    for i in 0..4 {
        env.create(&[&format!("bead {i}")]);
    }
    env.commit_all("set up");
    let beside = env.repo.parent().unwrap().to_owned();
    let child = env
        .command(&["--json", "tick", "--jobs", "2"])
        .env_remove("FORGE_NOW")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_marker(&beside.join("started"), "the tick's first harness");
    // Both jobs are running once two claims are in the ledger.
    let deadline = Instant::now() + Duration::from_secs(60);
    while claims(&env).len() < 2 {
        assert!(Instant::now() < deadline, "the second job never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let r = to_run(child.wait_with_output().unwrap()).ok().json();
    assert_eq!(r["stopped"], "interrupted", "{r}");
    let ran = r["ran"].as_array().unwrap();
    assert_eq!(ran.len(), 2, "{r}");
    for s in ran {
        assert_eq!(s["state"], "interrupted", "{r}");
        // The work is committed on the step's branch.
        let step = s["step"].as_str().unwrap();
        let (bead, attempt) = step.rsplit_once('.').unwrap();
        let file = env.git(&["show", &format!("forge/{bead}/{attempt}:{bead}.txt")]);
        assert_eq!(file, "work\n", "{step}");
    }
    assert_eq!(claims(&env).len(), 2, "nothing more started");
}

/// With `--jobs`, a bead whose last attempt changed the files a running bead's last attempt
/// changed waits for it rather than racing it; an unrelated bead runs beside it.
#[test]
fn a_bead_that_overlapped_a_running_one_waits_for_it() {
    let env = with_script(
        "log=\"$FORGE_REPO/../runs.log\"; echo \"start $FORGE_BEAD\" >> \"$log\"; sleep 1; \
         if [ \"$FORGE_BEAD\" = \"$(cat \"$FORGE_REPO/../solo-id\" 2>/dev/null)\" ]; \
         then echo x > solo.txt; else echo \"$FORGE_BEAD\" >> README; fi; \
         echo \"end $FORGE_BEAD\" >> \"$log\"",
    );
    let a = env.create(&["Edit the readme"]);
    let b = env.create(&["Edit the readme too"]);
    env.commit_all("set up");
    // Both touched README in their first attempts; both are sent back.
    for bead in [&a, &b] {
        env.forge(&["step", bead]).ok();
        env.forge(&["reject", &format!("{bead}.1"), "--reason", "again"])
            .ok();
    }
    let solo = env.create(&["Something else"]);
    env.edit_config("steps = 1", "steps = 3");
    env.commit_all("more");
    let beside = env.repo.parent().unwrap().to_owned();
    std::fs::write(beside.join("solo-id"), &solo).unwrap();
    std::fs::write(beside.join("runs.log"), "").unwrap();
    let r = env
        .command(&["--json", "tick", "--jobs", "2"])
        .output()
        .unwrap();
    let r = to_run(r).ok().json();
    assert_eq!(r["ran"].as_array().unwrap().len(), 3, "{r}");
    let log = std::fs::read_to_string(env.repo.parent().unwrap().join("runs.log")).unwrap();
    let at = |what: &str| {
        log.lines()
            .position(|l| l == what)
            .unwrap_or_else(|| panic!("no `{what}` in\n{log}"))
    };
    // Whichever of a and b ran first, the other started only after it ended.
    let (first, second) = if at(&format!("start {a}")) < at(&format!("start {b}")) {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert!(
        at(&format!("start {second}")) > at(&format!("end {first}")),
        "{second} raced {first}:\n{log}"
    );
    // The unrelated bead ran beside the first.
    assert!(
        at(&format!("start {solo}")) < at(&format!("end {first}")),
        "{solo} did not run beside {first}:\n{log}"
    );
}

/// The circuit breaker counts failures across jobs: two failed steps in a row trip it
/// whichever job ran them, and the tick starts nothing after.
#[test]
fn the_breaker_counts_failures_across_jobs() {
    let env = with_script("sleep 0.3; echo broken >&2; exit 1");
    env.edit_config("steps = 1", "steps = 6");
    env.edit_config("breaker = 3", "breaker = 2");
    for i in 0..6 {
        env.create(&[&format!("bead {i}")]);
    }
    env.commit_all("set up");
    let r = env.forge(&["--json", "tick", "--jobs", "2"]).ok().json();
    assert_eq!(r["stopped"], "breaker", "{r}");
    let ran = r["ran"].as_array().unwrap();
    assert!(ran.len() >= 2 && ran.len() <= 3, "{r}");
    let status = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(status["paused"]["breaker"], true, "{status}");
    assert!(claims(&env).len() <= 3, "started after the breaker tripped");
}
