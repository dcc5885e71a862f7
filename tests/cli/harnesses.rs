//! `forge step` with the fake harness CLIs in fixtures/harnesses/, which print what the real
//! ones print and fail the way they fail.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::env::{TestEnv, fixture, toml_string};

const PRESETS: [&str; 6] = [
    "claude",
    "codex",
    "gemini",
    "aider",
    "opencode",
    "openhands",
];

fn with_fake(preset: &str, timeout: u64) -> (TestEnv, String) {
    let env = TestEnv::new();
    let fake = fixture(&format!("harnesses/fake-{preset}"));
    env.sandbox_write_beside_repo();
    env.configure(&format!(
        "[harness.{preset}]\npreset = \"{preset}\"\ncommand = [{}]\ntimeout = {timeout}\ngrace = 1\npass_env = [\"FAKE_SCENARIO\", \"FAKE_PIDS_FILE\", \"FAKE_PROMPT_LOG\", \"FAKE_SECRET_VALUE\", \"FAKE_HUGE_BYTES\"]\n",
        toml_string(fake.to_str().unwrap())
    ));
    let bead = env.create(&["Do the thing"]);
    env.commit_all("set up");
    (env, bead)
}

fn step(env: &TestEnv, preset: &str, scenario: &str) -> (i32, serde_json::Value, String) {
    let out = env
        .command(&["--json", "step", "--harness", preset])
        .env("FAKE_SCENARIO", scenario)
        .output()
        .unwrap();
    let run = crate::env::to_run(out);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{preset}/{scenario}: no report ({e}):\n{}\n{}",
            run.stdout, run.stderr
        )
    });
    (run.code, json["checkpoint"].clone(), run.stderr)
}

#[test]
fn every_preset_edits_and_reports_its_session_and_usage() {
    for preset in PRESETS {
        let (env, bead) = with_fake(preset, 60);
        let (code, cp, stderr) = step(&env, preset, "edit");
        assert_eq!(code, 0, "{preset}: {cp}\n{stderr}");
        assert_eq!(cp["state"], "awaiting-approval", "{preset}: {cp}");
        // aider has no sessions; every other CLI names one.
        if preset != "aider" {
            assert!(
                !cp["session_id"].as_str().unwrap_or("").is_empty(),
                "{preset}: no session id: {cp}"
            );
        }
        let files = env.git(&[
            "show",
            "--name-only",
            "--format=",
            &format!("forge/{bead}/1"),
        ]);
        assert!(files.contains("agent.txt"), "{preset}: {files}");
        assert!(
            !files.contains(".aider"),
            "{preset}: harness bookkeeping was committed: {files}"
        );
        // Money only where the CLI reports it; never a made-up zero.
        match preset {
            "claude" | "opencode" | "aider" => {
                assert!(cp["cost_usd"].as_f64().unwrap() > 0.0, "{preset}: {cp}")
            }
            _ => assert!(
                cp.get("cost_usd").is_none() || cp["cost_usd"].is_null(),
                "{preset}: {cp}"
            ),
        }
        if preset != "openhands" {
            assert_eq!(cp["tokens"]["reported"], true, "{preset}: {cp}");
            assert!(
                cp["tokens"]["output"].as_u64().unwrap() > 0,
                "{preset}: {cp}"
            );
        }
    }
}

#[test]
fn authentication_errors_fail_the_step_even_with_exit_zero() {
    for preset in PRESETS {
        let (env, _) = with_fake(preset, 60);
        let (code, cp, _) = step(&env, preset, "auth");
        assert_eq!(code, 4, "{preset}: {cp}");
        assert_eq!(cp["state"], "failed", "{preset}: {cp}");
        let reason = cp["reason"].as_str().unwrap().to_lowercase();
        assert!(
            reason.contains("auth") || reason.contains("401"),
            "{preset}: {reason}"
        );
    }
}

#[test]
fn rate_limits_and_denials_are_failures_with_reasons() {
    for preset in PRESETS {
        let (env, _) = with_fake(preset, 60);
        let (code, cp, _) = step(&env, preset, "ratelimit");
        assert_eq!(code, 4, "{preset}: {cp}");
        assert!(
            cp["reason"].as_str().unwrap().contains("rate limit"),
            "{preset}: {cp}"
        );
    }
    let (env, _) = with_fake("claude", 60);
    let (code, cp, _) = step(&env, "claude", "denied");
    assert_eq!(code, 4, "{cp}");
    assert!(cp["reason"].as_str().unwrap().contains("denied"), "{cp}");
}

#[test]
fn a_crash_halfway_through_a_line_is_a_failed_step() {
    for preset in PRESETS {
        let (env, _) = with_fake(preset, 60);
        let (code, cp, _) = step(&env, preset, "crash");
        assert_eq!(code, 4, "{preset}: {cp}");
        assert_eq!(cp["state"], "failed");
    }
}

/// The run's processes still alive: those with the run's `FAKE_PIDS_FILE` in their
/// environment (the pids the fakes record are their own PID namespace's when the sandbox
/// gives them one).
fn survivors(pids_file: &Path) -> Vec<u32> {
    crate::env::processes_with_env(&format!("FAKE_PIDS_FILE={}", pids_file.display()))
}

#[test]
fn hangs_forks_and_setsid_daemons_are_stopped_and_leave_no_process() {
    for (preset, scenario) in [
        ("claude", "hang"),
        ("codex", "ignoreterm"),
        ("gemini", "fork"),
        ("opencode", "doublefork"),
        ("openhands", "doublefork"),
        ("aider", "hang"),
    ] {
        let (env, _) = with_fake(preset, 3);
        let pids = env.repo.parent().unwrap().join("pids.txt");
        let started = Instant::now();
        let out = env
            .command(&["--json", "step", "--harness", preset])
            .env("FAKE_SCENARIO", scenario)
            .env("FAKE_PIDS_FILE", &pids)
            .output()
            .unwrap();
        let took = started.elapsed();
        // timeout 3 s + grace 1 s + forge's own work, with room for a loaded machine.
        assert!(
            took < Duration::from_secs(20),
            "{preset}/{scenario} took {took:?}"
        );
        let run = crate::env::to_run(out);
        assert!(
            std::fs::read_to_string(&pids).is_ok(),
            "{preset}/{scenario}: the fake recorded no pids"
        );
        assert_eq!(
            survivors(&pids),
            Vec::<u32>::new(),
            "{preset}/{scenario} left processes behind"
        );
        if scenario == "hang" || scenario == "ignoreterm" {
            assert_eq!(run.code, 4, "{preset}/{scenario}: {}", run.stdout);
            assert!(
                run.stdout.contains("timed out after 3s"),
                "{preset}/{scenario}: {}",
                run.stdout
            );
        } else {
            // The forking fakes edit and exit; the children they leave are only stopped.
            assert_eq!(run.code, 0, "{preset}/{scenario}: {}", run.stderr);
            assert_eq!(
                run.json()["checkpoint"]["state"],
                "awaiting-approval",
                "{preset}/{scenario}"
            );
        }
    }
}

#[test]
fn forge_edits_and_secrets_from_a_real_format_harness() {
    let (env, _) = with_fake("claude", 60);
    let (_, cp, _) = step(&env, "claude", "forge-edit");
    assert!(
        cp["reason"].as_str().unwrap().contains("policy violation"),
        "{cp}"
    );

    let (mut env, _) = with_fake("codex", 60);
    let canary = "canary-secret-value-0123456789";
    env.extra_env
        .push(("FAKE_SECRET_VALUE".into(), canary.into()));
    let (_, cp, _) = step(&env, "codex", "secret");
    let gate = cp["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "secrets")
        .unwrap()
        .clone();
    assert_eq!(gate["ok"], false, "{cp}");
    for (path, bytes) in env.snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(canary),
            "{} holds the canary",
            path.display()
        );
    }
}

#[test]
fn revise_sends_feedback_to_the_same_session() {
    let (mut env, _) = with_fake("claude", 60);
    let log = env.repo.parent().unwrap().join("prompts.txt");
    env.extra_env
        .push(("FAKE_PROMPT_LOG".into(), log.display().to_string()));
    let (code, cp, _) = step(&env, "claude", "edit");
    assert_eq!(code, 0, "{cp}");
    let session = cp["session_id"].as_str().unwrap().to_owned();
    let step_id = cp["step"].as_str().unwrap().to_owned();
    let revised = env
        .forge(&[
            "--json",
            "revise",
            &step_id,
            "--feedback",
            "rename the variable",
        ])
        .ok()
        .json();
    assert_eq!(revised["checkpoint"]["session_id"], session.as_str());
    let prompts = std::fs::read_to_string(&log).unwrap();
    let resumed = prompts
        .split("--- fake-claude")
        .find(|p| p.contains("resumed"))
        .unwrap_or_else(|| panic!("{prompts}"));
    assert!(resumed.contains(&session), "{resumed}");
    assert!(resumed.contains("rename the variable"), "{resumed}");
}

#[test]
fn huge_output_is_handled() {
    let (mut env, _) = with_fake("opencode", 120);
    env.extra_env
        .push(("FAKE_HUGE_BYTES".into(), "20000000".into()));
    let (code, cp, _) = step(&env, "opencode", "huge");
    assert_eq!(code, 0, "{cp}");
}

#[test]
fn ctrl_c_stops_the_harness_and_marks_the_step_interrupted() {
    let (env, bead) = with_fake("claude", 60);
    let pids = env.repo.parent().unwrap().join("pids.txt");
    let child = env
        .command(&["--json", "step", "--harness", "claude", &bead])
        .env("FAKE_SCENARIO", "hang")
        .env("FAKE_PIDS_FILE", &pids)
        .stdout(std::process::Stdio::piped())
        .spawn();
    let child = child.unwrap();
    let started = Instant::now();
    while std::fs::read_to_string(&pids).map_or(0, |s| s.lines().count()) < 1 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the fake never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        survivors(&pids),
        Vec::<u32>::new(),
        "processes outlived the interruption"
    );
    let steps = env.forge(&["--json", "steps"]).ok().json();
    let states: Vec<&str> = steps["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"interrupted"), "{states:?}");
}

#[test]
fn unsandboxed_claude_edits_in_a_worktree_beside_the_repository() {
    // Outside bypass mode, Claude Code will not edit below a `.git` directory: UNSANDBOXED,
    // its worktree goes beside the repository, where it edits, and forge cleans up after.
    let (env, bead) = with_fake("claude", 60);
    env.edit_config("mode = \"on\"", "mode = \"off\"");
    env.commit_all("sandbox off");
    let (code, cp, stderr) = step(&env, "claude", "edit");
    assert_eq!(code, 0, "{cp}\n{stderr}");
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    let step_id = format!("{bead}.1");
    let beside = env.repo.with_file_name(format!(
        "{}.forge-worktrees",
        env.repo.file_name().unwrap().to_str().unwrap()
    ));
    let worktree = beside.join(&step_id);
    assert_eq!(cp["worktree"], worktree.to_str().unwrap(), "{cp}");
    assert!(worktree.join("agent.txt").is_file());
    assert!(
        !env.path(&format!(".git/forge/worktrees/{step_id}"))
            .exists()
    );
    let files = env.git(&[
        "show",
        "--name-only",
        "--format=",
        &format!("forge/{bead}/1"),
    ]);
    assert!(files.contains("agent.txt"), "{files}");

    env.forge(&["approve", &step_id, "--yes"]).ok();
    assert!(env.path("agent.txt").is_file(), "not merged");
    let report = env.forge(&["--json", "gc"]).ok().json();
    assert_eq!(report["removed"][0]["step"], step_id.as_str(), "{report}");
    assert!(
        !beside.exists(),
        "the directory beside the repository is left"
    );
    let doctor = env.forge(&["doctor"]);
    assert!(
        doctor
            .stdout
            .lines()
            .filter(|l| l.contains("worktrees"))
            .all(|l| l.starts_with("ok")),
        "{}",
        doctor.stdout
    );
}

#[test]
fn sandboxed_claude_keeps_its_worktree_under_the_common_dir() {
    let (env, bead) = with_fake("claude", 60);
    let (code, cp, stderr) = step(&env, "claude", "edit");
    assert_eq!(code, 0, "{cp}\n{stderr}");
    assert_eq!(cp["worktree"], format!("worktrees/{bead}.1"), "{cp}");
}
