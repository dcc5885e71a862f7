//! More of the first hour (issue 15): `forge gc` cleans up step branches, `.worktreeinclude`,
//! a `forge status` that lists only what needs attention, and smaller sentences.

use crate::env::TestEnv;

const EDIT: &str = "echo 'agent line' >> README";

/// A repository with `[harness.fake]` (edits README) as the default and
/// `[harness.broken]` (edits README, then fails), committed.
fn with_harnesses() -> TestEnv {
    let env = TestEnv::new();
    env.script_harness("fake", EDIT);
    env.script_harness(
        "broken",
        "echo 'half done' >> README; echo broken >&2; exit 1",
    );
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    env
}

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

fn branch_head(env: &TestEnv, branch: &str) -> Option<String> {
    let out = env.git(&[
        "for-each-ref",
        "--format=%(objectname)",
        &format!("refs/heads/{branch}"),
    ]);
    let out = out.trim();
    (!out.is_empty()).then(|| out.to_owned())
}

// 1. gc deletes the branches of finished steps once their work is safe.

#[test]
fn gc_deletes_branches_of_finished_steps_whose_work_is_safe() {
    let env = with_harnesses();
    let a = env.create(&["merged one"]);
    let b = env.create(&["tried three times"]);
    env.commit_all("forge set up");

    let merged = step(&env, &[&a]);
    env.forge(&["approve", &merged, "--yes"]).ok();
    let failed1 = step(&env, &[&b, "--harness", "broken"]);
    let failed2 = step(&env, &[&b, "--harness", "broken"]);
    let waiting = step(&env, &[&b]);
    let (merged_branch, failed1_branch, failed2_branch, waiting_branch) = (
        format!("forge/{a}/1"),
        format!("forge/{b}/1"),
        format!("forge/{b}/2"),
        format!("forge/{b}/3"),
    );
    let failed1_head = branch_head(&env, &failed1_branch).expect("the failed step's branch");
    // Someone moved the second failed step's branch: it is theirs now.
    let main = env.git(&["rev-parse", "main"]);
    env.git(&[
        "update-ref",
        &format!("refs/heads/{failed2_branch}"),
        main.trim(),
    ]);

    let report = env.forge(&["--json", "gc"]).ok().json();
    let mut deleted: Vec<&str> = report["deleted_branches"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"))
        .iter()
        .map(|d| d["branch"].as_str().unwrap())
        .collect();
    deleted.sort();
    let mut expected = [merged_branch.as_str(), failed1_branch.as_str()];
    expected.sort();
    assert_eq!(deleted, expected, "{report:#}");
    assert_eq!(branch_head(&env, &merged_branch), None);
    assert_eq!(branch_head(&env, &failed1_branch), None);
    // The failed attempt's work is kept in the attic.
    let attic = env.git(&["rev-parse", &format!("refs/forge/attic/{failed1}")]);
    env.git(&["merge-base", "--is-ancestor", &failed1_head, attic.trim()]);
    // Never a waiting step's branch, never a branch that moved.
    assert!(branch_head(&env, &waiting_branch).is_some(), "{waiting}");
    assert_eq!(
        branch_head(&env, &failed2_branch).as_deref(),
        Some(main.trim()),
        "{failed2}"
    );
    let kept = report["kept_branches"].to_string();
    assert!(kept.contains(&failed2_branch), "{report:#}");

    // Nothing left to delete the second time; the text says what happened.
    let again = env.forge(&["--json", "gc"]).ok().json();
    assert_eq!(
        again["deleted_branches"],
        serde_json::json!([]),
        "{again:#}"
    );
    let env2 = with_harnesses();
    let c = env2.create(&["text"]);
    env2.commit_all("forge set up");
    let s = step(&env2, &[&c]);
    env2.forge(&["approve", &s, "--yes"]).ok();
    let text = env2.forge(&["gc"]).ok().stdout;
    assert!(
        text.contains(&format!("deleted branch forge/{c}/1")),
        "{text}"
    );
}

// 2. `.worktreeinclude` names ignored files to copy into new worktrees.

#[test]
fn worktreeinclude_copies_matching_ignored_files_and_nothing_outside() {
    let env = TestEnv::new();
    env.script_harness(
        "fake",
        "cat .env > seen-env.txt; cat secrets/a.key > seen-key.txt; ls -a . secrets > seen-ls.txt",
    );
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    let bead = env.create(&["use the env"]);
    std::fs::write(env.path(".gitignore"), ".env*\nsecrets/\nbig.log\n").unwrap();
    std::fs::write(
        env.path(".worktreeinclude"),
        "# what a worktree needs\n.env*\nsecrets/\n",
    )
    .unwrap();
    env.commit_all("forge set up");
    std::fs::write(env.path(".env"), "API_URL=http://localhost\n").unwrap();
    std::fs::create_dir_all(env.path("secrets")).unwrap();
    std::fs::write(env.path("secrets/a.key"), "key\n").unwrap();
    std::fs::write(env.path("big.log"), "not wanted\n").unwrap();
    // A symlink out of the repository is never followed.
    let outside = env.repo.parent().unwrap().join("outside.txt");
    std::fs::write(&outside, "outside\n").unwrap();
    std::os::unix::fs::symlink(&outside, env.path(".env.outside")).unwrap();

    env.forge(&["step"]).ok();
    let branch = format!("forge/{bead}/1");
    let show = |f: &str| env.git(&["show", &format!("{branch}:{f}")]);
    assert_eq!(show("seen-env.txt"), "API_URL=http://localhost\n");
    assert_eq!(show("seen-key.txt"), "key\n");
    let listed = show("seen-ls.txt");
    assert!(!listed.contains("big.log"), "{listed}");
    assert!(!listed.contains(".env.outside"), "{listed}");
    // The copied files stay ignored: they are not part of the step's commit.
    let files = env.git(&["show", "--name-only", "--format=", &branch]);
    assert!(
        !files
            .lines()
            .any(|f| f == ".env" || f.starts_with("secrets")),
        "{files}"
    );
}

// 3. `forge status` lists what needs attention and prints nothing blank.

/// No line is a header with nothing after it.
#[track_caller]
fn nothing_blank(text: &str) {
    for line in text.lines() {
        assert!(!line.trim().is_empty(), "a blank line:\n{text}");
        assert!(
            !line.trim_end().ends_with(':'),
            "an empty section '{line}':\n{text}"
        );
    }
}

#[test]
fn status_lists_failed_steps_of_open_beads_only_and_nothing_blank() {
    let env = with_harnesses();
    let text = env.forge(&["status"]).ok().stdout;
    nothing_blank(&text);

    let open = env.create(&["still open"]);
    let closed = env.create(&["closed since"]);
    let retried = env.create(&["retried"]);
    env.commit_all("forge set up");
    let open_failed = step(&env, &[&open, "--harness", "broken"]);
    let closed_failed = step(&env, &[&closed, "--harness", "broken"]);
    let superseded = step(&env, &[&retried, "--harness", "broken"]);
    let waiting = step(&env, &[&retried]);
    env.forge(&["bead", "close", &closed, "--reason", "not needed"])
        .ok();

    let status = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(
        status["failed"],
        serde_json::json!([open_failed]),
        "{status:#}"
    );
    assert_eq!(
        status["awaiting_approval"],
        serde_json::json!([waiting]),
        "{status:#}"
    );
    let text = env.forge(&["status"]).ok().stdout;
    nothing_blank(&text);
    assert!(text.contains(&open_failed), "{text}");
    assert!(text.contains(&waiting), "{text}");
    assert!(!text.contains(&closed_failed), "{text}");
    assert!(!text.contains(&superseded), "{text}");
    assert!(!text.contains("running"), "{text}");
}

// 4. Smaller sentences.

#[test]
fn bead_create_help_lists_kinds_and_risks() {
    let env = TestEnv::new();
    let help = env.forge(&["bead", "create", "--help"]).ok().stdout;
    assert!(
        help.contains("possible values: task, bug, feature, epic, chore"),
        "{help}"
    );
    assert!(
        help.contains("possible values: low, medium, high"),
        "{help}"
    );
    let bash = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/forge.bash"),
    )
    .unwrap();
    assert!(
        bash.contains("task bug feature epic chore"),
        "completions offer no kinds"
    );
    // A wrong value is still a usage error.
    env.forge(&["bead", "create", "x", "-k", "story"])
        .fails_with(2);
}

#[test]
fn show_of_an_epic_lists_its_children_and_what_it_waits_for() {
    let env = TestEnv::new();
    let epic = env.create(&["the goal", "-k", "epic"]);
    let open = env.create(&["child still open", "--parent", &epic]);
    let done = env.create(&["child done", "--parent", &epic]);
    env.forge(&["bead", "close", &done]).ok();
    let text = env.forge(&["show", &epic]).ok().stdout;
    assert!(text.contains("children"), "{text}");
    assert!(
        text.contains(&open) && text.contains("child still open"),
        "{text}"
    );
    assert!(
        text.contains(&done) && text.contains("child done"),
        "{text}"
    );
    assert!(text.contains(&format!("waits for {open}")), "{text}");
    assert!(!text.contains(&format!("waits for {done}")), "{text}");
    let json = env.show(&epic);
    assert_eq!(json["status"], "open");
    let children: Vec<&str> = json["children"]
        .as_array()
        .unwrap_or_else(|| panic!("{json:#}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(children.len(), 2, "{json:#}");
    assert!(children.contains(&open.as_str()) && children.contains(&done.as_str()));
}

#[test]
fn ledger_render_on_the_default_branch_says_to_pass_a_range() {
    let env = TestEnv::new();
    env.create(&["something"]);
    env.commit_all("forge set up");
    let run = env.forge(&["ledger", "render"]).ok();
    assert!(run.stderr.contains("--range"), "{}", run.stderr);
    // With a range, or on another branch, no such warning.
    let run = env
        .forge(&["ledger", "render", "--range", "HEAD~1..HEAD"])
        .ok();
    assert!(!run.stderr.contains("--range"), "{}", run.stderr);
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.create(&["more"]);
    env.commit_all("more");
    let run = env.forge(&["ledger", "render"]).ok();
    assert!(!run.stderr.contains("--range"), "{}", run.stderr);
}

#[test]
fn cron_show_says_whether_installed_and_uninstall_restores_the_crontab_exactly() {
    let mut env = TestEnv::new();
    let table = env.repo.parent().unwrap().join("crontab.txt");
    // Odd but valid bytes: a blank line at the end, CRLF, a comment.
    let original = "MAILTO=me\r\n# nightly\n0 1 * * * backup\n\n";
    std::fs::write(&table, original).unwrap();
    let bin = crate::env::fixture("bin");
    env.extra_env.push((
        "PATH".into(),
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    ));
    env.extra_env
        .push(("CRONTAB_FILE".into(), table.display().to_string()));

    let show = env.forge(&["--json", "cron", "show"]).ok().json();
    assert_eq!(show["installed"], false, "{show}");
    let text = env.forge(&["cron", "show"]).ok().stdout;
    assert!(text.contains("not installed"), "{text}");

    env.forge(&["cron", "install"]).ok();
    let show = env.forge(&["--json", "cron", "show"]).ok().json();
    assert_eq!(show["installed"], true, "{show}");
    let text = env.forge(&["cron", "show"]).ok().stdout;
    assert!(
        text.contains("installed") && !text.contains("not installed"),
        "{text}"
    );
    // Another interval than the installed one is not what is installed.
    let show = env
        .forge(&["--json", "cron", "show", "--every", "5"])
        .ok()
        .json();
    assert_eq!(show["installed"], false, "{show}");

    env.forge(&["cron", "uninstall"]).ok();
    assert_eq!(std::fs::read(&table).unwrap(), original.as_bytes());
}

#[test]
fn feedback_after_a_reject_is_in_the_next_prompt_once() {
    let env = TestEnv::new();
    env.script_harness(
        "fake",
        "cat > \"$FORGE_REPO/../prompt.txt\"; echo 'agent line' >> README",
    );
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    let bead = env.create(&["Improve the readme"]);
    env.commit_all("forge set up");
    let first = step(&env, &[&bead]);
    env.forge(&["reject", &first, "--reason", "say-why-in-one-place"])
        .ok();
    step(&env, &[&bead]);
    let prompt = std::fs::read_to_string(env.repo.join("../prompt.txt")).unwrap();
    assert_eq!(
        prompt.matches("say-why-in-one-place").count(),
        1,
        "{prompt}"
    );
}

#[test]
fn counts_agree_with_their_nouns() {
    let mut env = TestEnv::new();
    let table = env.repo.parent().unwrap().join("crontab.txt");
    let bin = crate::env::fixture("bin");
    env.extra_env.push((
        "PATH".into(),
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    ));
    env.extra_env
        .push(("CRONTAB_FILE".into(), table.display().to_string()));
    let text = env.forge(&["cron", "install", "--every", "1"]).ok().stdout;
    assert!(text.contains("every 1 minute,"), "{text}");
    let text = env.forge(&["ledger", "verify"]).ok().stdout;
    assert!(
        !text.contains("(s)") && !text.contains(" 1 files"),
        "{text}"
    );
    assert!(text.contains(" in 1 file"), "{text}");
}

#[test]
fn cost_counts_planner_runs() {
    let env = TestEnv::new();
    let script = crate::env::fixture("planners/valid");
    env.configure(&format!(
        "[harness.planner]\npreset = \"command\"\ncommand = [{}]\ntimeout = 30\n",
        crate::env::toml_string(script.to_str().unwrap())
    ));
    env.commit_all("set up");
    let before = env.forge(&["--json", "cost"]).ok().json();
    assert_eq!(before["total"]["tokens"]["runs"], 0, "{before:#}");
    let run = env
        .forge(&["plan", "a goal", "--harness", "planner", "--dry-run"])
        .ok();
    // A dry run says that nothing was created.
    assert!(
        run.stdout.contains("nothing was created") || run.stderr.contains("nothing was created"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let after = env
        .forge(&["--json", "cost", "--by", "harness"])
        .ok()
        .json();
    assert_eq!(after["total"]["tokens"]["runs"], 1, "{after:#}");
    assert_eq!(after["rows"][0]["key"], "planner", "{after:#}");
    let by_bead = env.forge(&["--json", "cost", "--by", "bead"]).ok().json();
    assert_eq!(by_bead["rows"][0]["key"], "(plan)", "{by_bead:#}");
}

#[test]
fn gc_keeps_a_finished_steps_branch_that_is_checked_out() {
    let env = with_harnesses();
    let a = env.create(&["merged one"]);
    env.commit_all("forge set up");
    let merged = step(&env, &[&a]);
    env.forge(&["approve", &merged, "--yes"]).ok();
    let branch = format!("forge/{a}/1");
    // Someone works on the branch in a worktree of their own.
    let mine = env.repo.parent().unwrap().join("mine");
    env.git(&[
        "worktree",
        "add",
        "-q",
        "--force",
        mine.to_str().unwrap(),
        &branch,
    ]);
    let report = env.forge(&["--json", "gc"]).ok().json();
    assert_eq!(
        report["deleted_branches"],
        serde_json::json!([]),
        "{report:#}"
    );
    assert!(branch_head(&env, &branch).is_some());
    assert!(
        report["kept_branches"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("checked out"),
        "{report:#}"
    );
    assert!(mine.join("README").is_file());
}
