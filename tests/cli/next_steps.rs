//! What a person sees at the end of a command: the command to run next (after `forge init`
//! and `forge step`), and at approval the agent's own last word and the diff itself.

use crate::env::TestEnv;

/// A repository with a script harness `fake` as the default and one bead; returns the bead.
fn with_script(script: &str) -> (TestEnv, String) {
    let env = TestEnv::new();
    env.script_harness("fake", script);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    let bead = env.create(&["Improve the readme"]);
    env.commit_all("forge set up");
    (env, bead)
}

const EDIT: &str = "echo 'agent line' >> README; echo new > agent.txt; \
                    echo 'I added agent.txt and a line to README.'";

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_waiting_step_ends_with_the_command_that_approves_it() {
    let (env, bead) = with_script(EDIT);
    let step = format!("{bead}.1");
    let run = env.forge(&["step"]).ok();
    let lines: Vec<&str> = run.stdout.trim_end().lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some(format!("next: forge approve {step}").as_str()),
        "{}",
        run.stdout
    );
    // The existing lines stay.
    assert!(
        run.stdout.contains("Waiting for approval"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("branch: forge/"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("forge revise {step} --feedback")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("forge reject {step}")),
        "{}",
        run.stdout
    );

    // The same for a revision, and as a `next` list with --json.
    let json = env
        .forge(&["--json", "revise", &step, "--feedback", "one more"])
        .ok()
        .json();
    let next = strings(&json["next"]);
    assert_eq!(next[0], format!("forge approve {step}"), "{json}");
    assert!(
        next.iter()
            .any(|c| c.starts_with(&format!("forge revise {step} --feedback"))),
        "{next:?}"
    );
    assert!(
        next.iter()
            .any(|c| c.starts_with(&format!("forge reject {step}"))),
        "{next:?}"
    );
    assert_eq!(json["checkpoint"]["state"], "awaiting-approval");
}

#[test]
fn a_failed_step_says_what_to_do_about_it() {
    let (env, bead) = with_script("echo 'could not reach the model' >&2; exit 1");
    let step = format!("{bead}.1");
    let run = env.forge(&["step"]).fails_with(4);
    let out = &run.stdout;
    assert!(out.contains("failed"), "{out}");
    for wanted in [
        format!("forge log {step}"),
        format!("forge step {bead}"),
        format!("forge revise {step} --feedback"),
    ] {
        assert!(out.contains(&wanted), "no '{wanted}' in:\n{out}");
    }
    assert!(
        out.trim_end().lines().last().unwrap().starts_with("next: "),
        "{out}"
    );
    assert!(!out.contains("forge approve"), "{out}");

    let (env, bead) = with_script("exit 1");
    let json = env.forge(&["--json", "step"]).fails_with(4).json();
    let step = format!("{bead}.1");
    let next = strings(&json["next"]);
    assert!(next.contains(&format!("forge log {step}")), "{next:?}");
    assert!(next.contains(&format!("forge step {bead}")), "{next:?}");
}

#[test]
fn init_says_how_to_configure_a_harness_and_commit() {
    let env = TestEnv::bare();
    let run = env.forge(&["init"]).ok();
    let out = &run.stdout;
    assert!(out.contains("Initialised forge"), "{out}");
    assert!(out.contains("[harness.NAME]"), "{out}");
    assert!(out.contains(".forge/config.toml"), "{out}");
    assert!(out.contains("forge doctor"), "{out}");
    assert!(
        out.contains("git add .forge && git commit -m \"forge: init\""),
        "{out}"
    );
    // Said again when nothing changed: the next step is the same.
    let again = env.forge(&["init"]).ok();
    assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);
}

mod pty {
    use rexpect::session::spawn_command;

    use super::*;

    const DOWN: &str = "\x1b[B";

    /// At approval: the agent's final message, and the diff through $PAGER (here a script
    /// that keeps what it was given), coloured on a terminal, before the question.
    #[test]
    fn approval_shows_the_agents_last_word_and_pages_the_coloured_diff_first() {
        let (env, bead) = with_script(EDIT);
        let step = format!("{bead}.1");
        env.forge(&["step"]).ok();
        let paged = env.repo.parent().unwrap().join("paged.txt");
        let mut cmd = env.command(&["approve", &step]);
        cmd.env("TERM", "xterm").env_remove("NO_COLOR").env(
            "PAGER",
            format!("cat > '{}'; echo PAGER-RAN", paged.display()),
        );
        let mut p = spawn_command(cmd, Some(20_000)).unwrap();
        p.exp_string("I added agent.txt and a line to README.")
            .unwrap();
        p.exp_string("PAGER-RAN").unwrap();
        p.exp_string("approve and merge").unwrap();
        for _ in 0..4 {
            p.send(DOWN).unwrap();
        }
        p.send_line("").unwrap();
        p.exp_string("still waits").unwrap();
        p.exp_eof().unwrap();
        let diff = std::fs::read_to_string(&paged).unwrap();
        assert!(diff.contains("agent.txt"), "{diff}");
        assert!(diff.contains("\x1b[32mnew"), "not coloured: {diff:?}");
    }

    /// `PAGER=cat` prints the diff where the question is asked; with stdout not a terminal
    /// it is printed there directly, without colour and without a pager.
    #[test]
    fn the_diff_is_printed_directly_with_cat_or_without_a_terminal() {
        let (env, bead) = with_script(EDIT);
        let step = format!("{bead}.1");
        env.forge(&["step"]).ok();
        let mut cmd = env.command(&["approve", &step]);
        cmd.env("TERM", "xterm").env("PAGER", "cat");
        let mut p = spawn_command(cmd, Some(20_000)).unwrap();
        p.exp_string("+++ b/agent.txt").unwrap();
        p.exp_string("approve and merge").unwrap();
        for _ in 0..4 {
            p.send(DOWN).unwrap();
        }
        p.send_line("").unwrap();
        p.exp_string("still waits").unwrap();
        p.exp_eof().unwrap();

        let out = env.repo.parent().unwrap().join("out.txt");
        let forge = crate::env::forge_bin();
        let mut cmd = env.command(&[]);
        cmd.env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .env("PAGER", "echo PAGER-RAN; cat")
            .env("FORGE_BIN", &forge)
            .env("OUT", &out);
        let mut sh = std::process::Command::new("sh");
        sh.env_clear()
            .arg("-c")
            .arg(format!("\"$FORGE_BIN\" approve {step} > \"$OUT\""));
        // The clean environment of `env.command`, for the shell in between.
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        sh.env_remove("NO_COLOR").current_dir(&env.repo);
        let mut p = spawn_command(sh, Some(20_000)).unwrap();
        p.exp_string("approve and merge").unwrap();
        for _ in 0..4 {
            p.send(DOWN).unwrap();
        }
        p.send_line("").unwrap();
        p.exp_string("still waits").unwrap();
        p.exp_eof().unwrap();
        let printed = std::fs::read_to_string(&out).unwrap();
        assert!(printed.contains("+++ b/agent.txt"), "{printed}");
        assert!(!printed.contains("PAGER-RAN"), "a pager ran: {printed}");
        assert!(!printed.contains("\x1b["), "coloured: {printed:?}");
    }
}
