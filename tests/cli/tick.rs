//! `forge tick`: unattended operation from cron.

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

fn with_claude(timeout: u64) -> TestEnv {
    let env = TestEnv::new();
    env.configure(&format!(
        "[harness.claude]\npreset = \"claude\"\ncommand = [{}]\ntimeout = {timeout}\ngrace = 1\npass_env = [\"FAKE_SCENARIO\", \"FAKE_PIDS_FILE\", \"CHAOS_LOG\"]\n",
        toml_string(fixture("harnesses/fake-claude").to_str().unwrap())
    ));
    env.default_harness("claude");
    env
}

fn tick(env: &TestEnv) -> Value {
    let out = env
        .command(&["--json", "tick"])
        .env_remove("FORGE_NOW")
        .output()
        .unwrap();
    to_run(out).ok().json()
}

fn kinds(env: &TestEnv) -> Vec<String> {
    env.forge(&["--json", "ledger", "show"]).ok().json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Starts eight `forge --json tick EXTRA...` at once on `env`, whose harness waits for
/// `go`: waits until seven have returned while one still works (a tick that waited for the
/// lock instead of giving up never would), then lets that one go. Every tick's reports, the
/// working one's last.
pub(crate) fn eight_ticks_one_works(env: &TestEnv, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["--json", "tick"];
    args.extend_from_slice(extra);
    let mut pending: Vec<std::process::Child> = (0..8)
        .map(|_| {
            env.command(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done: Vec<std::process::Output> = Vec::new();
    while done.len() < 7 {
        assert!(
            Instant::now() < deadline,
            "only {} ticks returned while another one worked",
            done.len()
        );
        let mut i = 0;
        while i < pending.len() {
            if pending[i].try_wait().unwrap().is_some() {
                done.push(pending.remove(i).wait_with_output().unwrap());
            } else {
                i += 1;
            }
        }
        // Polling, not synchronisation: the deadline above is what bounds the wait.
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        pending.len(),
        1,
        "the working tick ended before it was let go"
    );
    std::fs::write(env.repo.parent().unwrap().join("go"), "").unwrap();
    done.push(pending.remove(0).wait_with_output().unwrap());
    done.into_iter()
        .map(|out| {
            assert!(
                out.status.success(),
                "a tick failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect()
}

#[test]
fn eight_ticks_at_once_exactly_one_works() {
    // The working tick's harness waits for `go`, which comes only once the seven others
    // have returned: a tick that waited for the lock instead of giving up never would.
    let env = with_script(&format!("{WAIT_FOR_GO}echo x > \"$FORGE_BEAD.txt\""));
    for i in 0..3 {
        env.create(&[&format!("bead {i}")]);
    }
    env.commit_all("set up");
    let done = eight_ticks_one_works(&env, &[]);
    let mut worked = 0;
    let mut refused = 0;
    for report in done {
        if report["stopped"] == "another_tick" {
            refused += 1;
        } else {
            worked += 1;
            assert_eq!(report["ran"].as_array().unwrap().len(), 1);
        }
    }
    assert_eq!(worked, 1, "exactly one tick works");
    assert_eq!(refused, 7);
}

#[test]
fn pause_and_resume() {
    let env = with_script("echo x > \"$FORGE_BEAD.txt\"");
    let bead = env.create(&["work"]);
    env.forge(&["pause", "--reason", "release freeze"]).ok();
    let r = tick(&env);
    assert_eq!(r["stopped"], "paused");
    assert_eq!(r["paused"]["reason"], "release freeze");
    assert!(r["ran"].as_array().unwrap().is_empty());
    assert_eq!(env.ready(), [bead.as_str()]);
    let again = env.forge(&["--json", "pause"]).ok().json();
    assert_eq!(again["changed"], false);
    env.forge(&["resume"]).ok();
    let r = tick(&env);
    assert_eq!(r["ran"][0]["state"], "awaiting-approval");
    assert!(kinds(&env).contains(&"forge.paused".to_owned()));
    assert!(kinds(&env).contains(&"forge.resumed".to_owned()));
}

/// A pause given while a tick's step runs is kept, and the tick starts no further step.
#[test]
fn a_pause_during_a_tick_is_kept_and_stops_it() {
    // The first step's harness waits until the pause has been given.
    let env = with_script(&format!("{WAIT_FOR_GO}echo x > \"$FORGE_BEAD.txt\""));
    env.edit_config("steps = 1", "steps = 5");
    env.create(&["one"]);
    env.create(&["two"]);
    env.commit_all("set up");
    let beside = env.repo.parent().unwrap().to_owned();
    let child = env
        .command(&["--json", "tick"])
        .env_remove("FORGE_NOW")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_marker(&beside.join("started"), "the tick's first harness");
    env.forge(&["pause", "--reason", "hold on"]).ok();
    std::fs::write(beside.join("go"), "").unwrap();
    let r = to_run(child.wait_with_output().unwrap()).ok().json();
    assert_eq!(r["stopped"], "paused", "{r}");
    assert_eq!(r["ran"].as_array().unwrap().len(), 1, "{r}");
    let state = env.forge(&["--json", "tick"]).ok().json();
    assert_eq!(state["stopped"], "paused");
    assert_eq!(state["paused"]["reason"], "hold on");
}

#[test]
fn the_breaker_pauses_after_consecutive_failures() {
    let env = with_script("echo broken >&2; exit 1");
    env.edit_config("steps = 1", "steps = 5");
    env.edit_config("breaker = 3", "breaker = 2");
    let notes = env.repo.parent().unwrap().join("notes.jsonl");
    env.edit_config(
        "# notify = ",
        &format!(
            "notify = {}\n# was: ",
            toml_string(&format!("cat >> '{}'", notes.display()))
        ),
    );
    for i in 0..4 {
        env.create(&[&format!("bead {i}")]);
    }
    let r = tick(&env);
    assert_eq!(r["stopped"], "breaker");
    assert_eq!(r["ran"].as_array().unwrap().len(), 2);
    assert!(
        r["paused"]["reason"]
            .as_str()
            .unwrap()
            .contains("2 consecutive failed steps")
    );
    assert!(kinds(&env).contains(&"breaker.tripped".to_owned()));
    let note = std::fs::read_to_string(&notes).unwrap();
    assert!(note.contains("\"kind\":\"breaker_tripped\""), "{note}");
    assert_eq!(tick(&env)["stopped"], "paused");
    // Resuming resets the count.
    env.forge(&["resume"]).ok();
    let status = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(status["failed"].as_array().unwrap().len(), 2);
}

#[test]
fn an_exhausted_budget_stops_new_work_and_says_why() {
    let env = with_claude(60);
    env.edit_config("# tokens_per_day = 5000000", "tokens_per_day = 10");
    let notes = env.repo.parent().unwrap().join("notes.jsonl");
    env.edit_config(
        "# notify = ",
        &format!(
            "notify = {}\n# was: ",
            toml_string(&format!("cat >> '{}'", notes.display()))
        ),
    );
    env.create(&["one"]);
    env.create(&["two"]);
    let first = tick(&env);
    assert_eq!(first["ran"].as_array().unwrap().len(), 1, "{first}");
    assert!(first["spent_today"]["tokens"].as_u64().unwrap() > 10);
    let second = tick(&env);
    assert_eq!(second["stopped"], "budget");
    assert!(
        second["reason"].as_str().unwrap().contains("token budget"),
        "{second}"
    );
    assert!(second["ran"].as_array().unwrap().is_empty());
    assert!(kinds(&env).contains(&"budget.exhausted".to_owned()));
    let notes = std::fs::read_to_string(&notes).unwrap();
    assert!(
        notes.contains("budget_exhausted") && notes.contains("approval_waiting"),
        "{notes}"
    );
}

#[test]
fn a_rate_limited_bead_waits_instead_of_failing() {
    let mut env = with_claude(60);
    env.extra_env
        .push(("FAKE_SCENARIO".into(), "ratelimit".into()));
    env.edit_config("breaker = 3", "breaker = 1");
    let bead = env.create(&["limited"]);
    let r = tick(&env);
    assert_eq!(r["ran"][0]["state"], "failed");
    assert_eq!(
        r["consecutive_failures"], 0,
        "a rate limit is not a failure"
    );
    assert_eq!(r["stopped"], "step_limit");
    assert_eq!(r["rate_limited"][0][0], bead.as_str());
    // Still waiting: the next tick leaves the bead alone.
    let r = tick(&env);
    assert_eq!(r["stopped"], "nothing_ready", "{r}");
    assert!(kinds(&env).contains(&"bead.waiting".to_owned()));
}

#[test]
fn the_approval_policy_can_merge_low_risk_steps() {
    let env = with_script("echo x > \"$FORGE_BEAD.txt\"");
    env.edit_config("auto_approve = []", "auto_approve = [\"low\"]");
    env.create(&["small"]);
    env.commit_all("set up");
    let r = tick(&env);
    assert!(r["ran"][0]["merged"].is_string(), "{r}");
    let approvals: Vec<Value> = env.forge(&["--json", "ledger", "show"]).ok().json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "step.approved")
        .cloned()
        .collect();
    assert_eq!(approvals[0]["data"]["how"], "policy");
    let message = env.git(&["log", "-1", "--format=%B", "main"]);
    assert!(message.contains("Forge-Approval: policy"), "{message}");
}

#[test]
fn state_commits_touch_only_forge_paths() {
    let env = with_script("echo x > \"$FORGE_BEAD.txt\"");
    env.edit_config("commit = false", "commit = true");
    env.create(&["work"]);
    env.commit_all("set up");
    std::fs::write(env.path("staged.txt"), "the user's staged work\n").unwrap();
    env.git(&["add", "staged.txt"]);
    std::fs::write(env.path("README"), "hello\nunstaged edit\n").unwrap();
    let before = env.git(&["rev-parse", "HEAD"]);
    let r = tick(&env);
    let commit = r["committed"].as_str().unwrap();
    assert_eq!(env.git(&["rev-parse", "HEAD"]).trim(), commit);
    assert_eq!(env.git(&["rev-parse", "HEAD^"]), before);
    let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(files.lines().all(|f| f.starts_with(".forge/")), "{files}");
    let status = env.git(&["status", "--porcelain"]);
    assert!(status.contains("A  staged.txt"), "{status}");
    assert!(status.contains(" M README"), "{status}");
    assert!(!status.contains(".forge"), "{status}");
}

#[test]
fn a_tick_killed_mid_step_is_reclaimed_without_losing_work() {
    let env = with_script(
        "echo partial > \"$FORGE_BEAD.txt\"; echo $$ > \"$FORGE_REPO/../started\"; exec sleep 60",
    );
    env.edit_config("timeout = 30", "timeout = 120");
    let bead = env.create(&["long work"]);
    env.commit_all("set up");
    let marker = env.repo.parent().unwrap().join("started");
    let mut child = env
        .command(&["tick"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the harness never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Following the log of a step whose owner died ends instead of waiting forever.
    let mut follow = env
        .command(&["log", &bead, "--follow"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let following = Instant::now();
    while follow.try_wait().unwrap().is_none() {
        if following.elapsed() > Duration::from_secs(10) {
            follow.kill().unwrap();
            panic!("log --follow kept following a step whose owner is dead");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The owner is gone; the step still says it runs.
    let steps = env.forge(&["--json", "steps"]).ok().json();
    assert_eq!(steps["steps"][0]["state"], "running");
    assert_eq!(steps["steps"][0]["live"], false);

    env.edit_config("sleep 60", "true");
    let r = tick(&env);
    let reclaimed = &r["reclaimed"][0];
    assert_eq!(reclaimed["step"], format!("{bead}.1"));
    // The orphaned harness is gone: killed by this reclaim or, as the stale cgroup of a
    // dead run, by whichever forge process swept it first. Found by its environment: the
    // pid it wrote is its PID namespace's, where it has one.
    // A PID namespace's members die with its init, by the kernel, a moment after it.
    let entry = format!("FORGE_BEAD={bead}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut alive = crate::env::processes_with_env(&entry);
    while !alive.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        alive = crate::env::processes_with_env(&entry);
    }
    assert_eq!(alive, Vec::<u32>::new(), "the orphaned harness survived");
    let attic = format!("refs/forge/attic/{bead}.1");
    assert_eq!(
        env.git(&["show", &format!("{attic}:{bead}.txt")]),
        "partial\n"
    );
    // Requeued: the same tick ran the bead again, as attempt 2, after the reclaim.
    assert_eq!(r["ran"][0]["step"], format!("{bead}.2"));
    let steps = env.forge(&["--json", "steps"]).ok().json();
    let states: Vec<&str> = steps["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["interrupted", "awaiting-approval"]);
}

#[test]
fn cron_install_show_and_uninstall() {
    let mut env = TestEnv::new();
    let table = env.repo.parent().unwrap().join("crontab.txt");
    std::fs::write(&table, "MAILTO=me\n0 1 * * * backup\n").unwrap();
    let bin = fixture("bin");
    env.extra_env.push((
        "PATH".into(),
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    ));
    env.extra_env
        .push(("CRONTAB_FILE".into(), table.display().to_string()));
    let show = env
        .forge(&["--json", "cron", "show", "--every", "10"])
        .ok()
        .json();
    assert!(show["entry"].as_str().unwrap().contains("*/10 * * * * cd "));
    let first = env.forge(&["--json", "cron", "install"]).ok().json();
    assert_eq!(first["changed"], true);
    let installed = std::fs::read_to_string(&table).unwrap();
    assert!(
        installed.starts_with("MAILTO=me\n0 1 * * * backup\n"),
        "{installed}"
    );
    assert!(installed.contains("tick -q >>"), "{installed}");
    assert_eq!(
        env.forge(&["--json", "cron", "install"]).ok().json()["changed"],
        false
    );
    assert_eq!(std::fs::read_to_string(&table).unwrap(), installed);
    env.forge(&["cron", "uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(&table).unwrap().trim_end(),
        "MAILTO=me\n0 1 * * * backup"
    );
}

/// The soak test: many ticks over many beads with a harness that randomly succeeds, fails,
/// crashes, hangs, hits rate limits and edits `.forge/`, with forge itself killed at random
/// moments and every waiting step approved between ticks. Short by default; set
/// FORGE_SOAK_TICKS and FORGE_SOAK_BEADS for the long run (scripts/soak).
#[test]
fn soak() {
    let ticks: usize = std::env::var("FORGE_SOAK_TICKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let n_beads: usize = std::env::var("FORGE_SOAK_BEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let env = TestEnv::new();
    env.configure(&format!(
        "[harness.chaos]\npreset = \"claude\"\ncommand = [{}]\ntimeout = 2\ngrace = 1\npass_env = [\"CHAOS_LOG\"]\n",
        toml_string(fixture("harnesses/chaos").to_str().unwrap())
    ));
    env.default_harness("chaos");
    env.edit_config("steps = 1", "steps = 3");
    env.edit_config("# attempts_per_bead = 3", "attempts_per_bead = 4");
    let beads: Vec<String> = (0..n_beads)
        .map(|i| env.create(&[&format!("soak bead {i}")]))
        .collect();
    env.commit_all("set up");
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut seed: u64 = std::env::var("FORGE_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe);
    eprintln!("soak: {ticks} ticks over {n_beads} beads, seed {seed}");
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut killed, mut merged, mut resumed) = (0, 0, 0);
    let mut i = 0usize;
    let mut quiet_rounds = 0;
    // The soak proper, then drain (no kills) until nothing changes any more.
    while i < ticks || quiet_rounds < 3 {
        assert!(i < ticks + 60, "the repository never settled");
        // Simulated time: an hour per tick, so that rate-limit waits run out.
        let now = start + (i as i64) * 3700;
        let now = forge::clock::format_rfc3339(now);
        let mut cmd = env.command(&["--json", "tick"]);
        cmd.env("FORGE_NOW", &now)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let kill = i < ticks && rand() % 4 == 0;
        let before = env.forge(&["--json", "status"]).ok().stdout;
        if kill {
            let mut child = cmd.spawn().unwrap();
            std::thread::sleep(Duration::from_millis(rand() % 2500));
            let _ = child.kill();
            let _ = child.wait();
            killed += 1;
        } else {
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "tick {i} failed: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            let r: Value = serde_json::from_slice(&out.stdout).unwrap();
            if r["stopped"] == "breaker" || r["stopped"] == "paused" {
                // A person looks and lets it go on.
                env.forge(&["resume"]).ok();
                resumed += 1;
            }
        }
        // No bead ever has two live steps.
        let steps = env.forge(&["--json", "steps"]).ok().json();
        let mut live = std::collections::HashMap::new();
        for s in steps["steps"].as_array().unwrap() {
            if s["live"] == true {
                *live
                    .entry(s["bead"].as_str().unwrap().to_owned())
                    .or_insert(0) += 1;
            }
        }
        assert!(
            live.values().all(|&n| n <= 1),
            "two live steps of one bead: {live:?}"
        );
        // A person approves whatever waits.
        for s in steps["steps"].as_array().unwrap() {
            if s["state"] == "awaiting-approval" {
                let step = s["step"].as_str().unwrap();
                env.forge(&["approve", step, "--yes"]).ok();
                merged += 1;
            }
        }
        let after = env.forge(&["--json", "status"]).ok().stdout;
        quiet_rounds = if i >= ticks && before == after {
            quiet_rounds + 1
        } else {
            0
        };
        i += 1;
    }
    // Every bead is closed or waits on a named human decision (its attempts are used up).
    let all = env.forge(&["--json", "steps"]).ok().json();
    let steps = all["steps"].as_array().unwrap();
    let mut open_undecided = Vec::new();
    for bead in &beads {
        let shown = env.show(bead);
        if shown["status"] == "closed" {
            continue;
        }
        let attempts = steps.iter().filter(|s| s["bead"] == bead.as_str()).count();
        if attempts < 4 {
            open_undecided.push((bead.clone(), attempts));
        }
    }
    assert!(
        open_undecided.is_empty(),
        "beads neither closed nor waiting on a person: {open_undecided:?}"
    );
    // No work was lost: every head a step produced is reachable from a ref.
    for s in steps {
        if let Some(head) = s["head"].as_str().filter(|h| !h.is_empty()) {
            let refs = env.git(&["for-each-ref", "--contains", head, "--format=%(refname)"]);
            assert!(
                !refs.trim().is_empty(),
                "{} head {head} is not reachable",
                s["step"]
            );
        }
    }
    env.forge(&["ledger", "verify"]).ok();
    let closed = beads
        .iter()
        .filter(|b| env.show(b)["status"] == "closed")
        .count();
    eprintln!(
        "soak: {i} ticks ({killed} killed), {} steps, {merged} merged, {closed}/{n_beads} beads closed, {resumed} resumes",
        steps.len()
    );
}

#[test]
fn an_idle_tick_changes_nothing() {
    let env = with_script("echo x > x.txt");
    let before = env.snapshot();
    let r = tick(&env);
    assert_eq!(r["stopped"], "nothing_ready");
    assert_eq!(before, env.snapshot(), "an idle tick wrote to .forge/");
}

#[test]
fn cron_without_crontab_says_what_to_do() {
    let mut env = TestEnv::new();
    // A PATH with git but no crontab.
    let bin = env.repo.parent().unwrap().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let git = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::os::unix::fs::symlink(git.trim(), bin.join("git")).unwrap();
    env.extra_env
        .push(("PATH".into(), bin.display().to_string()));
    let run = env.forge(&["cron", "install"]).fails_with(7);
    assert!(
        run.stderr.contains("cannot run `crontab`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("forge cron show"), "{}", run.stderr);
    // `show` needs no crontab.
    let shown = env.forge(&["cron", "show"]).ok();
    assert!(shown.stdout.contains("tick -q"), "{}", shown.stdout);
}

/// The budget counts by the workspace's clock: with `FORGE_NOW` pinned (as in every other
/// test) a spent budget still stops the next tick.
#[test]
fn a_budget_holds_under_a_pinned_clock() {
    let env = with_claude(60);
    env.edit_config("# tokens_per_day = 5000000", "tokens_per_day = 10");
    env.create(&["one"]);
    env.create(&["two"]);
    let first = env.forge(&["--json", "tick"]).ok().json();
    assert_eq!(first["ran"].as_array().unwrap().len(), 1, "{first}");
    let second = env.forge(&["--json", "tick"]).ok().json();
    assert_eq!(second["stopped"], "budget", "{second}");
    assert!(second["ran"].as_array().unwrap().is_empty(), "{second}");
}
