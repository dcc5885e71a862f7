//! The `acp` preset against `fixtures/harnesses/fake-acp`, a real executable speaking the
//! Agent Client Protocol: forge as the client, the permission broker and the agent's file
//! system, inside the sandbox.

use serde_json::Value;

use crate::env::{TestEnv, fixture, toml_string};

fn with_acp(timeout: u64, extra: &str) -> (TestEnv, String) {
    let env = TestEnv::new();
    env.sandbox_write_beside_repo();
    let fake = fixture("harnesses/fake-acp");
    env.configure(&format!(
        "[harness.agent]\npreset = \"acp\"\ncommand = [{}]\ntimeout = {timeout}\ngrace = 1\n\
         pass_env = [\"FAKE_SCENARIO\", \"FAKE_PIDS_FILE\", \"FAKE_PROMPT_LOG\", \"FAKE_COMMAND\", \"FAKE_HANG_FORK\", \"FAKE_OUTSIDE_PATH\", \"FAKE_CHILD\"]\n{extra}",
        toml_string(fake.to_str().unwrap())
    ));
    let bead = env.create(&["Do the thing"]);
    env.commit_all("set up");
    (env, bead)
}

fn step(env: &TestEnv, scenario: &str, vars: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = env.command(&["--json", "step", "--harness", "agent"]);
    cmd.env("FAKE_SCENARIO", scenario);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let run = crate::env::to_run(cmd.output().unwrap());
    let json: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{scenario}: no report ({e}):\n{}\n{}",
            run.stdout, run.stderr
        )
    });
    (run.code, json["checkpoint"].clone(), run.stderr)
}

fn permissions(env: &TestEnv) -> Vec<Value> {
    env.events()
        .into_iter()
        .filter(|e| e["kind"] == "harness.permission")
        .map(|e| e["data"].clone())
        .collect()
}

#[test]
fn an_edit_through_fs_write_is_committed_and_recorded() {
    let (env, bead) = with_acp(60, "");
    let (code, cp, stderr) = step(&env, "edit", &[]);
    assert_eq!(code, 0, "{cp}\n{stderr}");
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    assert!(!cp["session_id"].as_str().unwrap().is_empty(), "{cp}");
    let text = env.git(&["show", &format!("forge/{bead}/1:agent.txt")]);
    assert_eq!(text, "edited by fake-acp\n");
    // The usage_update's tokens and cost reach the checkpoint.
    assert_eq!(cp["tokens"]["input"], 1234, "{cp}");
    assert_eq!(cp["cost_usd"], 0.0123, "{cp}");
    // The edit was asked for and allowed by the default rule; forge wrote the file.
    let decisions = permissions(&env);
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0]["kind"], "edit");
    assert_eq!(decisions[0]["outcome"], "allowed");
    assert_eq!(decisions[0]["option"], "allow_once");
    assert_eq!(decisions[0]["rule"], "kind edit = allow");
    let wrote: Vec<Value> = env
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "harness.wrote")
        .collect();
    assert_eq!(wrote.len(), 1, "{wrote:?}");
    assert_eq!(wrote[0]["data"]["path"], "agent.txt");
    // The harness finished by its answer, and left no process behind.
    let finished = env
        .events()
        .into_iter()
        .find(|e| e["kind"] == "harness.finished")
        .unwrap();
    assert_eq!(finished["data"]["ended_by"], "concluded", "{finished}");
}

#[test]
fn a_write_outside_the_worktree_is_denied_and_recorded() {
    let (env, _bead) = with_acp(60, "");
    let outside = env.path("../outside.txt");
    let (code, cp, stderr) = step(
        &env,
        "outside",
        &[("FAKE_OUTSIDE_PATH", outside.to_str().unwrap())],
    );
    assert!(!outside.exists(), "forge wrote outside the worktree");
    // The agent ended its turn having changed nothing, and the reason says what forge
    // refused it.
    assert_ne!(cp["state"], "awaiting-approval", "{cp}\n{stderr} {code}");
    let reason = cp["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("the harness changed nothing; forge denied: edit fs/write_text_file"),
        "{reason}"
    );
    let decisions = permissions(&env);
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0]["outcome"], "denied");
    assert!(
        decisions[0]["rule"]
            .as_str()
            .unwrap()
            .contains("outside the worktree"),
        "{decisions:?}"
    );
}

#[test]
fn a_denied_command_is_rejected_with_its_rule_and_shown_at_review() {
    let (env, bead) = with_acp(
        60,
        "[harness.agent.permissions]\nexecute_allow = [\"cargo test*\"]\nexecute_deny = [\"git push*\"]\n",
    );
    // On a branch of its own, so that the review of `main...HEAD` holds the step.
    env.git(&["checkout", "-q", "-b", "feature"]);
    let (code, cp, stderr) = step(&env, "execute", &[]);
    assert_eq!(code, 0, "{cp}\n{stderr}");
    let decisions = permissions(&env);
    let push = decisions
        .iter()
        .find(|d| d["kind"] == "execute")
        .unwrap_or_else(|| panic!("{decisions:?}"));
    assert_eq!(push["command"], "git push origin main");
    assert_eq!(push["outcome"], "denied");
    assert_eq!(push["option"], "reject_once");
    assert_eq!(push["rule"], "deny-execute git push*");
    // The edit that followed was allowed: the step awaits approval, and the review says
    // what the agent was refused.
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    let step_id = cp["step"].as_str().unwrap().to_owned();
    env.commit_all("the step's ledger");
    let render = env.forge(&["ledger", "render"]).ok().stdout;
    assert!(
        render.contains("1 allowed, 1 denied: `git push origin main`, rule deny-execute git push*"),
        "{render}"
    );
    // And so does the approval view, at a terminal.
    let mut cmd = env.command(&["approve", &step_id]);
    cmd.env("TERM", "xterm").env("PAGER", "cat");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string(
        "permissions: 1 allowed, 1 denied: `git push origin main`, rule deny-execute git push*",
    )
    .unwrap();
    p.exp_string("approve and merge").unwrap();
    p.send_control('c').unwrap();
    let _ = bead;
}

#[test]
fn an_ask_rule_without_a_person_is_denied_and_says_a_human_was_needed() {
    let (env, _bead) = with_acp(
        60,
        "[harness.agent.permissions]\nexecute_ask = [\"cargo publish*\"]\n",
    );
    let (_code, _cp, _stderr) = step(&env, "ask", &[]);
    let decisions = permissions(&env);
    let ask = decisions.iter().find(|d| d["kind"] == "execute").unwrap();
    assert_eq!(ask["outcome"], "denied");
    assert_eq!(
        ask["rule"],
        "ask-execute cargo publish*: nobody to ask, a human was needed"
    );
}

#[test]
fn stop_reasons_other_than_end_turn_fail_the_step_with_the_reason() {
    for (scenario, reason) in [
        ("refusal", "the agent refused (stop reason refusal)"),
        ("maxtokens", "stop reason max_tokens"),
    ] {
        let (env, _bead) = with_acp(60, "");
        let (code, cp, stderr) = step(&env, scenario, &[]);
        assert_ne!(code, 0, "{scenario}: {cp}");
        assert_eq!(cp["state"], "failed", "{scenario}: {cp}\n{stderr}");
        assert!(
            cp["reason"].as_str().unwrap_or("").contains(reason),
            "{scenario}: {cp}"
        );
    }
}

#[test]
fn an_auth_error_answer_is_an_authentication_failure() {
    let (env, _bead) = with_acp(60, "");
    let (_code, cp, stderr) = step(&env, "auth", &[]);
    assert_eq!(cp["state"], "failed", "{cp}\n{stderr}");
    let finished = env
        .events()
        .into_iter()
        .find(|e| e["kind"] == "harness.finished")
        .unwrap();
    assert_eq!(
        finished["data"]["verdict"]["outcome"], "auth_failed",
        "{finished}"
    );
}

#[test]
fn garbage_or_a_cut_line_fails_the_step_with_a_clear_reason_and_no_hang() {
    for (scenario, reason) in [
        ("garbage", "the agent broke the protocol"),
        ("cut", "the agent's output ended in the middle of a message"),
        ("exit", "fatal: model crashed"),
    ] {
        let (env, _bead) = with_acp(60, "");
        let started = std::time::Instant::now();
        let (code, cp, stderr) = step(&env, scenario, &[]);
        assert_ne!(code, 0, "{scenario}");
        assert_eq!(cp["state"], "failed", "{scenario}: {cp}\n{stderr}");
        assert!(
            cp["reason"].as_str().unwrap_or("").contains(reason),
            "{scenario}: {cp}"
        );
        // Far below the 60 s timeout: the run ended on the broken line, not on a clock.
        assert!(
            started.elapsed().as_secs() < 40,
            "{scenario}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_timeout_cancels_the_turn_and_leaves_no_process_behind() {
    let (env, _bead) = with_acp(3, "");
    let pids = env.path("../pids.txt");
    let (code, cp, stderr) = step(
        &env,
        "hang",
        &[
            ("FAKE_HANG_FORK", "1"),
            ("FAKE_PIDS_FILE", pids.to_str().unwrap()),
        ],
    );
    assert_ne!(code, 0);
    assert!(
        cp["reason"]
            .as_str()
            .unwrap_or("")
            .contains("timed out after 3s"),
        "{cp}\n{stderr}"
    );
    // The agent saw session/cancel: its log says the turn ended cancelled.
    let log = env
        .forge(&["log", cp["step"].as_str().unwrap(), "--raw"])
        .ok()
        .stdout;
    assert!(log.contains("\"stopReason\":\"cancelled\""), "{log}");
    let text = std::fs::read_to_string(&pids).unwrap();
    assert!(text.lines().count() >= 2, "{text}");
    // By environment: the recorded pids are the agent's PID namespace's.
    let alive = crate::env::processes_with_env(&format!("FAKE_PIDS_FILE={}", pids.display()));
    assert_eq!(alive, Vec::<u32>::new(), "processes of the agent survived");
}

/// The `escaped_killed` of the step's `harness.finished`, whether every process the agent
/// started is gone (found by environment: the pids it recorded are its PID namespace's, where
/// it has one), and whether it ran in a PID namespace of its own (then what it left dies
/// with the namespace, by the kernel's hand, and forge counts none of it).
fn escaped_and_gone(env: &TestEnv, pids: &std::path::Path) -> (u64, bool, bool) {
    let events = env.events();
    let finished = events
        .iter()
        .find(|e| e["kind"] == "harness.finished")
        .unwrap();
    let started = events
        .iter()
        .find(|e| e["kind"] == "harness.started")
        .unwrap();
    let own_pids = started["data"]["policy"]["proc_view"]
        .as_str()
        .is_some_and(|v| v.contains("PID namespace"));
    let text = std::fs::read_to_string(pids).unwrap();
    assert!(text.lines().count() >= 2, "{text}");
    let alive = crate::env::processes_with_env(&format!("FAKE_PIDS_FILE={}", pids.display()));
    (
        finished["data"]["escaped_killed"]
            .as_u64()
            .unwrap_or_else(|| panic!("{finished}")),
        alive.is_empty(),
        own_pids,
    )
}

/// An agent's helper in its own process group (a language server, its HTTP server) that
/// forge stops when it ends the conversation was stopped on purpose: it did not escape.
#[test]
fn a_child_in_the_agents_group_stopped_by_forge_did_not_escape() {
    let (env, _bead) = with_acp(60, "");
    let pids = env.path("../pids.txt");
    let (code, cp, stderr) = step(
        &env,
        "edit",
        &[
            ("FAKE_CHILD", "group"),
            ("FAKE_PIDS_FILE", pids.to_str().unwrap()),
        ],
    );
    assert_eq!(code, 0, "{cp}\n{stderr}");
    let (escaped, gone, _) = escaped_and_gone(&env, &pids);
    assert_eq!(escaped, 0, "the agent's own child counted as escaped");
    assert!(gone, "the agent's child survived the step");
}

/// A daemon the agent started outside its process group did escape it, however the
/// conversation ended.
#[test]
fn a_daemon_outside_the_agents_group_is_counted_as_escaped() {
    let (env, _bead) = with_acp(60, "");
    let pids = env.path("../pids.txt");
    let (code, cp, stderr) = step(
        &env,
        "edit",
        &[
            ("FAKE_CHILD", "daemon"),
            ("FAKE_PIDS_FILE", pids.to_str().unwrap()),
        ],
    );
    assert_eq!(code, 0, "{cp}\n{stderr}");
    let (escaped, gone, own_pids) = escaped_and_gone(&env, &pids);
    assert!(gone, "the daemon survived the step");
    if !own_pids {
        assert!(escaped >= 1, "the daemon was not counted");
    }
}

#[test]
fn an_ask_rule_asks_the_person_at_the_terminal() {
    for (answer, outcome) in [("y", "allowed"), ("n", "denied")] {
        let (env, _bead) = with_acp(
            60,
            "[harness.agent.permissions]\nexecute_ask = [\"cargo publish*\"]\n",
        );
        let mut cmd = env.command(&["step", "--harness", "agent"]);
        cmd.env("TERM", "xterm").env("FAKE_SCENARIO", "ask");
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
        p.exp_string("cargo publish").unwrap();
        p.exp_string("ask-execute cargo publish*").unwrap();
        p.exp_string("Allow").unwrap();
        p.send_line(answer).unwrap();
        p.exp_eof().unwrap();
        let decisions = permissions(&env);
        let ask = decisions.iter().find(|d| d["kind"] == "execute").unwrap();
        assert_eq!(ask["outcome"], outcome, "{answer}: {decisions:?}");
        assert_eq!(ask["human"], answer == "y");
        let said = if answer == "y" { "yes" } else { "no" };
        assert_eq!(
            ask["rule"],
            format!("ask-execute cargo publish*: the person at the terminal said {said}")
        );
    }
}

#[test]
fn revise_continues_the_same_session() {
    let (mut env, _bead) = with_acp(60, "");
    let log = env.repo.parent().unwrap().join("prompts.txt");
    env.extra_env
        .push(("FAKE_PROMPT_LOG".into(), log.display().to_string()));
    let (code, cp, stderr) = step(&env, "edit", &[]);
    assert_eq!(code, 0, "{cp}\n{stderr}");
    let session = cp["session_id"].as_str().unwrap().to_owned();
    let step_id = cp["step"].as_str().unwrap().to_owned();
    let revised = env
        .command(&[
            "--json",
            "revise",
            &step_id,
            "--feedback",
            "rename the variable",
        ])
        .env("FAKE_SCENARIO", "edit")
        .output()
        .unwrap();
    let revised = crate::env::to_run(revised).ok().json();
    assert_eq!(
        revised["checkpoint"]["session_id"],
        session.as_str(),
        "{revised}"
    );
    let prompts = std::fs::read_to_string(&log).unwrap();
    // The fake offers session/resume: the feedback goes to the same session, no replay.
    let resumed = prompts
        .split("--- fake-acp")
        .find(|p| p.contains("resumed"))
        .unwrap_or_else(|| panic!("{prompts}"));
    assert!(resumed.contains(&session), "{resumed}");
    assert!(resumed.contains("rename the variable"), "{resumed}");
}

#[test]
fn doctor_asks_an_acp_agent_initialize_and_nothing_more() {
    let (env, _bead) = with_acp(60, "");
    // The fake logs every prompt it is sent here (passed through `pass_env`).
    let log = env.repo.parent().unwrap().join("prompts.txt");
    let out = env
        .command(&["--json", "doctor"])
        .env("FAKE_PROMPT_LOG", &log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("ACP v1: fake-acp 0.3.1"), "{text}");
    // Nothing was prompted, and nothing was written in the repository.
    assert!(!log.exists(), "doctor prompted the agent");
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    // An agent that does not speak ACP is said to, not passed.
    let (env, _bead) = with_acp(60, "");
    env.edit_config(
        &toml_string(fixture("harnesses/fake-acp").to_str().unwrap()),
        &toml_string(fixture("harnesses/fake-claude").to_str().unwrap()),
    );
    let text = env.forge(&["--json", "doctor"]).json().to_string();
    assert!(text.contains("`initialize`"), "{text}");
}

#[test]
fn a_fifo_the_agent_made_is_refused_without_a_hang() {
    let (env, _bead) = with_acp(60, "");
    let started = std::time::Instant::now();
    let (_code, cp, stderr) = step(&env, "fifo", &[]);
    // Far below the timeout: forge answered both requests at once.
    assert!(started.elapsed().as_secs() < 40, "{:?}", started.elapsed());
    let said = cp["final_message"].as_str().unwrap_or_default();
    assert!(
        said.contains("read: fs/read_text_file failed"),
        "{cp}\n{stderr}"
    );
    assert!(said.contains("not a regular file"), "{said}");
    assert!(said.contains("write: fs/write_text_file failed"), "{said}");
}
