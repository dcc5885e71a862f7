//! Tests of the `openhands` preset: its command, and its parser fed captured OpenHands output.

use super::super::common::testing;
use super::*;
use crate::harness::adapter::{RunSummary, Verdict};

#[test]
fn argv_and_model_in_the_environment() {
    let inv = Invocation {
        prompt: s("add a test"),
        model: Some(s("openai/qwen")),
        resume_session: Some(s("3f2a9c40-7b18-4c6d-9e51-8a2b1d4f0c73")),
        ..Default::default()
    };
    let spec = OpenHands.command(&inv);
    assert_eq!(spec.program, "openhands");
    assert_eq!(
        spec.args,
        [
            "--headless",
            "--json",
            "--override-with-envs",
            "-t",
            "add a test",
            "--resume",
            "3f2a9c40-7b18-4c6d-9e51-8a2b1d4f0c73"
        ]
    );
    assert!(spec.env.contains(&(s("LLM_MODEL"), s("openai/qwen"))));
    assert!(OpenHands.can_resume());
}

#[test]
fn success_pretty_printed() {
    let (events, sum) = testing::run(&OpenHands, "success");
    check_success(&events, &sum);
    assert_eq!(
        sum.session_id.as_deref(),
        Some("3f2a9c40-7b18-4c6d-9e51-8a2b1d4f0c73"),
        "the --resume hint wins over the bare hex id"
    );
}

#[test]
fn success_single_line() {
    let (events, sum) = testing::run(&OpenHands, "compact");
    check_success(&events, &sum);
    assert_eq!(
        sum.session_id.as_deref(),
        Some("3f2a9c407b184c6d9e518a2b1d4f0c73")
    );
}

fn check_success(events: &[Event], sum: &RunSummary) {
    assert!(events.contains(&Event::ToolCall {
        name: s("file_editor"),
        detail: s("/work/repo/agent.txt")
    }));
    assert_eq!(sum.tool_calls, 1);
    assert_eq!(sum.result, Some(true));
    assert_eq!(
        sum.result_text.as_deref(),
        Some("I created agent.txt with the greeting.")
    );
    assert!(!sum.tokens.reported, "tokens are unknown, not zero");
    assert_eq!(sum.cost_usd, None);
    assert_eq!(OpenHands.judge(sum, Some(0)), Verdict::Succeeded);
}

#[test]
fn auth_error_with_exit_zero() {
    let (_, sum) = testing::run(&OpenHands, "auth");
    assert!(sum.auth_error.as_deref().unwrap().contains("401"));
    assert_eq!(sum.result, Some(false));
    assert_eq!(
        sum.session_id.as_deref(),
        Some("0a1b2c3d4e5f40718293a4b5c6d7e8f9")
    );
    assert!(matches!(
        OpenHands.judge(&sum, Some(0)),
        Verdict::AuthFailed { .. }
    ));
}

#[test]
fn rate_limit_with_exit_zero() {
    let (_, sum) = testing::run(&OpenHands, "ratelimit");
    let (_, reset) = sum.rate_limit.clone().unwrap();
    assert_eq!(reset, Some(testing::NOW + 20));
    assert!(matches!(
        OpenHands.judge(&sum, Some(0)),
        Verdict::RateLimited { .. }
    ));
}

#[test]
fn garbage_is_ignored() {
    let (_, sum) = testing::run(&OpenHands, "garbage");
    assert_eq!(sum.session_id, None);
    assert_eq!(sum.tool_calls, 1);
    assert_eq!(sum.last_message.as_deref(), Some("All done."));
    assert_eq!(sum.tokens, tokens(600, 50, 400, 0));
    assert_eq!(sum.cost_usd, Some(0.0123));
    assert!(sum.errors.is_empty(), "{:?}", sum.errors);
    assert_eq!(OpenHands.judge(&sum, Some(0)), Verdict::Succeeded);
}

#[test]
fn no_agent_event_is_a_failure() {
    let mut p = OpenHands.parser(&Clock::default());
    p.line(Stream::Stdout, "Initializing agent...");
    p.line(Stream::Stdout, "--JSON Event--");
    p.line(Stream::Stdout, "{");
    p.line(Stream::Stdout, "  \"kind\": \"MessageEvent\",");
    let events = p.finish();
    assert!(matches!(&events[..], [Event::Error { message }] if message.contains("cut")));
}

/// Captured from OpenHands CLI 1.16.0 by the e2e suite (e2e/run.py): one event per line,
/// no `finish` action (the last agent message ends the run), tokens only in the state file.
#[test]
fn real_captures() {
    let (events, sum) = testing::run(&OpenHands, "real-edit");
    assert_eq!(
        sum.session_id.as_deref(),
        Some("72e1e27b-26d4-4a03-a2df-772c7af730b8")
    );
    assert_eq!(sum.model.as_deref(), Some("openai/e2e-model"));
    assert!(events.iter().any(|e| matches!(e,
            Event::ToolCall { name, detail } if name == "file_editor" && detail.ends_with("/agent.txt"))));
    assert_eq!(
        sum.last_message.as_deref(),
        Some("Done: I wrote agent.txt.")
    );
    assert!(
        !sum.tokens.reported,
        "without its HOME the counts are unknown"
    );
    assert_eq!(OpenHands.judge(&sum, Some(0)), Verdict::Succeeded);

    let home = tempfile::tempdir().unwrap();
    let conv = home
        .path()
        .join(".openhands/conversations/72e1e27b26d44a03a2df772c7af730b8");
    std::fs::create_dir_all(&conv).unwrap();
    std::fs::copy(
        testing::dir("openhands").join("real-edit.base_state.json"),
        conv.join("base_state.json"),
    )
    .unwrap();
    let (_, sum) = testing::run_in(&OpenHands, "real-edit", Some(home.path()));
    assert_eq!(sum.tokens, tokens(17_971, 50, 0, 0));
    assert_eq!(
        sum.cost_usd, None,
        "litellm knows no price: 0.0 is not a cost"
    );
    assert_eq!(OpenHands.judge(&sum, Some(0)), Verdict::Succeeded);

    let (_, sum) = testing::run(&OpenHands, "real-auth");
    assert!(matches!(
        OpenHands.judge(&sum, Some(0)),
        Verdict::AuthFailed { reason } if reason.contains("Incorrect API key")
    ));

    let (_, sum) = testing::run(&OpenHands, "real-retry");
    assert_eq!(sum.auth_error, None);
    assert_eq!(sum.rate_limit, None);
}

#[test]
fn survives_every_prefix() {
    testing::survives_every_prefix(&OpenHands);
}
