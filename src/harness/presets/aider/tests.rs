//! Tests of the `aider` preset: its command, and its parser fed captured aider output.

use super::super::common::testing;
use super::*;

#[test]
fn argv_has_no_resume() {
    let inv = Invocation {
        prompt: s("-fix"),
        model: Some(s("openai/qwen")),
        resume_session: Some(s("ignored")),
        ..Default::default()
    };
    let spec = Aider.command(&inv);
    assert_eq!(spec.program, "aider");
    assert_eq!(
        spec.args,
        [
            "--message",
            " -fix",
            "--yes-always",
            "--no-auto-commits",
            "--no-check-update",
            "--analytics-disable",
            "--no-pretty",
            "--no-gitignore",
            "--no-show-model-warnings",
            "--chat-history-file",
            "/dev/null",
            "--input-history-file",
            "/dev/null",
            "--model",
            "openai/qwen"
        ]
    );
    assert!(!Aider.can_resume());
    assert!(spec.env.contains(&(s("PYTHONUNBUFFERED"), s("1"))));
}

#[test]
fn success_with_an_edit() {
    let (events, sum) = testing::run(&Aider, "success");
    assert_eq!(sum.model.as_deref(), Some("openai/qwen2.5-coder-32b"));
    assert_eq!(sum.session_id, None, "aider has no sessions");
    assert_eq!(sum.tokens, tokens(2_300, 45, 0, 0));
    assert_eq!(sum.cost_usd, Some(0.0071));
    assert!(events.contains(&Event::ToolCall {
        name: s("edit"),
        detail: s("agent.txt")
    }));
    let msg = sum.last_message.unwrap();
    assert!(
        msg.starts_with("I'll create") && msg.ends_with("```"),
        "{msg}"
    );
    assert!(sum.errors.is_empty());
    assert_eq!(
        Aider.judge(&events_summary(&events), Some(0)),
        Verdict::Succeeded
    );
}

fn events_summary(events: &[Event]) -> RunSummary {
    let mut s = RunSummary::default();
    events.iter().for_each(|e| s.apply(e));
    s
}

#[test]
fn two_calls_add_up_and_the_session_cost_wins() {
    let (_, sum) = testing::run(&Aider, "twocalls");
    assert_eq!(sum.model.as_deref(), Some("anthropic/claude-sonnet-4-5"));
    assert_eq!(
        sum.tokens,
        tokens(12_000 - 3_100 + 14_000 - 12_000, 405, 14_000, 1_100)
    );
    assert_eq!(sum.cost_usd, Some(0.06));
    assert_eq!(sum.tool_calls, 2);
    assert_eq!(Aider.judge(&sum, Some(0)), Verdict::Succeeded);
}

#[test]
fn auth_error_with_exit_zero() {
    let (_, sum) = testing::run(&Aider, "auth");
    assert!(sum.auth_error.is_some());
    assert!(matches!(
        Aider.judge(&sum, Some(0)),
        Verdict::AuthFailed { .. }
    ));
}

#[test]
fn rate_limit_keeps_the_delay_from_the_error_line() {
    let (_, sum) = testing::run(&Aider, "ratelimit");
    let (_, reset) = sum.rate_limit.clone().unwrap();
    let reset = reset.unwrap();
    assert!(
        (testing::NOW + 431..=testing::NOW + 432).contains(&reset),
        "{reset}"
    );
    assert!(matches!(
        Aider.judge(&sum, Some(0)),
        Verdict::RateLimited { .. }
    ));
}

#[test]
fn noop_without_cost() {
    let (_, sum) = testing::run(&Aider, "noop");
    assert_eq!(sum.tokens, tokens(1_900, 14, 0, 0));
    assert_eq!(sum.cost_usd, None);
    assert_eq!(
        sum.last_message.as_deref(),
        Some("Nothing needs to change: the greeting is already there.")
    );
    assert_eq!(Aider.judge(&sum, Some(0)), Verdict::Succeeded);
}

#[test]
fn no_model_call_is_a_failure() {
    let (_, sum) = testing::run(&Aider, "nocall");
    assert!(matches!(Aider.judge(&sum, Some(0)), Verdict::Failed { .. }));
}

#[test]
fn garbage_is_ignored() {
    let (_, sum) = testing::run(&Aider, "garbage");
    assert_eq!(sum.cost_usd, None);
    assert!(sum.errors.is_empty());
    assert!(sum.last_message.unwrap().ends_with("Some reply text"));
}

#[test]
fn counts() {
    assert_eq!(count("2.3k"), Some(2_300));
    assert_eq!(count("12k"), Some(12_000));
    assert_eq!(count("1.5M"), Some(1_500_000));
    assert_eq!(count("45"), Some(45));
    assert_eq!(count("k"), None);
    assert_eq!(count(""), None);
    assert_eq!(count("99999999999999999999k"), None);
}

/// Captured from aider 0.86.2 by the e2e suite (e2e/run.py).
#[test]
fn real_captures() {
    let (events, sum) = testing::run(&Aider, "real-edit");
    assert_eq!(sum.model.as_deref(), Some("openai/e2e-model"));
    assert_eq!(sum.tokens, tokens(1_000, 23, 0, 0));
    assert_eq!(sum.cost_usd, Some(0.0011));
    assert!(events.contains(&Event::ToolCall {
        name: s("edit"),
        detail: s("agent.txt")
    }));
    let msg = sum.last_message.clone().unwrap();
    assert!(msg.starts_with("I will create agent.txt."), "{msg}");
    assert_eq!(Aider.judge(&sum, Some(0)), Verdict::Succeeded);

    // litellm's message, wrapped over three lines, read whole; exit 0.
    let (_, sum) = testing::run(&Aider, "real-auth");
    assert_eq!(
        Aider.judge(&sum, Some(0)),
        Verdict::AuthFailed {
            reason: s(
                "litellm.AuthenticationError: AuthenticationError: OpenAIException - \
                    Incorrect API key provided: sk-e2e***. You can find your API key at \
                    https://platform.openai.com/account/api-keys."
            )
        }
    );
    assert_eq!(
        sum.last_message, None,
        "aider's own lines are not the model's"
    );

    let (_, sum) = testing::run(&Aider, "real-retry");
    assert_eq!(sum.auth_error, None);
    assert_eq!(sum.rate_limit, None);
    assert_eq!(
        sum.errors[0],
        "litellm.InternalServerError: InternalServerError: OpenAIException - The server \
             had an error while processing your request."
    );
}

#[test]
fn survives_every_prefix() {
    testing::survives_every_prefix(&Aider);
}
