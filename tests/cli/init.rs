use crate::env::{TestEnv, to_run};

#[test]
fn init_creates_the_layout_and_is_idempotent() {
    let env = TestEnv::bare();
    let first = env.forge(&["--json", "init"]).ok().json();
    let created: Vec<&str> = first["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for p in [
        ".forge/config.toml",
        ".forge/beads",
        ".forge/assumptions",
        ".forge/ledger",
        ".forge/checkpoints",
        ".forge/.gitignore",
    ] {
        assert!(created.contains(&p), "{p} not in {created:?}");
        assert!(env.path(p).exists(), "{p} missing");
    }
    assert!(
        env.path(".git/forge/cache").is_dir(),
        "runtime dir under the common dir"
    );
    let config = std::fs::read_to_string(env.path(".forge/config.toml")).unwrap();
    assert!(
        config.contains("schema = 1") && config.contains("# "),
        "{config}"
    );

    let before = env.snapshot();
    let again = env.forge(&["init"]).ok();
    assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);
    assert_eq!(
        env.forge(&["--json", "init"]).ok().json()["created"],
        serde_json::json!([])
    );
    assert_eq!(before, env.snapshot(), "a second init changed files");
}

#[test]
fn init_restores_missing_pieces() {
    let env = TestEnv::new();
    std::fs::remove_dir_all(env.path(".forge/checkpoints")).unwrap();
    let run = env.forge(&["--json", "init"]).ok().json();
    assert!(run["created"].to_string().contains(".forge/checkpoints"));
}

#[test]
fn gitignore_hides_temp_and_quarantine_files() {
    let env = TestEnv::new();
    std::fs::write(env.path(".forge/beads/.tmp-1-2-x.toml"), "").unwrap();
    std::fs::write(env.path(".forge/ledger/x.jsonl.torn"), "").unwrap();
    env.git(&["add", ".forge"]);
    let staged = env.git(&["diff", "--cached", "--name-only"]);
    assert!(
        !staged.contains(".tmp-") && !staged.contains(".torn"),
        "{staged}"
    );
    assert!(staged.contains(".forge/config.toml"), "{staged}");
}

#[test]
fn init_outside_a_git_repository_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::env::clean_command(crate::env::forge_bin(), tmp.path())
        .arg("init")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let run = crate::env::to_run(out).fails_with(9);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("git init"), "{}", run.stderr);
    assert!(!tmp.path().join(".forge").exists());
}

#[test]
fn commands_before_init_say_to_run_init() {
    let env = TestEnv::bare();
    let run = env.forge(&["ready"]).fails_with(9);
    assert!(run.stderr.contains("forge init"), "{}", run.stderr);
}

#[test]
fn dash_c_runs_elsewhere_and_works_from_a_subdirectory() {
    let env = TestEnv::new();
    let id = env.create(&["from root"]);
    std::fs::create_dir_all(env.path("sub/dir")).unwrap();
    let run = env
        .command(&["--json", "show", &id])
        .current_dir(env.path("sub/dir"))
        .output()
        .unwrap();
    assert_eq!(to_run(run).ok().json()["id"], id.as_str());
    let tmp = tempfile::tempdir().unwrap();
    let repo = env.repo.to_str().unwrap();
    let out = env
        .command(&["-C", repo, "--json", "ready"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let run = crate::env::to_run(out).ok();
    assert_eq!(crate::env::ids(&run.json()["ready"]), [id]);
}
