//! A step whose work conflicts with a moved base: `forge step --rebase` and `forge revise`
//! replay it on the new base and hand the conflict to the agent, whose resolution is checked
//! by the gates (no marker left) before it waits for approval again.

use crate::env::TestEnv;

/// The agent: the first time it adds a line to README; given a README with conflict
/// markers, it keeps both sides. Every prompt is kept beside the repository.
const AGENT: &str = r#"cat > "$FORGE_REPO/../prompt-$(date +%s%N).txt"
if grep -q '^<<<<<<< ' README; then
  printf 'hello\nhuman line\nagent line\n' > README
else
  echo 'agent line' >> README
fi"#;

/// The agent that does not resolve anything.
const STUBBORN: &str = r#"cat > "$FORGE_REPO/../prompt-$(date +%s%N).txt"
grep -q '^<<<<<<< ' README || echo 'agent line' >> README"#;

/// A step waiting for approval whose README change conflicts with main's.
fn conflicting_step(agent: &str) -> (TestEnv, String) {
    let env = TestEnv::new();
    env.script_harness("fake", agent);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    env.create(&["Improve the readme"]);
    env.commit_all("forge set up");
    let run = env.forge(&["--json", "step"]).ok().json();
    let step = run["checkpoint"]["step"].as_str().unwrap().to_owned();
    std::fs::write(env.path("README"), "hello\nhuman line\n").unwrap();
    env.commit_all("human edit");
    (env, step)
}

fn last_prompt(env: &TestEnv) -> String {
    env.prompts().pop().expect("the agent kept its prompt")
}

#[test]
fn rebase_hands_the_conflict_to_the_agent_and_approve_then_merges() {
    let (env, step) = conflicting_step(AGENT);
    env.forge(&["approve", &step, "--yes"]).fails_with(7);
    let run = env
        .forge(&["--json", "step", "--rebase", &step])
        .ok()
        .json();
    let cp = &run["checkpoint"];
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    let main = env.git(&["rev-parse", "main"]);
    assert_eq!(cp["base_commit"], main.trim());
    let prompt = last_prompt(&env);
    assert!(prompt.contains("conflicts in: README"), "{prompt}");
    assert!(prompt.contains("Improve the readme"), "{prompt}");
    let gates = cp["gates"].as_array().unwrap();
    assert!(
        gates
            .iter()
            .any(|g| g["name"] == "conflicts" && g["ok"] == true),
        "{gates:?}"
    );
    env.forge(&["approve", &step, "--yes"]).ok();
    assert_eq!(
        std::fs::read_to_string(env.path("README")).unwrap(),
        "hello\nhuman line\nagent line\n"
    );
    let rebased: Vec<_> = env
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "step.rebased")
        .collect();
    assert_eq!(rebased.len(), 1, "{rebased:?}");
    assert_eq!(rebased[0]["data"]["conflicts"][0], "README");
}

#[test]
fn revise_on_a_conflicting_base_works_on_the_replay_with_the_feedback() {
    let (env, step) = conflicting_step(AGENT);
    let run = env
        .forge(&[
            "--json",
            "revise",
            &step,
            "--feedback",
            "keep the human line",
        ])
        .ok()
        .json();
    assert_eq!(run["checkpoint"]["state"], "awaiting-approval", "{run}");
    let prompt = last_prompt(&env);
    assert!(prompt.contains("conflicts in: README"), "{prompt}");
    assert!(prompt.contains("keep the human line"), "{prompt}");
    env.forge(&["approve", &step, "--yes"]).ok();
}

#[test]
fn markers_left_in_place_fail_the_step_and_never_reach_approval() {
    let (env, step) = conflicting_step(STUBBORN);
    let run = env.forge(&["--json", "step", "--rebase", &step]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let cp = &run.json()["checkpoint"];
    assert_eq!(cp["state"], "failed", "{cp}");
    assert!(
        cp["reason"]
            .as_str()
            .unwrap()
            .contains("conflict markers left in README"),
        "{cp}"
    );
    assert!(
        env.forge(&["approve", &step, "--yes"]).code != 0,
        "a step with markers was approved"
    );
    assert!(
        !std::fs::read_to_string(env.path("README"))
            .unwrap()
            .contains("<<<<<<<")
    );
}
