//! The first hour of a new user (issue 15): each dead end they hit now ends in a sentence
//! that says what to do, before forge claims anything.

use serde_json::Value;

use crate::env::TestEnv;

/// A repository with one bead and a harness running `script`, committed.
fn with_script(script: &str) -> (TestEnv, String) {
    let env = TestEnv::new();
    env.script_harness("fake", script);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    let bead = env.create(&["Improve the readme"]);
    env.commit_all("forge set up");
    (env, bead)
}

const EDIT: &str = "echo 'agent line' >> README";

/// Runs `forge --json step [args]` and returns the step id it reports.
fn step(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["--json", "step"];
    all.extend_from_slice(args);
    let run = env.forge(&all);
    run.json()["checkpoint"]["step"]
        .as_str()
        .unwrap_or_else(|| panic!("no step: {}\n{}", run.stdout, run.stderr))
        .to_owned()
}

fn kinds(env: &TestEnv) -> Vec<String> {
    env.events()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Nothing was claimed: no checkpoint, no step event, no step branch, no extra worktree.
#[track_caller]
fn nothing_claimed(env: &TestEnv) {
    let checkpoints = env.path(".forge/checkpoints");
    let count = std::fs::read_dir(&checkpoints)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".toml"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(count, 0, "a checkpoint was written");
    let kinds = kinds(env);
    assert!(
        !kinds.iter().any(|k| k.starts_with("step.")),
        "step events: {kinds:?}"
    );
    assert_eq!(
        env.git(&["for-each-ref", "refs/heads/forge/"]),
        "",
        "a step branch was made"
    );
    assert_eq!(
        env.git(&["worktree", "list"]).lines().count(),
        1,
        "a worktree was made"
    );
}

fn finding<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

// 5. No commits yet.

#[test]
fn a_step_in_a_repository_without_commits_says_to_commit_first() {
    let env = TestEnv::bare();
    // `git init` and nothing committed: the branch HEAD names does not exist yet.
    env.git(&["update-ref", "-d", "refs/heads/main"]);
    env.forge(&["init"]).ok();
    env.script_harness("fake", EDIT);
    env.default_harness("fake");
    env.create(&["x"]);
    let run = env.forge(&["step"]).fails_with(7);
    assert!(
        run.stderr
            .contains("the repository has no commits: commit something first"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("git commit"), "{}", run.stderr);
    assert!(!run.stderr.contains("rev-parse"), "{}", run.stderr);
    let json = env.forge(&["--json", "step"]).fails_with(7).error_json();
    assert_eq!(json["error"]["code"], "refused");
    assert!(
        json["error"]["hints"][0]
            .as_str()
            .unwrap()
            .contains("git add -A && git commit"),
        "{json}"
    );
    nothing_claimed(&env);
}

// 6. Paused is visible.

#[test]
fn a_pause_shows_in_status_and_doctor_with_the_way_out() {
    let (env, _) = with_script(EDIT);
    let status = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(status["paused"], Value::Null, "{status}");
    let doctor = env.forge(&["--json", "doctor"]).ok().json();
    assert!(
        finding(&doctor, "tick")
            .iter()
            .all(|f| f["severity"] == "ok"),
        "{doctor:#}"
    );

    env.forge(&["pause", "--reason", "release freeze"]).ok();
    let text = env.forge(&["status"]).ok().stdout;
    assert!(
        text.contains("paused") && text.contains("release freeze"),
        "{text}"
    );
    assert!(text.contains("forge resume"), "{text}");
    let status = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(status["paused"]["reason"], "release freeze", "{status}");
    assert_eq!(status["paused"]["breaker"], false, "{status}");
    assert_eq!(status["paused"]["resume"], "forge resume", "{status}");

    let doctor = env.forge(&["--json", "doctor"]).ok().json();
    let tick = finding(&doctor, "tick");
    assert_eq!(tick.len(), 1, "{doctor:#}");
    assert_eq!(tick[0]["severity"], "warning");
    assert!(
        tick[0]["message"]
            .as_str()
            .unwrap()
            .contains("release freeze"),
        "{}",
        tick[0]
    );
    assert_eq!(tick[0]["fix"], "forge resume");
    let text = env.forge(&["doctor"]).ok().stdout;
    assert!(text.contains("release freeze"), "{text}");

    env.forge(&["resume"]).ok();
    let status = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(status["paused"], Value::Null, "{status}");
    assert!(!env.forge(&["status"]).ok().stdout.contains("paused"));
}

#[test]
fn a_tripped_breaker_shows_in_status_and_doctor() {
    let (env, _) = with_script("echo broken >&2; exit 1");
    env.edit_config("breaker = 3", "breaker = 1");
    let tick = env
        .command(&["--json", "tick"])
        .env_remove("FORGE_NOW")
        .output()
        .unwrap();
    let tick = crate::env::to_run(tick).ok().json();
    assert_eq!(tick["stopped"], "breaker", "{tick}");

    let text = env.forge(&["status"]).ok().stdout;
    assert!(text.contains("circuit breaker"), "{text}");
    assert!(text.contains("forge resume"), "{text}");
    let status = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(status["paused"]["breaker"], true, "{status}");
    assert!(
        status["paused"]["reason"]
            .as_str()
            .unwrap()
            .contains("consecutive failed steps"),
        "{status}"
    );
    let doctor = env.forge(&["--json", "doctor"]).ok().json();
    let tick = finding(&doctor, "tick");
    assert_eq!(tick.len(), 1, "{doctor:#}");
    assert_eq!(tick[0]["severity"], "warning");
    assert!(
        tick[0]["message"]
            .as_str()
            .unwrap()
            .contains("circuit breaker"),
        "{}",
        tick[0]
    );
    assert!(
        tick[0]["fix"].as_str().unwrap().contains("forge resume"),
        "{}",
        tick[0]
    );
}

// 7. A finished plan's epic closes itself and is never work for a harness.

#[test]
fn an_epic_closes_itself_when_its_last_child_closes() {
    let env = TestEnv::new();
    let outer = env.create(&["outer goal", "-k", "epic"]);
    let epic = env.create(&["goal", "-k", "epic", "--parent", &outer]);
    let c1 = env.create(&["child 1", "--parent", &epic]);
    let c2 = env.create(&["child 2", "--parent", &epic]);
    env.forge(&["bead", "close", &c1]).ok();
    assert_eq!(env.show(&epic)["status"], "open");
    let closed = env.forge(&["--json", "bead", "close", &c2]).ok().json();
    assert_eq!(closed["bead"]["status"], "closed");
    assert_eq!(
        closed["closed_epics"],
        serde_json::json!([epic, outer]),
        "{closed}"
    );
    for id in [&epic, &outer] {
        assert_eq!(env.show(id)["status"], "closed", "{id}");
    }
    assert!(env.ready().is_empty(), "{:?}", env.ready());
    // Recorded like any close, by the command that closed the child.
    let events = env.events();
    let last_child = events
        .iter()
        .find(|e| e["kind"] == "bead.closed" && e["data"]["bead"] == c2.as_str())
        .unwrap();
    for (id, last) in [(&epic, &c2), (&outer, &epic)] {
        let e = events
            .iter()
            .find(|e| e["kind"] == "bead.closed" && e["data"]["bead"] == id.as_str())
            .unwrap_or_else(|| panic!("no bead.closed for {id}"));
        assert_eq!(e["run"], last_child["run"]);
        assert!(
            e["data"]["reason"]
                .as_str()
                .unwrap()
                .contains(last.as_str()),
            "{e}"
        );
    }
    let text = env.forge(&["bead", "close", &c2]).ok().stdout;
    assert!(text.contains("already closed"), "{text}");
}

#[test]
fn approving_the_last_child_closes_the_epic() {
    let env = TestEnv::new();
    env.script_harness("fake", EDIT);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    let epic = env.create(&["goal", "-k", "epic"]);
    let child = env.create(&["the only child", "--parent", &epic]);
    env.commit_all("forge set up");
    let s = step(&env, &[&child]);
    let approved = env.forge(&["--json", "approve", &s, "--yes"]).ok().json();
    assert_eq!(env.show(&child)["status"], "closed");
    assert_eq!(env.show(&epic)["status"], "closed", "{approved}");
    let events = env.events();
    let merged = events.iter().find(|e| e["kind"] == "step.merged").unwrap();
    let closed = events
        .iter()
        .find(|e| e["kind"] == "bead.closed" && e["data"]["bead"] == epic.as_str())
        .expect("the epic's close is in the ledger");
    assert_eq!(closed["run"], merged["run"]);
    // Nothing is left to run.
    let run = env.forge(&["step"]).fails_with(7);
    assert!(run.stderr.contains("no bead is ready"), "{}", run.stderr);
}

#[test]
fn epics_are_never_sent_to_a_harness() {
    let (env, bead) = with_script(EDIT);
    env.forge(&["bead", "close", &bead]).ok();
    let epic = env.create(&["a goal with no children yet", "-k", "epic"]);
    env.commit_all("an epic");
    assert!(env.ready().is_empty(), "{:?}", env.ready());
    let run = env.forge(&["step", &epic]).fails_with(7);
    assert!(run.stderr.contains("is an epic"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    let run = env.forge(&["step"]).fails_with(7);
    assert!(run.stderr.contains("no bead is ready"), "{}", run.stderr);
    let tick = env
        .command(&["--json", "tick"])
        .env_remove("FORGE_NOW")
        .output()
        .unwrap();
    let tick = crate::env::to_run(tick).ok().json();
    assert!(tick["ran"].as_array().unwrap().is_empty(), "{tick}");
    nothing_claimed(&env);
}

// 8. Sentences instead of raw git errors.

#[test]
fn approving_a_failed_step_without_a_commit_says_there_is_nothing_to_approve() {
    let (env, bead) = with_script("echo broken >&2; exit 1");
    let s = step(&env, &[]);
    for args in [&["approve", &s][..], &["approve", &s, "--yes"]] {
        let run = env.forge(args).fails_with(7);
        assert!(
            run.stderr.contains("nothing to approve"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("forge step {bead}")),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains(" at  ("), "{}", run.stderr);
    }
}

#[test]
fn approving_a_failed_step_at_the_prompt_says_there_is_nothing_to_approve() {
    let (env, _) = with_script("echo broken >&2; exit 1");
    let s = step(&env, &[]);
    let mut cmd = env.command(&["approve", &s]);
    cmd.env("TERM", "xterm").env("PAGER", "cat");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    let out = p.exp_eof().unwrap();
    assert!(out.contains("nothing to approve"), "{out}");
    assert!(!out.contains("ambiguous argument"), "{out}");
}

#[test]
fn approve_with_an_unknown_head_commit_says_so() {
    let (env, _) = with_script(EDIT);
    let s = step(&env, &[]);
    let head = env.forge(&["--json", "steps"]).ok().json()["steps"][0]["head"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = env
        .forge(&["approve", &s, "--yes", "--head", "deadbeef"])
        .fails_with(7);
    assert!(
        run.stderr.contains("deadbeef") && run.stderr.contains("not a commit"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("rev-parse"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&head),
        "the hint names the head: {}",
        run.stderr
    );
    let json = env
        .forge(&["--json", "approve", &s, "--yes", "--head", "deadbeef"])
        .fails_with(7)
        .error_json();
    assert_eq!(json["error"]["code"], "refused");
    // Nothing was merged; the step still waits.
    assert_eq!(
        env.forge(&["--json", "steps"]).ok().json()["steps"][0]["state"],
        "awaiting-approval"
    );
}

#[test]
fn approve_with_another_commit_as_head_does_not_say_moved() {
    let (env, _) = with_script(EDIT);
    let s = step(&env, &[]);
    let base = env.git(&["rev-parse", "main"]).trim().to_owned();
    let run = env
        .forge(&["approve", &s, "--yes", "--head", &base])
        .fails_with(7);
    assert!(!run.stderr.contains("moved"), "{}", run.stderr);
    assert!(run.stderr.contains("is not the head of"), "{}", run.stderr);
    assert_eq!(
        env.git(&["rev-parse", "main"]).trim(),
        base,
        "nothing merged"
    );
}

#[test]
fn approve_of_an_unknown_id_says_unknown_before_needs_a_human() {
    let (env, _) = with_script(EDIT);
    let run = env.forge(&["approve", "fg-nope"]).fails_with(6);
    assert!(run.stderr.contains("fg-nope"), "{}", run.stderr);
    assert!(!run.stderr.contains("needs a human"), "{}", run.stderr);
    let json = env
        .forge(&["--json", "approve", "fg-nope"])
        .fails_with(6)
        .error_json();
    assert_eq!(json["error"]["code"], "unknown_id");
}

#[test]
fn a_missing_harness_program_is_refused_before_anything_is_claimed() {
    let (env, bead) = with_script(EDIT);
    env.configure(
        "[harness.ghost]\npreset = \"command\"\ncommand = [\"forge-test-no-such-agent\", \"--go\"]\n",
    );
    let run = env.forge(&["step", "--harness", "ghost"]).fails_with(7);
    assert!(
        run.stderr.contains("forge-test-no-such-agent") && run.stderr.contains("not on PATH"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("[harness.ghost]"), "{}", run.stderr);
    nothing_claimed(&env);
    assert_eq!(env.ready(), [bead.as_str()]);
    let json = env
        .forge(&["--json", "step", "--harness", "ghost"])
        .fails_with(7)
        .error_json();
    assert_eq!(json["error"]["code"], "refused");
}

#[test]
fn an_unset_pass_env_variable_is_named_by_doctor_and_the_step() {
    let env = TestEnv::new();
    env.configure(
        "[harness.keyed]\npreset = \"command\"\ncommand = [\"sh\", \"-c\", \"echo 'no key' >&2; exit 1\"]\npass_env = [\"FORGE_TEST_UNSET_KEY\"]\ntimeout = 30\n",
    );
    env.default_harness("keyed");
    env.sandbox_write_beside_repo();
    env.create(&["Improve the readme"]);
    env.commit_all("forge set up");
    let doctor = env.forge(&["--json", "doctor"]).ok().json();
    let warned: Vec<_> = finding(&doctor, "harness")
        .into_iter()
        .filter(|f| f["severity"] == "warning")
        .filter(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .contains("FORGE_TEST_UNSET_KEY")
        })
        .collect();
    assert_eq!(warned.len(), 1, "{doctor:#}");

    let run = env.forge(&["--json", "step"]).fails_with(4);
    let out = run.json();
    assert!(
        out["checkpoint"]["reason"]
            .as_str()
            .unwrap()
            .contains("FORGE_TEST_UNSET_KEY"),
        "{out}"
    );
    assert!(
        run.stderr.contains("FORGE_TEST_UNSET_KEY"),
        "{}",
        run.stderr
    );
    // With the variable set, nothing is said about it.
    let mut cmd = env.command(&["step"]);
    cmd.env("FORGE_TEST_UNSET_KEY", "k");
    let run = crate::env::to_run(cmd.output().unwrap());
    assert!(
        !run.stderr.contains("FORGE_TEST_UNSET_KEY"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("FORGE_TEST_UNSET_KEY"),
        "{}",
        run.stdout
    );
}
