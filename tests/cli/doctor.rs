//! `forge doctor`: every finding names its fix; `--fix` repairs conflict-marked files left
//! by a real `git merge` without the driver, losing nothing.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::env::TestEnv;
use crate::merge::git_raw;

fn findings(report: &Value, severity: &str) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity && f["fixed"] == false)
        .cloned()
        .collect()
}

fn fake_harness(env: &TestEnv) -> String {
    let path = env.home.join("fake-agent");
    std::fs::write(&path, "#!/bin/sh\necho \"fake-agent 1.2.3\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[test]
fn a_healthy_repository_passes() {
    let env = TestEnv::new();
    env.forge(&["hooks", "install"]).ok();
    let agent = fake_harness(&env);
    env.configure(&format!(
        "[harness.fake]\npreset = \"command\"\ncommand = [\"{agent}\"]\n"
    ));
    let run = env.forge(&["--json", "doctor"]).ok();
    let report = run.json();
    assert!(findings(&report, "error").is_empty(), "{report:#}");
    assert!(findings(&report, "warning").is_empty(), "{report:#}");
    let harness = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "harness")
        .unwrap();
    assert!(
        harness["message"]
            .as_str()
            .unwrap()
            .contains("fake-agent 1.2.3"),
        "{harness}"
    );
    let text = env.forge(&["doctor"]).ok().stdout;
    assert!(text.contains("0 error(s), 0 warning(s)"), "{text}");
}

/// A batch interrupted before its commit point leaves `.staged-*` files, which forge never
/// reads as state: doctor must not report them as broken files to rename.
#[test]
fn staged_leftovers_are_not_broken_state() {
    let env = TestEnv::new();
    std::fs::write(
        env.path(".forge/assumptions/.staged-999999999-0-as-abcd.toml"),
        "half a batch",
    )
    .unwrap();
    let report = env.forge(&["--json", "doctor"]).json();
    let state: Vec<Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "state")
        .cloned()
        .collect();
    assert!(state.iter().all(|f| f["severity"] != "error"), "{state:#?}");
}

#[test]
fn every_problem_is_reported_with_its_fix() {
    let env = TestEnv::new();
    env.configure("[harness.ghost]\npreset = \"claude\"\ncommand = [\"no-such-agent-cli\"]\n");
    let id = env.create(&["A bead"]);
    let bead = env.path(&format!(".forge/beads/{id}.toml"));
    let text = std::fs::read_to_string(&bead).unwrap();
    std::fs::write(
        &bead,
        format!("<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n"),
    )
    .unwrap();
    std::fs::write(env.path(".forge/beads/.tmp-999999999-00000000-x.toml"), "").unwrap();
    let orphan = env.path(".git/forge/worktrees/fg-gone.1");
    env.git(&[
        "worktree",
        "add",
        "-q",
        "--detach",
        orphan.to_str().unwrap(),
    ]);

    let run = env.forge(&["--json", "doctor"]).fails_with(1);
    let report = run.json();
    let fix_of = |check: &str, needle: &str| -> String {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check && f["message"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no {check} finding with {needle}: {report:#}"))["fix"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(
        fix_of("conflicts", "git conflict markers"),
        format!("forge resolve .forge/beads/{id}.toml")
    );
    assert!(fix_of("harness", "no-such-agent-cli").contains("install no-such-agent-cli"));
    assert_eq!(fix_of("hooks", "pre-commit"), "forge hooks install");
    assert_eq!(fix_of("temp-files", "temp files"), "forge doctor --fix");
    assert!(fix_of("worktrees", "fg-gone.1").contains("git worktree remove"));

    // --fix repairs what is safe and leaves the rest, still failing.
    let fixed = env
        .forge(&["--json", "doctor", "--fix"])
        .fails_with(1)
        .json();
    assert_eq!(
        fixed["resolved"][0]["path"],
        format!(".forge/beads/{id}.toml")
    );
    assert!(
        !env.path(".forge/beads/.tmp-999999999-00000000-x.toml")
            .exists()
    );
    assert_eq!(env.show(&id)["title"], "A bead");
    let errors = findings(&fixed, "error");
    assert_eq!(
        errors.len(),
        1,
        "only the missing harness is left: {errors:#?}"
    );
}

/// A bead both branches changed in different fields, merged by git's text merge (no
/// driver registered): the file arrives with conflict markers.
fn conflicted_merge(env: &TestEnv, style: &str) -> String {
    env.git(&["config", "--remove-section", "merge.forge"]);
    env.git(&["config", "merge.conflictStyle", style]);
    let id = env.create(&["Fix the parser", "-l", "parser", "-a", "it parses"]);
    env.commit_all("a bead");
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.forge(&[
        "bead",
        "update",
        &id,
        "--title",
        "Fix the lexer",
        "--add-label",
        "lexer",
    ])
    .ok();
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    env.forge(&[
        "bead",
        "update",
        &id,
        "--kind",
        "bug",
        "--add-label",
        "urgent",
        "-d",
        "Seen in production.",
    ])
    .ok();
    env.forge(&["bead", "close", &id, "--reason", "fixed on main"])
        .ok();
    env.commit_all("main");
    let merged = git_raw(env, &["merge", "--no-edit", "topic"]);
    assert_ne!(merged.code, 0, "the text merge was expected to conflict");
    let text = std::fs::read_to_string(env.path(&format!(".forge/beads/{id}.toml"))).unwrap();
    assert!(text.contains("<<<<<<<"), "{text}");
    id
}

fn assert_nothing_lost(env: &TestEnv, id: &str) {
    let b = env.show(id);
    assert_eq!(b["title"], "Fix the lexer");
    assert_eq!(b["kind"], "bug");
    assert_eq!(b["status"], "closed");
    assert_eq!(b["reason"], "fixed on main");
    assert_eq!(b["description"], "Seen in production.");
    assert_eq!(b["acceptance"], serde_json::json!(["it parses"]));
    let labels: Vec<&str> = b["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    for l in ["parser", "urgent", "lexer"] {
        assert!(labels.contains(&l), "{l} lost: {labels:?}");
    }
}

#[test]
fn doctor_fix_repairs_a_conflicted_bead_from_a_real_merge() {
    let env = TestEnv::new();
    let id = conflicted_merge(&env, "merge");
    let before = env.forge(&["--json", "doctor"]).fails_with(1).json();
    assert!(
        findings(&before, "error")
            .iter()
            .any(|f| f["fix"] == format!("forge resolve .forge/beads/{id}.toml")),
        "{before:#}"
    );
    let run = env.forge(&["doctor", "--fix"]).ok();
    assert!(run.stdout.contains("title: from theirs"), "{}", run.stdout);
    assert!(
        run.stdout.contains("labels: merged by element"),
        "{}",
        run.stdout
    );
    assert_nothing_lost(&env, &id);
    // The merge can be concluded, and the pre-commit hook accepts the result.
    env.forge(&["hooks", "install"]).ok();
    env.git(&["add", "-A"]);
    let done = git_raw(&env, &["commit", "-q", "--no-edit"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
}

#[test]
fn resolve_works_from_committed_markers_with_their_base() {
    let env = TestEnv::new();
    let id = conflicted_merge(&env, "diff3");
    // Someone committed the conflict as it was: git no longer has the sides.
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "--no-verify", "--no-edit"]);
    let run = env.forge(&["--json", "resolve"]).ok().json();
    assert_eq!(
        run["resolved"][0]["source"],
        "the conflict markers (with their base)"
    );
    assert_nothing_lost(&env, &id);
}
