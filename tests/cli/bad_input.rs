//! Bad input never destroys data: each case gives a clear message naming the file (and line),
//! a documented exit code, and leaves every file under .forge/ byte-identical.

use crate::env::TestEnv;

/// Runs each command, expecting `code` and every stderr to contain each of `needles`;
/// checks that nothing under .forge/ changed.
#[track_caller]
fn refused(env: &TestEnv, commands: &[&[&str]], code: i32, needles: &[&str]) {
    let before = env.snapshot();
    for args in commands {
        let run = env.forge(args).fails_with(code);
        for n in needles {
            assert!(
                run.stderr.contains(n),
                "{args:?}: '{n}' not in:\n{}",
                run.stderr
            );
        }
        assert!(
            run.stderr.contains("hint:"),
            "{args:?} gives no hint:\n{}",
            run.stderr
        );
        let mut json_args = vec!["--json"];
        json_args.extend_from_slice(args);
        let json = env.forge(&json_args).fails_with(code).error_json();
        assert_eq!(json["error"]["exit"], code);
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needles[0])
        );
    }
    assert_eq!(
        before,
        env.snapshot(),
        "files changed after a refused command"
    );
}

fn bead_path(env: &TestEnv, id: &str) -> std::path::PathBuf {
    env.path(&format!(".forge/beads/{id}.toml"))
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let path = bead_path(&env, &id);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("priority = 2", "priority = = 2")).unwrap();
    let file = format!(".forge/beads/{id}.toml:6:12:");
    refused(
        &env,
        &[
            &["ready"],
            &["bead", "list"],
            &["show", &id],
            &["bead", "update", &id, "-p", "1"],
            &["bead", "close", &id],
        ],
        5,
        &[&file, "git checkout --"],
    );
}

#[test]
fn wrong_type_is_located_too() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let path = bead_path(&env, &id);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("kind = \"task\"", "kind = \"chorus\"")).unwrap();
    refused(&env, &[&["ready"]], 5, &[&format!("{id}.toml:4:")]);
}

#[test]
fn conflict_markers_are_named() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let path = bead_path(&env, &id);
    let text = std::fs::read_to_string(&path).unwrap();
    let conflicted = text.replace(
        "priority = 2\n",
        "<<<<<<< HEAD\npriority = 1\n=======\npriority = 3\n>>>>>>> other\n",
    );
    std::fs::write(&path, conflicted).unwrap();
    refused(
        &env,
        &[&["ready"], &["bead", "update", &id, "--title", "x"]],
        5,
        &[
            &format!("{id}.toml:6: unresolved git conflict marker"),
            "<<<<<<<",
        ],
    );
}

#[test]
fn file_name_and_id_must_agree() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    std::fs::rename(bead_path(&env, &id), bead_path(&env, "fg-zzzz")).unwrap();
    refused(
        &env,
        &[&["ready"], &["show", "fg-zzzz"]],
        5,
        &["fg-zzzz.toml", &format!("holds bead id '{id}'")],
    );
}

#[test]
fn dependency_on_a_missing_bead() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    refused(
        &env,
        &[
            &["bead", "dep", "add", &id, "fg-nope"],
            &["bead", "create", "x", "--dep", "fg-nope"],
        ],
        6,
        &["no bead matches 'fg-nope'"],
    );
}

#[test]
fn unknown_schema_version() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let path = bead_path(&env, &id);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("schema = 1", "schema = 7")).unwrap();
    refused(
        &env,
        &[&["ready"], &["show", &id]],
        5,
        &["schema version 7", "upgrade forge"],
    );
}

#[test]
fn config_with_unknown_schema() {
    let env = TestEnv::new();
    env.edit_config("schema = 1", "schema = 2");
    refused(
        &env,
        &[&["ready"], &["bead", "create", "x"]],
        5,
        &["config.toml: schema version 2"],
    );
}

#[test]
fn invalid_config_names_line_and_column() {
    let env = TestEnv::new();
    let text = std::fs::read_to_string(env.path(".forge/config.toml")).unwrap();
    let line = text.lines().position(|l| l == "env = []").unwrap() + 1;
    env.edit_config("env = []", "env = [unquoted]");
    refused(
        &env,
        &[&["ready"], &["bead", "create", "x"]],
        5,
        &[&format!(".forge/config.toml:{line}:8:")],
    );
}

#[test]
fn unknown_id_suggests_the_nearest() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let mut typo = id.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'z' { b'y' } else { b'z' };
    let typo = String::from_utf8(typo).unwrap();
    refused(
        &env,
        &[&["show", &typo], &["bead", "close", &typo]],
        6,
        &[
            &format!("no bead matches '{typo}'"),
            &format!("did you mean {id}?"),
        ],
    );
}

#[test]
fn ambiguous_prefix_lists_candidates() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let text = std::fs::read_to_string(bead_path(&env, &id)).unwrap();
    for other in ["fg-abc1", "fg-abc2"] {
        std::fs::write(bead_path(&env, other), text.replace(&id, other)).unwrap();
    }
    refused(
        &env,
        &[&["show", "abc"], &["bead", "update", "fg-abc", "-p", "0"]],
        6,
        &["is ambiguous", "fg-abc1, fg-abc2"],
    );
    // An exact id wins over being a prefix of a longer one.
    std::fs::write(bead_path(&env, "fg-abc"), text.replace(&id, "fg-abc")).unwrap();
    let shown = env.forge(&["--json", "show", "fg-abc"]).ok().json();
    assert_eq!(shown["id"], "fg-abc");
}

#[test]
fn out_of_range_values_are_usage_errors() {
    let env = TestEnv::new();
    let before = env.snapshot();
    env.forge(&["bead", "create", "x", "-p", "5"]).fails_with(2);
    env.forge(&["bead", "create", "x", "--value", "101"])
        .fails_with(2);
    env.forge(&["bead", "create", "x", "-k", "story"])
        .fails_with(2);
    env.forge(&["bead", "create", "  "]).fails_with(2);
    assert_eq!(before, env.snapshot());
}

#[test]
fn torn_ledger_line_is_reported_without_changes_when_checking_only() {
    let env = TestEnv::new();
    env.create(&["fine"]);
    let file = crate::ledger::ledger_files(&env)
        .into_iter()
        .find(|f| std::fs::read_to_string(f).unwrap().contains("bead.created"))
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(br#"{"ts":"2026-11-21T09:00:00Z","run":"#);
    std::fs::write(&file, &bytes).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap().to_owned();
    refused(
        &env,
        &[&["ledger", "verify", "--no-quarantine"]],
        8,
        &[&name, "torn last line"],
    );
}

#[test]
fn a_description_with_a_markdown_heading_is_not_a_conflict() {
    let env = TestEnv::new();
    let id = env.create(&["docs", "-d", "Usage\n=======\n\nRun it."]);
    let shown = env.show(&id);
    assert_eq!(shown["description"], "Usage\n=======\n\nRun it.");
    env.forge(&["ready"]).ok();
}
