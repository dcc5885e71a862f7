//! Tests of the `gemini` preset: its command, and its parser fed captured Gemini CLI output.

use super::super::common::testing;
use super::*;

#[test]
fn argv() {
    let inv = Invocation {
        prompt: s("add tests"),
        model: Some(s("gemini-2.5-pro")),
        resume_session: Some(s("7a1b")),
        ..Default::default()
    };
    let spec = Gemini.command(&inv);
    assert_eq!(spec.program, "gemini");
    assert_eq!(
        spec.args,
        [
            "-p",
            "add tests",
            "-o",
            "stream-json",
            "--approval-mode",
            "auto_edit",
            "--skip-trust",
            "--model",
            "gemini-2.5-pro",
            "--resume",
            "7a1b"
        ]
    );
    assert_eq!(spec.stdin, None);
}

#[test]
fn success_with_an_edit() {
    let (events, sum) = testing::run(&Gemini, "success");
    assert_eq!(
        sum.session_id.as_deref(),
        Some("7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    );
    assert_eq!(sum.model.as_deref(), Some("gemini-2.5-pro"));
    assert!(events.contains(&Event::Message {
        text: s("I'll create `agent.txt` with the greeting.")
    }));
    assert!(events.contains(&Event::ToolCall {
        name: s("write_file"),
        detail: s("/work/repo/agent.txt")
    }));
    assert_eq!(sum.tokens, tokens(4_800, 120, 4_000, 0));
    assert_eq!(sum.cost_usd, None, "gemini reports no cost");
    assert_eq!(
        sum.last_message.as_deref(),
        Some("Done: agent.txt now holds the greeting.")
    );
    assert_eq!(Gemini.judge(&sum, Some(0)), Verdict::Succeeded);
}

#[test]
fn auth_error_on_stderr_with_empty_stdout() {
    let (_, sum) = testing::run(&Gemini, "auth");
    assert_eq!(
        sum.session_id.as_deref(),
        Some("0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a")
    );
    assert!(
        sum.auth_error
            .as_deref()
            .unwrap()
            .contains("API key not valid")
    );
    assert!(matches!(
        Gemini.judge(&sum, Some(145)),
        Verdict::AuthFailed { .. }
    ));
}

#[test]
fn exit_codes_speak_when_the_events_do_not() {
    let empty = RunSummary::default();
    assert!(matches!(
        Gemini.judge(&empty, Some(145)),
        Verdict::AuthFailed { reason } if reason.contains("401")
    ));
    assert!(matches!(
        Gemini.judge(&empty, Some(41)),
        Verdict::AuthFailed { .. }
    ));
    assert!(matches!(
        Gemini.judge(&empty, Some(173)),
        Verdict::RateLimited { .. }
    ));
    assert!(matches!(
        Gemini.judge(&empty, Some(53)),
        Verdict::Failed { reason } if reason.contains("turn limit")
    ));
    assert!(matches!(Gemini.judge(&empty, None), Verdict::Failed { .. }));
}

#[test]
fn quota_error_with_retry_delay() {
    let (_, sum) = testing::run(&Gemini, "ratelimit");
    let (message, reset) = sum.rate_limit.clone().unwrap();
    assert!(message.contains("quota"), "{message}");
    // 01:40:09 plus 41.5 s, rounded up.
    assert_eq!(reset, Some(1_795_225_209 + 42));
    assert_eq!(sum.result, Some(false));
    assert!(matches!(
        Gemini.judge(&sum, Some(1)),
        Verdict::RateLimited { .. }
    ));
}

#[test]
fn denied_tool() {
    let (_, sum) = testing::run(&Gemini, "denied");
    assert_eq!(sum.permission_denials, ["run_shell_command"]);
    assert!(matches!(
        Gemini.judge(&sum, Some(0)),
        Verdict::Failed { reason } if reason.contains("run_shell_command")
    ));
}

#[test]
fn garbage_is_ignored() {
    let (_, sum) = testing::run(&Gemini, "garbage");
    assert_eq!(sum.model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(sum.tool_calls, 1);
    assert_eq!(sum.tokens, tokens(50, 5, 0, 0));
    assert!(sum.errors.is_empty(), "{:?}", sum.errors);
    assert_eq!(Gemini.judge(&sum, Some(0)), Verdict::Succeeded);
}

/// Captured from Gemini CLI 0.61.0 by the e2e suite (e2e/run.py).
#[test]
fn real_captures() {
    let (events, sum) = testing::run(&Gemini, "real-edit");
    assert_eq!(
        sum.session_id.as_deref(),
        Some("8ffab5a1-e3d9-4bd8-97ec-daae51912b0e")
    );
    assert_eq!(
        sum.model.as_deref(),
        Some("gemini-3.8-flash"),
        "the model that answered, not `auto`"
    );
    assert!(events.iter().any(|e| matches!(e,
            Event::ToolCall { name, detail } if name == "write_file" && detail.ends_with("/agent.txt"))));
    assert_eq!(sum.tokens, tokens(23_817, 75, 0, 0));
    assert_eq!(sum.cost_usd, None);
    assert_eq!(Gemini.judge(&sum, Some(0)), Verdict::Succeeded);

    let (_, sum) = testing::run(&Gemini, "real-auth");
    assert_eq!(
        Gemini.judge(&sum, Some(145)),
        Verdict::AuthFailed {
            reason: s("API key not valid. Please pass a valid API key. (HTTP 401 UNAUTHENTICATED)")
        }
    );

    // "Attempt n failed with status 500. Retrying with backoff..." on stderr.
    let (_, sum) = testing::run(&Gemini, "real-retry");
    assert_eq!(sum.auth_error, None);
    assert_eq!(sum.rate_limit, None);
    assert!(
        sum.errors.iter().all(|e| e.contains("HTTP 500")),
        "{:?}",
        sum.errors
    );
}

#[test]
fn stderr_errors_do_not_overrule_a_successful_result() {
    let mut p = Gemini.parser(&Clock::default());
    let mut sum = RunSummary::default();
    let mut feed = |stream, line: &str| {
        for e in p.line(stream, line) {
            sum.apply(&e);
        }
    };
    feed(
        Stream::Stdout,
        r#"{"type":"init","session_id":"s1","model":"auto"}"#,
    );
    feed(
        Stream::Stderr,
        r#"[Routing] NumericalClassifierStrategy failed: Error: Failed to generate content: {"error":{"code":401,"message":"API key not valid.","status":"UNAUTHENTICATED"}}"#,
    );
    feed(
        Stream::Stdout,
        r#"{"type":"result","status":"success","stats":{"input_tokens":10,"output_tokens":2}}"#,
    );
    for e in p.finish() {
        sum.apply(&e);
    }
    assert_eq!(sum.auth_error, None);
    assert_eq!(Gemini.judge(&sum, Some(0)), Verdict::Succeeded);
    // Without a result, the same line is the reason.
    let mut p = Gemini.parser(&Clock::default());
    let mut sum = RunSummary::default();
    for e in p.line(
            Stream::Stderr,
            r#"Error when talking to Gemini API Full report available at: /tmp/x.json _ApiError: {"error":{"code":403,"message":"Permission denied.","status":"PERMISSION_DENIED"}}"#,
        ) {
            sum.apply(&e);
        }
    for e in p.finish() {
        sum.apply(&e);
    }
    assert_eq!(
        sum.auth_error.as_deref(),
        Some("Permission denied. (HTTP 403 PERMISSION_DENIED)")
    );
}

#[test]
fn survives_every_prefix() {
    testing::survives_every_prefix(&Gemini);
}
