//! The fake harnesses in `fixtures/harnesses/` run through their presets: each fake must
//! accept the argv its preset builds and print what the preset's parser understands, with the
//! verdict the scenario calls for. (Scenarios that leave processes behind or never end —
//! `hang`, `ignoreterm`, `fork`, `doublefork` — are the process runner's to test.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::adapter::{Adapter, Invocation, RunSummary, Stream, Verdict};
use crate::harness::presets::by_name;

/// Every preset but `command`, which has no fake CLI, and `acp`, whose fake is a conversation
/// (driven through `forge step` in the integration tests).
fn presets() -> impl Iterator<Item = &'static str> {
    super::ALL
        .iter()
        .map(|a| a.name())
        .filter(|n| *n != "command" && *n != "acp")
}

fn fake(preset: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/harnesses")
        .join(format!("fake-{preset}"))
}

fn tools_present() -> bool {
    let ok = |p: &str| {
        Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ok("python3") && ok("git")
}

struct Run {
    summary: RunSummary,
    verdict: Verdict,
    dir: tempfile::TempDir,
}

fn run(
    adapter: &dyn Adapter,
    scenario: &str,
    resume: Option<&str>,
    dir: Option<tempfile::TempDir>,
) -> Run {
    let dir = dir.unwrap_or_else(|| {
        let dir = tempfile::tempdir().unwrap();
        let git = Command::new("git")
            .args(["init", "-q", "."])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(git.success());
        dir
    });
    let inv = Invocation {
        prompt: format!("please {scenario}"),
        model: None,
        extra_args: Vec::new(),
        resume_session: resume.map(str::to_owned),
        command: Some(vec![fake(adapter.name()).display().to_string()]),
    };
    let spec = adapter.command(&inv);
    let home = dir.path().join(".home");
    std::fs::create_dir_all(home.join("codex")).unwrap();
    #[allow(clippy::disallowed_methods)] // a test: the fakes need the machine's python3 and git
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("CODEX_HOME", home.join("codex"))
        .env("FAKE_SCENARIO", scenario)
        .env("FAKE_HUGE_BYTES", "300000")
        .env("FAKE_SECRET_VALUE", "hunter2-very-secret")
        .env("FAKE_PROMPT_LOG", dir.path().join(".home/prompts.log"))
        .env("FAKE_PIDS_FILE", dir.path().join(".home/pids"))
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let (Some(bytes), Some(mut stdin)) = (&spec.stdin, child.stdin.take()) {
        stdin.write_all(bytes).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let mut parser = adapter.parser(&crate::clock::Clock::default());
    parser.home(&home);
    let mut summary = RunSummary::default();
    for (stream, bytes) in [
        (Stream::Stdout, &output.stdout),
        (Stream::Stderr, &output.stderr),
    ] {
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines() {
            for e in parser.line(stream, line) {
                summary.apply(&e);
            }
        }
    }
    for e in parser.finish() {
        summary.apply(&e);
    }
    let verdict = adapter.judge(&summary, output.status.code());
    Run {
        summary,
        verdict,
        dir,
    }
}

#[test]
fn scenarios_end_with_the_right_verdict() {
    assert!(
        tools_present(),
        "the fake harnesses need python3 and git on PATH (README: what the tests need)"
    );
    std::thread::scope(|s| {
        for preset in presets() {
            s.spawn(move || scenarios(preset));
        }
    });
}

fn scenarios(preset: &str) {
    let adapter = by_name(preset).unwrap();
    for scenario in ["edit", "noop", "forge-edit", "secret", "huge"] {
        let r = run(adapter, scenario, None, None);
        assert_eq!(
            r.verdict,
            Verdict::Succeeded,
            "{preset} {scenario}: {:?}",
            r.summary
        );
        // OpenHands' counts come from the state file it leaves under HOME.
        assert!(r.summary.tokens.reported, "{preset} {scenario}");
        if preset != "aider" {
            assert!(r.summary.session_id.is_some(), "{preset} {scenario}");
        }
        let edited = r.dir.path().join("agent.txt").exists();
        assert_eq!(edited, scenario != "noop", "{preset} {scenario}");
    }
    let r = run(adapter, "auth", None, None);
    assert!(
        matches!(r.verdict, Verdict::AuthFailed { .. }),
        "{preset} auth: {:?} {:?}",
        r.verdict,
        r.summary
    );
    let r = run(adapter, "ratelimit", None, None);
    assert!(
        matches!(
            r.verdict,
            Verdict::RateLimited {
                reset_at: Some(_),
                ..
            }
        ),
        "{preset} ratelimit: {:?} {:?}",
        r.verdict,
        r.summary
    );
    let r = run(adapter, "crash", None, None);
    assert!(
        matches!(&r.verdict, Verdict::Failed { reason } if reason.contains("signal")),
        "{preset} crash: {:?}",
        r.verdict
    );
    let r = run(adapter, "denied", None, None);
    let denies = matches!(preset, "claude" | "gemini" | "opencode");
    assert_eq!(
        !r.summary.permission_denials.is_empty(),
        denies,
        "{preset} denied: {:?}",
        r.summary
    );
    if denies {
        assert!(matches!(r.verdict, Verdict::Failed { .. }), "{preset}");
    }
}

#[test]
fn forge_edit_and_secret_touch_what_they_say() {
    assert!(
        tools_present(),
        "the fake harnesses need python3 and git on PATH (README: what the tests need)"
    );
    for preset in presets() {
        let adapter = by_name(preset).unwrap();
        let r = run(adapter, "forge-edit", None, None);
        let forge = std::fs::read_to_string(r.dir.path().join(".forge/config.toml")).unwrap();
        assert!(forge.contains("edited by"), "{preset}");
        let r = run(adapter, "secret", None, None);
        let file = std::fs::read_to_string(r.dir.path().join("agent.txt")).unwrap();
        assert!(
            file.contains("hunter2-very-secret") && file.contains("ghp_"),
            "{preset}"
        );
        let pids = std::fs::read_to_string(r.dir.path().join(".home/pids")).unwrap();
        assert!(!pids.trim().is_empty(), "{preset}");
    }
}

#[test]
fn resume_reuses_the_session_and_records_the_feedback() {
    assert!(
        tools_present(),
        "the fake harnesses need python3 and git on PATH (README: what the tests need)"
    );
    for preset in presets() {
        let adapter = by_name(preset).unwrap();
        if !adapter.can_resume() {
            continue;
        }
        let first = run(adapter, "edit", None, None);
        let id = first.summary.session_id.clone().unwrap();
        let second = run(adapter, "edit", Some(&id), Some(first.dir));
        assert_eq!(second.verdict, Verdict::Succeeded, "{preset}");
        let same = second.summary.session_id.clone().unwrap();
        let normal = |s: &str| s.replace('-', "");
        assert_eq!(normal(&same), normal(&id), "{preset}");
        let log = std::fs::read_to_string(second.dir.path().join(".home/prompts.log")).unwrap();
        assert!(
            log.contains("(resumed) ---\nplease edit"),
            "{preset}: {log}"
        );
        if preset == "codex" {
            // Codex's usage is cumulative for the thread.
            assert_eq!(
                second.summary.tokens.output,
                2 * first.summary.tokens.output
            );
        }
    }
}

#[test]
fn a_session_resumes_only_from_the_home_that_started_it() {
    assert!(
        tools_present(),
        "the fake harnesses need python3 and git on PATH (README: what the tests need)"
    );
    for preset in presets() {
        let adapter = by_name(preset).unwrap();
        if !adapter.can_resume() {
            continue;
        }
        let first = run(adapter, "edit", None, None);
        let id = first.summary.session_id.clone().unwrap();
        // A fresh directory means a fresh HOME: the session is unknown there.
        let elsewhere = run(adapter, "edit", Some(&id), None);
        assert!(
            matches!(&elsewhere.verdict, Verdict::Failed { reason } if reason.contains("found")),
            "{preset}: {:?}",
            elsewhere.verdict
        );
    }
}
