//! `forge log STEP`: a readable transcript of what the agent said and did, read from the
//! harness's own output format through its preset's parser; `--raw` for the stream itself.
//! Both redacted.

use crate::env::{TestEnv, fixture, toml_string};

const CANARY: &str = "canary-transcript-value-0123456789";

/// One step of the fake Claude Code (stream-json) that says a pass_env value; returns
/// (env, step).
fn claude_step(scenario: &str) -> (TestEnv, String) {
    let mut env = TestEnv::new();
    let fake = fixture("harnesses/fake-claude");
    env.sandbox_write_beside_repo();
    env.configure(&format!(
        "[harness.claude]\npreset = \"claude\"\ncommand = [{}]\ntimeout = 60\ngrace = 1\npass_env = [\"FAKE_SCENARIO\", \"FAKE_SECRET_VALUE\"]\n",
        toml_string(fake.to_str().unwrap())
    ));
    env.extra_env
        .push(("FAKE_SCENARIO".into(), scenario.into()));
    env.extra_env
        .push(("FAKE_SECRET_VALUE".into(), CANARY.into()));
    let bead = env.create(&["Do the thing"]);
    env.commit_all("set up");
    let run = env.forge(&["--json", "step", "--harness", "claude"]);
    let step = run.json()["checkpoint"]["step"]
        .as_str()
        .unwrap_or_else(|| panic!("{}\n{}", run.stdout, run.stderr))
        .to_owned();
    assert!(step.starts_with(&bead));
    (env, step)
}

#[test]
fn log_shows_messages_tool_calls_and_results_redacted() {
    let (env, step) = claude_step("secret");
    let out = env.forge(&["log", &step]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("agent: ") && l.contains("I'll update agent.txt.")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tool: Write") && l.contains("agent.txt")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("=> ") && l.contains("has been updated")),
        "{out}"
    );
    assert!(
        out.contains("The secret is [REDACTED:FAKE_SECRET_VALUE]"),
        "{out}"
    );
    assert!(!out.contains(CANARY), "{out}");
    assert!(
        !out.contains("\"type\""),
        "raw JSON in the transcript:\n{out}"
    );

    // --raw: the stream as the harness wrote it, still redacted.
    let raw = env.forge(&["log", &step, "--raw"]).ok().stdout;
    assert!(raw.contains("\"type\": \"assistant\""), "{raw}");
    assert!(raw.contains("[REDACTED:FAKE_SECRET_VALUE]"), "{raw}");
    assert!(!raw.contains(CANARY), "{raw}");

    // --json: the raw log as before, and the transcript's lines.
    let json = env.forge(&["--json", "log", &step]).ok().json();
    assert!(json["log"].as_str().unwrap().contains("\"type\""), "{json}");
    let transcript: Vec<&str> = json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        transcript.iter().any(|l| l.starts_with("tool: Write")),
        "{json}"
    );
    assert!(!json.to_string().contains(CANARY));
}

#[test]
fn a_plain_text_harness_reads_as_its_lines() {
    let env = TestEnv::new();
    env.script_harness(
        "fake",
        "echo 'looking at README'; echo 'warning: slow disk' >&2; echo done > agent.txt; echo 'all done'",
    );
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    env.create(&["Improve the readme"]);
    env.commit_all("forge set up");
    let step = env.forge(&["--json", "step"]).ok().json()["checkpoint"]["step"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = env.forge(&["log", &step]).ok().stdout;
    assert!(out.contains("agent: looking at README"), "{out}");
    assert!(out.contains("warning: slow disk"), "{out}");
    assert!(out.contains("agent: all done"), "{out}");
}

/// On a terminal, `forge log --raw` (and a gate's log) shows a harness's escape sequences
/// instead of sending them; into a pipe the log goes as it is.
#[test]
fn escape_sequences_in_a_log_are_shown_on_a_terminal_not_sent() {
    let env = TestEnv::new();
    env.script_harness(
        "fake",
        "printf 'before \\033]0;pwned\\007 \\033[2J after\\n'; echo x > agent.txt",
    );
    env.default_harness("fake");
    let bead = env.create(&["Say something odd"]);
    env.commit_all("set up");
    env.forge(&["step"]).ok();
    let step = format!("{bead}.1");
    let piped = env.forge(&["log", "--raw", &step]).ok().stdout;
    assert!(piped.contains("\u{1b}]0;pwned\u{7}"), "{piped:?}");
    let mut cmd = env.command(&["log", "--raw", &step]);
    cmd.env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    let shown = p.exp_string("after").unwrap();
    assert!(shown.contains("^[]0;pwned^G ^[[2J"), "{shown:?}");
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    p.exp_eof().unwrap();
}
