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

/// `forge approve "" --yes` merged the only waiting step: an empty id was a prefix of every
/// id. Empty, blank and prefix-only ids are usage errors for every command that takes an
/// id, and nothing changes.
#[test]
fn empty_ids_are_usage_errors_everywhere() {
    let env = TestEnv::new();
    env.script_harness("fake", "echo 'agent line' >> README");
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    let bead = env.create(&["Improve the readme"]);
    env.commit_all("forge set up");
    let run = env.forge(&["--json", "step"]).ok().json();
    assert_eq!(run["checkpoint"]["state"], "awaiting-approval");
    let step = run["checkpoint"]["step"].as_str().unwrap().to_owned();
    env.forge(&["assume", "the API is stable"]).ok();

    let main = env.git(&["rev-parse", "main"]);
    let before = env.snapshot();
    for id in ["", " ", "\t", "fg-", " FG- "] {
        // Assumption ids start with `as-`: `fg-` is a (non-empty) prefix of none.
        let as_id = id.to_ascii_lowercase().replace("fg-", "as-");
        let commands: &[&[&str]] = &[
            // First: before the fix, this merged the step.
            &["approve", id, "--yes"],
            &["show", id],
            &["bead", "show", id],
            &["bead", "close", id],
            &["bead", "reopen", id],
            &["bead", "defer", id],
            &["bead", "update", id, "-p", "0"],
            &["bead", "dep", "add", &bead, id],
            &["bead", "dep", "add", id, &bead],
            &["bead", "dep", "rm", &bead, id],
            &["bead", "create", "x", "--dep", id],
            &["bead", "create", "x", "--parent", id],
            &["reject", id, "--reason", "no"],
            &["revise", id, "--feedback", "more"],
            &["rollback", id],
            &["log", id],
            &["step", id],
            &["step", "--rebase", id],
            &["assume", "x", "--bead", id],
            &["assumption", "resolve", &as_id, "--validated"],
        ];
        for args in commands {
            let run = env.forge(args).fails_with(2);
            assert!(
                run.stderr.contains("is not a") && run.stderr.contains(" id"),
                "{args:?}:\n{}",
                run.stderr
            );
        }
    }
    assert_eq!(before, env.snapshot(), "a refused command changed .forge/");
    assert_eq!(
        main,
        env.git(&["rev-parse", "main"]),
        "something was merged"
    );
    let steps = env.forge(&["--json", "steps"]).ok().json();
    assert_eq!(steps["steps"][0]["step"], step.as_str());
    assert_eq!(steps["steps"][0]["state"], "awaiting-approval");
}

/// Runs forge with a deadline: a regression that blocks (on a FIFO, say) fails the test
/// instead of hanging the suite.
fn forge_within(env: &TestEnv, args: &[&str], secs: u64) -> crate::env::Run {
    use std::io::Read;
    let mut child = env
        .command(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("forge {args:?} did not return within {secs} s: it blocks");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    crate::env::Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

#[test]
fn a_fifo_among_the_beads_is_an_error_not_a_hang() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    env.forge(&["ready"]).ok();
    let fifo = bead_path(&env, "fg-fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for args in [
        &["ready"][..],
        &["bead", "list"],
        &["blocked"],
        &["show", "fg-fifo"],
        &["bead", "close", "fg-fifo"],
    ] {
        let run = forge_within(&env, args, 20).fails_with(5);
        assert!(
            run.stderr.contains(".forge/beads/fg-fifo.toml: is a FIFO"),
            "{args:?}:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    }
    std::fs::remove_file(&fifo).unwrap();
    assert_eq!(env.ready(), [id]);
}

#[test]
fn a_linked_bead_file_is_refused_and_its_target_untouched() {
    let env = TestEnv::new();
    let id = env.create(&["inside"]);
    let path = bead_path(&env, &id);
    let outside = env.repo.parent().unwrap().join(format!("{id}.toml"));
    std::fs::rename(&path, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &path).unwrap();
    let target = std::fs::read(&outside).unwrap();
    let file = format!(".forge/beads/{id}.toml: is a symbolic link");
    refused(
        &env,
        &[
            &["ready"],
            &["bead", "list", "--all"],
            &["show", &id],
            &["bead", "update", &id, "-p", "0"],
            &["bead", "close", &id],
        ],
        5,
        &[&file, "never follows symbolic links"],
    );
    assert_eq!(target, std::fs::read(&outside).unwrap());
    assert!(std::fs::symlink_metadata(&path).unwrap().is_symlink());
}

#[test]
fn a_linked_beads_directory_is_refused_and_nothing_is_written_outside() {
    let env = TestEnv::new();
    let id = env.create(&["inside"]);
    let beads = env.path(".forge/beads");
    let outside = env.repo.parent().unwrap().join("elsewhere");
    std::fs::rename(&beads, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &beads).unwrap();
    let listing = |dir: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let (names, bytes) = (
        listing(&outside),
        std::fs::read(outside.join(format!("{id}.toml"))).unwrap(),
    );
    refused(
        &env,
        &[
            &["ready"],
            &["show", &id],
            &["bead", "close", &id],
            &["bead", "create", "lands outside?"],
        ],
        5,
        &[".forge/beads: is a symbolic link"],
    );
    assert_eq!(
        names,
        listing(&outside),
        "a file was written outside the repository"
    );
    assert_eq!(
        bytes,
        std::fs::read(outside.join(format!("{id}.toml"))).unwrap()
    );
}

#[test]
fn zero_and_huge_timeouts_are_refused() {
    let env = TestEnv::new();
    // On the command line: a usage error naming the range, before anything runs.
    env.script_harness("fake", "echo x >> README");
    env.default_harness("fake");
    env.create(&["fine"]);
    let before = env.snapshot();
    for secs in ["18446744073709551615", "0", "604801", "-5"] {
        let run = env
            .forge(&["step", &format!("--timeout={secs}")])
            .fails_with(2);
        assert!(run.stderr.contains("604800"), "{secs}:\n{}", run.stderr);
    }
    assert_eq!(before, env.snapshot());
    assert!(
        env.forge(&["step", "--help"])
            .ok()
            .stdout
            .contains("1 to 604800"),
        "the help does not give the range"
    );

    // In the config: the file and the line of the value.
    let config = std::fs::read_to_string(env.path(".forge/config.toml")).unwrap();
    for section in [
        "[harness.slow]\npreset = \"command\"\ncommand = [\"true\"]\n",
        "[[gates]]\nname = \"t\"\nrun = \"true\"\n",
    ] {
        let text = format!("{config}\n{section}timeout = 0\n");
        let line = text.lines().count();
        std::fs::write(env.path(".forge/config.toml"), &text).unwrap();
        refused(
            &env,
            &[&["ready"], &["bead", "create", "x"]],
            5,
            &[
                &format!(".forge/config.toml:{line}:"),
                "a timeout is 1 to 604800 seconds",
            ],
        );
    }
    std::fs::write(
        env.path(".forge/config.toml"),
        config.replace(
            "copy = []\n",
            "copy = []\nsetup = \"true\"\nsetup_timeout = 0\n",
        ),
    )
    .unwrap();
    refused(
        &env,
        &[&["ready"]],
        5,
        &[".forge/config.toml:", "a timeout is 1 to 604800 seconds"],
    );
}

#[test]
fn zero_tick_steps_is_refused_with_file_and_line() {
    let env = TestEnv::new();
    let text = std::fs::read_to_string(env.path(".forge/config.toml")).unwrap();
    let line = text.lines().position(|l| l == "steps = 1").unwrap() + 1;
    env.edit_config("steps = 1", "steps = 0");
    refused(
        &env,
        &[&["tick"], &["ready"]],
        5,
        &[&format!(".forge/config.toml:{line}:9: [tick] steps = 0")],
    );
}

#[test]
fn dependency_ids_with_path_characters_are_refused_with_file_and_line() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let path = bead_path(&env, &id);
    let text = std::fs::read_to_string(&path).unwrap();
    for dep in [
        "../../etc/passwd",
        "fg-a/b",
        "fg-a\\\\b",
        "fg-..",
        "fg-a b",
        "fg-\\u0000",
        "",
    ] {
        let bad = format!(
            "{}\n[[deps]]\nid = \"{dep}\"\ntype = \"blocks\"\n",
            text.replace("deps = []\n", "")
        );
        let line = bad.lines().count() - 1;
        std::fs::write(&path, &bad).unwrap();
        refused(
            &env,
            &[&["ready"], &["show", &id], &["bead", "close", &id]],
            5,
            &[&format!("{id}.toml:{line}:6: dependency id")],
        );
    }
}

#[test]
fn timestamps_that_are_not_timestamps_are_refused_with_file_and_line() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let path = bead_path(&env, &id);
    let text = std::fs::read_to_string(&path).unwrap();
    for (key, bad) in [
        ("created", "yesterday"),
        ("updated", "2026-11-21"),
        ("created", "2026-02-30T00:00:00Z"),
        ("updated", "2026-11-21T09:00:00Z; rm -rf /"),
    ] {
        let old = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap();
        let line = text.lines().position(|l| l == old).unwrap() + 1;
        std::fs::write(&path, text.replace(old, &format!("{key} = \"{bad}\""))).unwrap();
        refused(
            &env,
            &[&["ready"], &["show", &id]],
            5,
            &[
                &format!("{id}.toml:{line}:"),
                "is not an RFC 3339 timestamp",
            ],
        );
    }
    let closed = text.replace("description = ", "closed = \"never\"\ndescription = ");
    std::fs::write(&path, &closed).unwrap();
    refused(
        &env,
        &[&["show", &id]],
        5,
        &["closed = \"never\" is not an RFC 3339"],
    );
}

#[test]
fn terminal_escapes_in_bead_text_are_shown_not_sent() {
    let env = TestEnv::new();
    let evil = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\r\u{9b}1m";
    let id = env.create(&[
        evil,
        "-d",
        &format!("line one\n{evil}"),
        "-l",
        "\u{1b}[5mblink",
        "-a",
        "ok \u{1b}[8m",
    ]);
    env.forge(&["bead", "defer", &id, "--reason", "\u{1b}[1Ahidden"])
        .ok();
    env.forge(&["bead", "reopen", &id]).ok();
    let other = env.create(&["waits", "--dep", &id]);
    for (args, shows_it) in [
        (&["ready"][..], true),
        (&["bead", "list", "--all"], true),
        (&["blocked"], false),
        (&["show", &id], true),
        (&["bead", "create", evil], true),
        (
            &["bead", "close", &other, "--reason", "\u{1b}[2Jgone"],
            true,
        ),
    ] {
        let run = env.forge(args).ok();
        for c in ['\u{1b}', '\u{7}', '\r', '\u{9b}'] {
            assert!(
                !run.stdout.contains(c),
                "{args:?} printed {c:?}:\n{}",
                run.stdout.escape_debug()
            );
        }
        assert_eq!(
            run.stdout.contains("^["),
            shows_it,
            "{args:?}:\n{}",
            run.stdout
        );
    }
    let shown = env.forge(&["show", &id]).ok().stdout;
    assert!(
        shown.contains("^[]0;pwned^G^[[2J^[[31mred^M\\u{9b}1m"),
        "{shown}"
    );
    assert!(shown.contains("  line one\n"), "{shown}");
    // JSON stays exact.
    let json = env.show(&id);
    assert_eq!(json["title"], evil);
    assert_eq!(json["labels"][0], "\u{1b}[5mblink");
}

#[test]
fn invalid_utf8_is_a_bad_file_with_its_line() {
    let env = TestEnv::new();
    let id = env.create(&["fine"]);
    let path = bead_path(&env, &id);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("title = "))
        .unwrap()
        + 1;
    let mut bytes = text
        .replace("title = \"fine\"", "title = \"fi\u{7f}ne\"")
        .into_bytes();
    let at = bytes.iter().position(|&b| b == 0x7f).unwrap();
    bytes[at] = 0xff;
    std::fs::write(&path, &bytes).unwrap();
    refused(
        &env,
        &[&["ready"], &["show", &id], &["bead", "close", &id]],
        5,
        &[&format!("{id}.toml:{line}:12: invalid UTF-8")],
    );
    std::fs::write(&path, &text).unwrap();

    let config = env.path(".forge/config.toml");
    let mut bytes = std::fs::read(&config).unwrap();
    let line = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    bytes.extend_from_slice(b"# caf\xe9\n");
    std::fs::write(&config, &bytes).unwrap();
    refused(
        &env,
        &[&["ready"], &["bead", "create", "x"]],
        5,
        &[&format!(".forge/config.toml:{line}:6: invalid UTF-8")],
    );
}

/// A FIFO among the ledger files never hangs the readers: only regular files are ledger
/// files, and the events around it still verify.
#[test]
fn a_fifo_among_the_ledger_files_is_no_ledger_file_and_no_hang() {
    let env = TestEnv::new();
    env.create(&["one"]);
    let dir = std::fs::read_dir(env.path(".forge/ledger"))
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    let fifo = dir.join("20000101T000000.000000Z-fifo0000.jsonl");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    forge_within(&env, &["ledger", "verify"], 20).ok();
    let shown = forge_within(&env, &["--json", "ledger", "show"], 20).ok();
    assert!(shown.stdout.contains("bead.created"), "{}", shown.stdout);
}
