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
    // A `command` harness is found, never run (not even with `--version`).
    let message = harness["message"].as_str().unwrap();
    assert!(
        message.contains(&agent) && message.contains("not run"),
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

fn executable(path: &std::path::Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn harness_finding(report: &Value, name: &str) -> Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["check"] == "harness"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("[harness.{name}]"))
        })
        .unwrap_or_else(|| panic!("no finding for [harness.{name}]: {report:#}"))
        .clone()
}

/// Files whose name starts with MARKER under `dir`.
fn markers(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("MARKER"))
        .map(|e| e.path().to_owned())
        .collect()
}

/// Doctor never runs a `command` harness (a planner script wrote into the repository when
/// doctor "asked it for its version"); a known CLI is asked for `--version` in a scratch
/// directory, with its own HOME and the harness's allowlisted environment only.
#[test]
fn doctor_has_no_side_effects() {
    let mut env = TestEnv::new();
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path();
    let script = executable(
        &env.home.join("planner.sh"),
        &format!(
            "#!/bin/sh\necho ran > MARKER-cwd\necho ran > '{}/MARKER-repo'\n\
             echo ran > '{}/MARKER-command'\n",
            env.repo.display(),
            out.display()
        ),
    );
    let fake_claude = crate::env::fixture("harnesses/fake-claude");
    let spy = executable(
        &env.home.join("claude-spy"),
        &format!(
            "#!/bin/sh\nenv > '{out}/claude-env'\npwd > '{out}/claude-cwd'\n\
             echo ran > MARKER-claude\nexec '{}' \"$@\"\n",
            fake_claude.display(),
            out = out.display()
        ),
    );
    env.configure(&format!(
        "[harness.planner]\npreset = \"command\"\ncommand = [\"{script}\", \"--go\"]\n\n\
         [harness.claude]\npreset = \"claude\"\ncommand = [\"{spy}\"]\n"
    ));
    env.commit_all("config");
    env.extra_env
        .push(("SECRET_CANARY".into(), "canary-1234".into()));
    env.extra_env
        .push(("SSH_AUTH_SOCK".into(), "/tmp/canary.sock".into()));

    let report = env.forge(&["--json", "doctor"]).json();

    // The command harness was found but not run.
    let planner = harness_finding(&report, "planner");
    assert_eq!(planner["severity"], "ok", "{planner}");
    assert!(
        planner["message"].as_str().unwrap().contains(&script),
        "{planner}"
    );
    assert!(
        !out.join("MARKER-command").exists(),
        "the command harness ran"
    );
    let left: Vec<_> = markers(&env.repo)
        .into_iter()
        .chain(markers(out))
        .chain(markers(&env.home))
        .collect();
    assert!(left.is_empty(), "markers left behind: {left:?}");
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        "",
        "the checkout changed"
    );

    // The known CLI answered --version, which doctor reports.
    let claude = harness_finding(&report, "claude");
    assert_eq!(claude["severity"], "ok", "{claude}");
    assert!(
        claude["message"]
            .as_str()
            .unwrap()
            .contains("2.1.329 (Claude Code)"),
        "{claude}"
    );
    // ... in a scratch directory, gone now, with none of forge's secrets and its own HOME.
    let cwd = std::fs::read_to_string(out.join("claude-cwd")).unwrap();
    let cwd = std::path::Path::new(cwd.trim());
    assert!(
        !cwd.starts_with(&env.repo),
        "ran in the repository: {cwd:?}"
    );
    assert!(
        !cwd.exists(),
        "the scratch directory {cwd:?} was left behind"
    );
    let seen = std::fs::read_to_string(out.join("claude-env")).unwrap();
    for secret in ["SECRET_CANARY", "SSH_AUTH_SOCK", "canary"] {
        assert!(
            !seen.contains(secret),
            "{secret} reached --version:\n{seen}"
        );
    }
    let home = seen
        .lines()
        .find_map(|l| l.strip_prefix("HOME="))
        .unwrap_or_else(|| panic!("no HOME:\n{seen}"));
    let home = std::path::Path::new(home);
    assert!(
        home != env.home && !home.starts_with(&env.home) && !home.starts_with(&env.repo),
        "--version saw HOME={home:?}"
    );
}

/// A CLI that hangs on `--version` and leaves a daemon behind is stopped after the
/// harness's timeout (at most 10 s), with its whole process tree.
#[test]
fn a_hanging_version_is_stopped_with_its_tree() {
    let env = TestEnv::new();
    let outside = tempfile::tempdir().unwrap();
    let pids = outside.path().join("pids");
    let hang = executable(
        &env.home.join("codex-hang"),
        &format!(
            "#!/bin/sh\n(setsid sleep 300 & echo $! >> '{0}') \nsleep 300 &\necho $! >> '{0}'\n\
             wait\n",
            pids.display()
        ),
    );
    env.configure(&format!(
        "[harness.codex]\npreset = \"codex\"\ncommand = [\"{hang}\"]\ntimeout = 2\n"
    ));
    let started = std::time::Instant::now();
    let report = env.forge(&["--json", "doctor"]).json();
    let took = started.elapsed();
    // The version run is stopped at its 2 s timeout; the bound only has to tell that from
    // waiting out the 300 s sleeps, with room for a loaded machine.
    assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
    let codex = harness_finding(&report, "codex");
    assert_eq!(codex["severity"], "warning", "{codex}");
    assert!(
        codex["message"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{codex}"
    );
    let pids = std::fs::read_to_string(&pids).unwrap();
    assert_eq!(pids.lines().count(), 2, "{pids}");
    for pid in pids.lines() {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        // Gone, or a zombie no one reaped yet (no init in some containers).
        assert!(
            stat.as_deref().map_or(true, |s| s.contains(") Z ")),
            "process {pid} outlived doctor: {stat:?}"
        );
    }
}

#[test]
fn a_bad_price_table_is_found_by_doctor_not_first_by_a_tick() {
    let env = TestEnv::new();
    env.configure("[prices.\"claude-sonnet\"]\ninput = \"three dollars\"\noutput = 15\n");
    let run = env.forge(&["--json", "doctor"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let all = format!("{}{}", run.stdout, run.stderr);
    // Located: the file, line and column of the bad amount.
    assert!(
        all.contains("config.toml:") && all.contains("expected f64"),
        "{all}"
    );
    // Every command reads the config the same way.
    let ready = env.forge(&["ready"]);
    assert_ne!(ready.code, 0);
    assert!(ready.stderr.contains("expected f64"), "{}", ready.stderr);
}
