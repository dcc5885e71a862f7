//! What people read, as insta snapshots of whole transcripts: `$ forge ARGS` followed by
//! what it printed. Ids, run ids and dates are reproducible (`TestEnv` pins `FORGE_NOW` and
//! gives each command its own `FORGE_SEED`), so the filters below cover only what truly
//! varies from run to run: the temporary directory and how long things took (`filtered`). Tests that
//! reorder or add commands change the seeds, and with them the ids: review the new
//! snapshot (`cargo insta review`).

use crate::env::TestEnv;

/// Runs each command in turn and writes the transcript; every command must succeed.
fn transcript(env: &TestEnv, commands: &[&[&str]]) -> String {
    let mut out = String::new();
    for args in commands {
        let run = env.forge(args).ok();
        out.push_str(&format!("$ forge {}\n", args.join(" ")));
        out.push_str(&run.stdout);
        if !run.stderr.is_empty() {
            out.push_str("[stderr]\n");
            out.push_str(&run.stderr);
        }
        out.push('\n');
    }
    out
}

/// Only what varies between runs of the same test is replaced: the temporary directory (and
/// commit ids, which depend on it), durations (`0.1s`, and the progress lines' `[  0.3s]`)
/// and the machine's Landlock ABI.
/// (What insta's `filters` feature would do, without enabling it.)
fn filtered(env: &TestEnv, text: &str) -> String {
    let root = env.repo.parent().unwrap().display().to_string();
    let mut text = text.replace(&root, "[tmp]");
    for (pattern, with) in [
        (r"\[ *\d+\.\ds\]", "[secs]"),
        (r"\b\d+\.\ds\b", "[secs]"),
        (r"Landlock ABI \d+", "Landlock ABI [n]"),
        // The config names the temporary directory (`sandbox_write_beside_repo`), and so
        // every commit made after it is committed differs.
        (r"\b[0-9a-f]{40}\b", "[commit]"),
        (r"\b[0-9a-f]{12}\b", "[short]"),
    ] {
        text = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, with)
            .into_owned();
    }
    text
}

fn beads(env: &TestEnv) -> (String, String, String) {
    let parser = env.create(&["Write the parser", "-p", "1"]);
    let docs = env.create(&[
        "Document the parser",
        "--dep",
        &parser,
        "-a",
        "the README says how to call it",
    ]);
    let cache = env.create(&["Cache parsed files", "-p", "2", "-l", "perf"]);
    (parser, docs, cache)
}

#[test]
fn ready_blocked_show_and_status() {
    let env = TestEnv::new();
    let (_, docs, _) = beads(&env);
    let text = transcript(
        &env,
        &[
            &["ready"],
            &["blocked"],
            &["show", &docs],
            &["bead", "list", "--all"],
            &["status"],
        ],
    );
    insta::assert_snapshot!("ready_blocked_show_and_status", filtered(&env, &text));
}

#[test]
fn a_step_with_a_scripted_harness_then_approval() {
    let env = TestEnv::new();
    env.script_harness(
        "hello",
        "echo 'hello from an agent' > hello.txt; echo 'wrote hello.txt'",
    );
    env.default_harness("hello");
    env.sandbox_write_beside_repo();
    let (parser, _, _) = beads(&env);
    env.commit_all("forge set up");
    let step = format!("{parser}.1");
    let text = transcript(
        &env,
        &[
            &["step", &parser],
            &["steps"],
            &["status"],
            &["approve", &step, "--yes"],
            &["ready"],
        ],
    );
    insta::assert_snapshot!("a_step_then_approval", filtered(&env, &text));
}

#[test]
fn the_ledger_as_shown() {
    let env = TestEnv::new();
    let (parser, docs, _) = beads(&env);
    env.forge(&["bead", "close", &parser, "--reason", "done"])
        .ok();
    let text = transcript(
        &env,
        &[&["ledger", "show"], &["ledger", "show", "--bead", &docs]],
    );
    insta::assert_snapshot!("the_ledger_as_shown", filtered(&env, &text));
}
