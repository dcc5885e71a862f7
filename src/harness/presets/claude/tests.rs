//! Tests of the `claude` preset: its command, and its parser fed captured Claude Code output.

use super::super::common::testing;
use super::*;
use crate::harness::adapter::{Verdict, default_judge};

#[test]
fn argv_env_and_resume() {
    let inv = Invocation {
        prompt: s("fix the bug"),
        model: Some(s("opus")),
        resume_session: Some(s("sess-1")),
        extra_args: vec![s("--max-turns"), s("5")],
        ..Default::default()
    };
    let spec = Claude.command(&inv);
    assert_eq!(spec.program, "claude");
    assert_eq!(
        spec.args,
        [
            "-p",
            "fix the bug",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "bypassPermissions",
            "--model",
            "opus",
            "--resume",
            "sess-1",
            "--max-turns",
            "5"
        ]
    );
    assert_eq!(spec.stdin, None);
    for k in [
        "DISABLE_AUTOUPDATER",
        "CLAUDE_CODE_MAX_RETRIES",
        "IS_SANDBOX",
    ] {
        assert!(spec.env.iter().any(|(x, _)| x == k), "{k}");
    }
    let inv = Invocation {
        prompt: s("-rf"),
        command: Some(vec![s("/opt/fake-claude"), s("--debug")]),
        ..Default::default()
    };
    let spec = Claude.command(&inv);
    assert_eq!(spec.program, "/opt/fake-claude");
    assert_eq!(&spec.args[..3], ["--debug", "-p", " -rf"]);
    assert!(Claude.can_resume());
}

#[test]
fn success_with_an_edit() {
    let (events, sum) = testing::run(&Claude, "success");
    assert_eq!(
        sum.session_id.as_deref(),
        Some("6f1c2a9e-3b7d-4e2a-9c41-0d8f5e7a2b13")
    );
    assert_eq!(sum.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(sum.tool_calls, 1);
    assert!(events.contains(&Event::ToolCall {
        name: s("Write"),
        detail: s("/work/repo/agent.txt")
    }));
    assert_eq!(
        sum.tokens,
        tokens(9, 110, 27_120, 5_300),
        "the result's totals replace the running sum"
    );
    assert_eq!(sum.cost_usd, Some(0.0312475));
    assert_eq!(sum.result, Some(true));
    assert_eq!(
        sum.last_message.as_deref(),
        Some("Created agent.txt with the greeting.")
    );
    assert!(sum.errors.is_empty());
    assert_eq!(Claude.judge(&sum, Some(0)), Verdict::Succeeded);
}

#[test]
fn running_usage_counts_each_message_once() {
    let mut p = Parser::default();
    let path = testing::dir("claude").join("success.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut last = None;
    for line in text.lines().filter(|l| !l.contains("\"type\":\"result\"")) {
        for e in p.line(Stream::Stdout, line) {
            if let Event::Usage { tokens, .. } = e {
                last = Some(tokens);
            }
        }
    }
    // msg_01A (its final usage) + msg_01B.
    assert_eq!(last, Some(tokens(9, 110, 27_120, 5_300)));
}

#[test]
fn auth_error_reported_as_success_subtype() {
    let (_, sum) = testing::run(&Claude, "auth");
    assert_eq!(sum.result, Some(false));
    assert!(sum.auth_error.is_some());
    assert_eq!(sum.cost_usd, Some(0.0));
    assert!(matches!(
        default_judge(&sum, Some(0)),
        Verdict::AuthFailed { reason } if reason.contains("Invalid API key")
    ));
}

#[test]
fn rate_limit_carries_the_reset_time() {
    let (_, sum) = testing::run(&Claude, "ratelimit");
    let (message, reset) = sum.rate_limit.clone().unwrap();
    assert!(message.contains("429"), "{message}");
    assert_eq!(reset, Some(1_795_230_000));
    assert_eq!(sum.auth_error, None);
    assert!(matches!(
        Claude.judge(&sum, Some(1)),
        Verdict::RateLimited {
            reset_at: Some(1_795_230_000),
            ..
        }
    ));
}

#[test]
fn denied_tool_fails_a_run_that_exited_zero() {
    let (_, sum) = testing::run(&Claude, "denied");
    assert_eq!(sum.result, Some(true));
    assert_eq!(sum.permission_denials, ["Bash"]);
    assert_eq!(sum.cost_usd, Some(0.00512));
    assert!(matches!(
        Claude.judge(&sum, Some(0)),
        Verdict::Failed { reason } if reason.contains("Bash")
    ));
}

#[test]
fn garbage_is_ignored() {
    let (_, sum) = testing::run(&Claude, "garbage");
    assert_eq!(
        sum.session_id.as_deref(),
        Some("aaaaaaaa-1111-4222-8333-444444444444")
    );
    assert_eq!(sum.tokens, tokens(10, 5, 0, 0));
    assert_eq!(sum.cost_usd, Some(0.5));
    assert!(sum.errors.is_empty(), "{:?}", sum.errors);
    assert_eq!(Claude.judge(&sum, Some(0)), Verdict::Succeeded);
}

#[test]
fn truncated_output_without_result_fails() {
    let (_, sum) = testing::run(&Claude, "truncated");
    assert_eq!(sum.result, None);
    assert_eq!(sum.tokens, tokens(5, 7, 100, 0));
    assert!(sum.errors[0].contains("cut"), "{:?}", sum.errors);
    assert!(matches!(
        Claude.judge(&sum, Some(0)),
        Verdict::Failed { .. }
    ));
    assert!(matches!(
        Claude.judge(&sum, None),
        Verdict::Failed { reason } if reason.contains("signal")
    ));
}

#[test]
fn stderr_errors_explain_a_nonzero_exit() {
    let (_, sum) = testing::run(&Claude, "usage-error");
    assert!(matches!(
        Claude.judge(&sum, Some(1)),
        Verdict::Failed { reason } if reason.contains("requires --verbose")
    ));
}

/// Captured from Claude Code 2.1.329 by the e2e suite (e2e/run.py).
#[test]
fn real_captures() {
    let (events, sum) = testing::run(&Claude, "real-edit");
    assert_eq!(
        sum.session_id.as_deref(),
        Some("62519c45-01ca-4cfc-9ed2-0487d9c6a710")
    );
    assert_eq!(sum.model.as_deref(), Some("claude-opus-5-5"));
    assert!(
        events.iter().any(|e| matches!(e,
            Event::ToolCall { name, detail } if name == "Write" && detail.ends_with("/agent.txt")))
    );
    assert_eq!(sum.tokens, tokens(25_896, 50, 0, 0));
    assert_eq!(sum.cost_usd, Some(0.104584));
    assert_eq!(
        sum.last_message.as_deref(),
        Some("Done: I wrote agent.txt.")
    );
    assert_eq!(Claude.judge(&sum, Some(0)), Verdict::Succeeded);

    let (_, sum) = testing::run(&Claude, "real-auth");
    assert!(matches!(
        Claude.judge(&sum, Some(1)),
        Verdict::AuthFailed { reason } if reason.contains("Invalid API key")
    ));

    // Retrying 529 (overloaded) until forge's timeout: neither an auth error nor a rate
    // limit, so the timeout is the reason.
    let (_, sum) = testing::run(&Claude, "real-retry");
    assert_eq!(sum.auth_error, None);
    assert_eq!(sum.rate_limit, None);
    assert!(matches!(Claude.judge(&sum, None), Verdict::Failed { .. }));
}

#[test]
fn survives_every_prefix() {
    testing::survives_every_prefix(&Claude);
}
