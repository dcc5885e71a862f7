//! `forge step` end to end with real git and harnesses that are real executables.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::env::{TestEnv, WAIT_FOR_GO, wait_for_marker};

/// The user's working tree and index, byte for byte (everything but .git/ and .forge/).
fn user_state(env: &TestEnv) -> (BTreeMap<PathBuf, Vec<u8>>, Vec<u8>) {
    let files = walkdir::WalkDir::new(&env.repo)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".forge")
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    (files, std::fs::read(env.path(".git/index")).unwrap())
}

fn events(env: &TestEnv, bead: &str) -> Vec<String> {
    env.forge(&["--json", "ledger", "show", "--bead", bead])
        .ok()
        .json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn setup(script: &str) -> (TestEnv, String) {
    let env = TestEnv::new();
    env.script_harness("fake", script);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    let bead = env.create(&["Change the readme", "-a", "the readme says more"]);
    env.commit_all("forge set up");
    (env, bead)
}

#[test]
fn an_editing_step_commits_on_its_branch_and_leaves_the_user_alone() {
    let (env, bead) = setup("echo more >> README; echo 'new file' > added.txt; echo done");
    // The user has work in progress: a staged change and an untracked file.
    std::fs::write(env.path("README"), "hello\nuser edit\n").unwrap();
    env.git(&["add", "README"]);
    std::fs::write(env.path("scratch.txt"), "mine\n").unwrap();
    let before = user_state(&env);

    let report = env.forge(&["--json", "step"]).ok().json();
    let cp = &report["checkpoint"];
    assert_eq!(cp["state"], "awaiting-approval");
    assert_eq!(cp["branch"], format!("forge/{bead}/1"));
    let step = format!("{bead}.1");
    assert_eq!(cp["step"], step.as_str());
    assert_eq!(report["files"], serde_json::json!(["README", "added.txt"]));

    assert_eq!(
        before,
        user_state(&env),
        "the user's working tree or index changed"
    );
    let branch = format!("forge/{bead}/1");
    let log = env.git(&["log", "--format=%H", &format!("main..{branch}")]);
    assert_eq!(
        log.lines().count(),
        1,
        "exactly one commit on the step branch"
    );
    assert_eq!(log.trim(), cp["head"].as_str().unwrap());
    let message = env.git(&["log", "-1", "--format=%B", &branch]);
    assert!(
        message.contains(&format!("Forge-Bead: {bead}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("Forge-Step: {step}")),
        "{message}"
    );
    let tree = env.git(&["show", "--stat", "--format=", &branch]);
    assert!(
        tree.contains("added.txt") && tree.contains("README"),
        "{tree}"
    );

    let saved =
        std::fs::read_to_string(env.path(&format!(".forge/checkpoints/{step}.toml"))).unwrap();
    assert!(saved.contains("state = \"awaiting-approval\""), "{saved}");
    assert_eq!(
        events(&env, &bead),
        [
            "bead.created",
            "step.claimed",
            "step.worktree",
            "harness.started",
            "harness.finished",
            "step.committed",
            "gate.result",
            "gate.result",
            "gate.result",
            "gate.result",
            "step.awaiting_approval"
        ]
    );
    // The bead stays open but is no longer ready: its step waits for a human.
    assert_eq!(env.show(&bead)["status"], "open");
    assert!(env.ready().is_empty());
    let steps = env.forge(&["--json", "steps"]).ok().json();
    assert_eq!(steps["steps"][0]["state"], "awaiting-approval");
    let status = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(status["awaiting_approval"], serde_json::json!([step]));
    let log = env.forge(&["log", &step]).ok().stdout;
    assert!(log.contains("done"), "{log}");
    // A second step of the same bead is refused while this one waits.
    env.forge(&["step", &bead]).fails_with(7);
}

#[test]
fn the_harness_gets_the_prompt_an_allowlisted_env_and_its_own_home() {
    let (mut env, bead) = setup(
        "cat > \"$FORGE_REPO/../prompt.txt\"; env > \"$FORGE_REPO/../env.txt\"; echo x > f.txt",
    );
    env.extra_env
        .push(("SOME_API_TOKEN".into(), "tok-123456789".into()));
    env.forge(&["step"]).ok();
    let prompt = std::fs::read_to_string(env.repo.join("../prompt.txt")).unwrap();
    assert!(
        prompt.contains("# Change the readme") && prompt.contains("- the readme says more"),
        "{prompt}"
    );
    let vars = std::fs::read_to_string(env.repo.join("../env.txt")).unwrap();
    assert!(
        !vars.contains("tok-123456789"),
        "a secret leaked into the harness env:\n{vars}"
    );
    assert!(vars.contains(&format!("FORGE_BEAD={bead}")), "{vars}");
    assert!(vars.contains(&format!("FORGE_STEP={bead}.1")), "{vars}");
    let home = vars.lines().find_map(|l| l.strip_prefix("HOME=")).unwrap();
    assert!(
        home.contains(".git/forge/steps/"),
        "HOME is not the step's own: {home}"
    );
    assert_ne!(PathBuf::from(home), env.home);
}

#[test]
fn a_run_that_changes_nothing_fails() {
    let (env, bead) = setup("echo 'I looked around'");
    let run = env.forge(&["--json", "step"]).fails_with(1);
    let cp = &run.json()["checkpoint"];
    assert_eq!(cp["state"], "failed");
    assert_eq!(cp["reason"], "the harness changed nothing");
    assert!(events(&env, &bead).contains(&"step.failed".to_owned()));
    // A failed step frees the bead for another attempt, numbered 2.
    env.script_harness("fake2", "echo y > y.txt");
    let second = env
        .forge(&["--json", "step", "--harness", "fake2"])
        .ok()
        .json();
    assert_eq!(second["checkpoint"]["attempt"], 2);
}

#[test]
fn a_nonzero_exit_fails_as_a_harness_failure_but_keeps_the_work() {
    let (env, bead) = setup("echo partial > partial.txt; echo 'oops' >&2; exit 3");
    let run = env.forge(&["--json", "step"]).fails_with(4);
    let cp = &run.json()["checkpoint"];
    assert_eq!(cp["state"], "failed");
    assert!(
        cp["reason"].as_str().unwrap().contains("exit status 3"),
        "{cp}"
    );
    let branch = format!("forge/{bead}/1");
    let files = env.git(&["show", "--name-only", "--format=", &branch]);
    assert!(
        files.contains("partial.txt"),
        "the partial work was not kept: {files}"
    );
}

#[test]
fn editing_forge_files_is_a_policy_violation() {
    let (env, _) = setup("echo hacked >> .forge/config.toml; echo ok > real.txt");
    let run = env.forge(&["--json", "step"]).fails_with(1);
    let cp = &run.json()["checkpoint"];
    assert_eq!(cp["state"], "failed");
    let gate = cp["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "forge-files")
        .unwrap();
    assert_eq!(gate["ok"], false);
    assert!(
        gate["detail"]
            .as_str()
            .unwrap()
            .contains("policy violation: the step changed .forge/config.toml")
    );
    let config = std::fs::read_to_string(env.path(".forge/config.toml")).unwrap();
    assert!(
        !config.lines().any(|l| l == "hacked"),
        "the main .forge/ was touched"
    );
}

#[test]
fn a_failing_gate_is_recorded() {
    let (env, bead) = setup("echo x > x.txt");
    env.configure("[[gates]]\nname = \"tests\"\nrun = \"echo running tests; exit 1\"\n");
    let run = env.forge(&["--json", "step"]).fails_with(1);
    let cp = &run.json()["checkpoint"];
    let gate = cp["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "tests")
        .unwrap();
    assert_eq!(gate["ok"], false);
    assert!(
        gate["detail"].as_str().unwrap().contains("exit status 1"),
        "{gate}"
    );
    assert!(
        cp["reason"]
            .as_str()
            .unwrap()
            .contains("gates failed: tests")
    );
    let ledger = env
        .forge(&["--json", "ledger", "show", "--bead", &bead])
        .ok()
        .json();
    assert!(
        ledger["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "gate.result"
                && e["data"]["gate"] == "tests"
                && e["data"]["ok"] == false)
    );
}

#[test]
fn protected_paths_and_diff_size_are_enforced() {
    let (env, _) = setup("mkdir -p deploy; echo x > deploy/prod.yml; seq 1 50 > big.txt");
    env.edit_config("protected_paths = []", "protected_paths = [\"deploy/\"]");
    env.edit_config("max_diff_lines = 2000", "max_diff_lines = 10");
    let cp = env.forge(&["--json", "step"]).fails_with(1).json()["checkpoint"].clone();
    let gate = |n: &str| {
        cp["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(gate("protected-paths")["ok"], false);
    assert!(
        gate("protected-paths")["detail"]
            .as_str()
            .unwrap()
            .contains("deploy/prod.yml")
    );
    assert_eq!(gate("diff-size")["ok"], false);
}

#[test]
fn a_secret_in_the_diff_is_flagged_and_never_written_to_forge() {
    let canary = "ghp_StepCanaryStepCanaryStepCanary012345";
    // Assembled at run time, so that the harness script in config.toml does not hold it.
    let (env, _) = setup(
        "t=ghp_StepCanary; t=${t}StepCanaryStepCanary012345; echo \"token = '$t'\" > config.py; echo \"wrote $t\"",
    );
    let cp = env.forge(&["--json", "step"]).fails_with(1).json()["checkpoint"].clone();
    let gate = cp["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "secrets")
        .unwrap()
        .clone();
    assert_eq!(gate["ok"], false);
    assert!(
        gate["detail"].as_str().unwrap().contains("config.py:1"),
        "{gate}"
    );
    for (path, bytes) in env.snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(canary),
            "{} holds the secret",
            path.display()
        );
    }
}

#[test]
fn gc_saves_dirty_and_untracked_files_to_the_attic() {
    let (env, bead) = setup("echo '' ");
    // The step fails (no change); then someone leaves files in its worktree.
    env.forge(&["step"]).fails_with(1);
    let step = format!("{bead}.1");
    let wt = env.path(&format!(".git/forge/worktrees/{step}"));
    assert!(wt.is_dir());
    std::fs::write(wt.join("README"), "dirty tracked change\n").unwrap();
    std::fs::write(wt.join("untracked.txt"), "untracked\n").unwrap();
    let report = env.forge(&["--json", "gc"]).ok().json();
    assert_eq!(report["removed"][0]["step"], step.as_str());
    assert!(!wt.exists(), "the worktree is still there");
    let attic = format!("refs/forge/attic/{step}");
    assert_eq!(
        env.git(&["show", &format!("{attic}:README")]),
        "dirty tracked change\n"
    );
    assert_eq!(
        env.git(&["show", &format!("{attic}:untracked.txt")]),
        "untracked\n"
    );
    let listed = env.git(&["worktree", "list", "--porcelain"]);
    assert!(!listed.contains(&step), "{listed}");
    // Nothing else to do the second time; worktrees forge did not make are never touched.
    env.git(&["worktree", "add", "-q", "../other", "-b", "other"]);
    let again = env.forge(&["--json", "gc"]).ok().json();
    assert_eq!(again["removed"], serde_json::json!([]));
    assert!(env.repo.join("../other").is_dir());
}

#[test]
fn steps_of_one_bead_never_run_at_once() {
    // The first step's harness runs until the second step has been refused.
    let (env, bead) = setup(&format!("{WAIT_FOR_GO}echo x > x.txt"));
    let beside = env.repo.parent().unwrap().to_owned();
    let mut first = env.command(&["step", &bead]).spawn().unwrap();
    wait_for_marker(&beside.join("started"), "the first step's harness");
    let second = env.forge(&["step", &bead]);
    std::fs::write(beside.join("go"), "").unwrap();
    let second = second.fails_with(7);
    assert!(
        second.stderr.contains("already has a step") || second.stderr.contains("being worked on"),
        "{}",
        second.stderr
    );
    assert!(first.wait().unwrap().success());
}

#[test]
fn no_harness_configured_is_a_usage_error() {
    let env = TestEnv::new();
    env.create(&["x"]);
    let run = env.forge(&["step"]).fails_with(2);
    assert!(run.stderr.contains("--harness"), "{}", run.stderr);
    env.forge(&["step", "--harness", "nope"]).fails_with(2);
}

#[test]
fn log_follow_prints_output_until_the_step_ends() {
    let (env, bead) = setup("echo first; sleep 1; echo second; echo x > x.txt");
    let mut child = env
        .command(&["step"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = env.path(&format!(".git/forge/steps/{bead}.1/harness.log"));
    wait_for_marker(&log, "the harness log");
    let followed = env.forge(&["log", &bead, "--follow"]).ok().stdout;
    assert!(
        followed.contains("first") && followed.contains("second"),
        "{followed}"
    );
    assert!(child.wait().unwrap().success());
    let json = env
        .forge(&["--json", "log", &format!("{bead}.1")])
        .ok()
        .json();
    assert!(json["log"].as_str().unwrap().contains("second"));
}

#[test]
fn bootstrap_copies_ignored_files_and_runs_setup() {
    let (env, bead) = setup("cat .env > seen-env.txt; cat setup-ran.txt > seen-setup.txt");
    std::fs::write(env.path(".gitignore"), ".env\nsetup-ran.txt\n").unwrap();
    env.commit_all("ignore .env");
    std::fs::write(env.path(".env"), "API_URL=http://localhost\n").unwrap();
    env.edit_config("copy = []", "copy = [\".env\"]");
    env.edit_config(
        "# setup = \"npm ci\"",
        "setup = \"echo ready > setup-ran.txt\"",
    );
    env.forge(&["step"]).ok();
    let branch = format!("forge/{bead}/1");
    assert_eq!(
        env.git(&["show", &format!("{branch}:seen-env.txt")]),
        "API_URL=http://localhost\n"
    );
    assert_eq!(
        env.git(&["show", &format!("{branch}:seen-setup.txt")]),
        "ready\n"
    );
    // The copied file stays ignored: it is not part of the step's commit.
    let files = env.git(&["show", "--name-only", "--format=", &branch]);
    assert!(!files.lines().any(|f| f == ".env"), "{files}");
}

#[test]
fn a_failing_setup_command_fails_the_step_before_the_harness() {
    let (env, _) = setup("echo ran > harness-ran.txt");
    env.edit_config("# setup = \"npm ci\"", "setup = \"exit 7\"");
    let cp = env.forge(&["--json", "step"]).fails_with(1).json()["checkpoint"].clone();
    assert_eq!(cp["state"], "failed");
    assert!(
        cp["reason"]
            .as_str()
            .unwrap()
            .contains("setup command `exit 7` failed"),
        "{cp}"
    );
    assert!(
        cp["head"].is_null() || cp.get("head").is_none(),
        "the harness ran: {cp}"
    );
}
