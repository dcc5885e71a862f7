//! `opencode`: `opencode run --format json`, the prompt last. Permissions come from
//! opencode's own config (edits are allowed by default; anything set to `ask` is rejected in
//! headless runs and shows up here as a permission denial).
//!
//! JSONL events, each with `sessionID`: `step_start`, `text`, `tool_use`, `step_finish` (one
//! per model call, with that call's `tokens` and `cost`: they add up), `error`. There is no
//! final verdict: the run is ok when a step finished and no error came.

use std::collections::HashSet;

use serde_json::Value;

use super::common::{
    JsonLines, Line, at, classify_error, ended_early, f64_at, keep_stderr, parse_iso_secs,
    prompt_arg, reset_from_text, s, spec, status_at, stderr_text_event, str_at, tokens,
    tool_detail, u64_at,
};
use crate::clock::Clock;
use crate::harness::adapter::{Adapter, CommandSpec, Event, Invocation, OutputParser, Stream};

pub struct OpenCode;

const ENV: &[(&str, &str)] = &[("OPENCODE_DISABLE_AUTOUPDATE", "1")];

impl Adapter for OpenCode {
    fn name(&self) -> &'static str {
        "opencode"
    }

    fn default_program(&self) -> &'static str {
        "opencode"
    }

    fn api_hosts(&self) -> &'static [&'static str] {
        &[
            "api.openai.com:443",
            "api.anthropic.com:443",
            "models.dev:443",
        ]
    }

    fn command(&self, inv: &Invocation) -> CommandSpec {
        let mut args = vec![s("run"), s("--format"), s("json")];
        if let Some(model) = &inv.model {
            args.extend([s("--model"), model.clone()]);
        }
        if let Some(id) = &inv.resume_session {
            args.extend([s("-s"), id.clone()]);
        }
        let mut spec = spec(inv, "opencode", args, None, ENV);
        // `run [message..]` is variadic: the prompt goes after every option.
        spec.args.push(prompt_arg(&inv.prompt));
        spec
    }

    fn parser(&self, clock: &Clock) -> Box<dyn OutputParser> {
        Box::new(Parser {
            clock: clock.clone(),
            ..Parser::default()
        })
    }

    fn can_resume(&self) -> bool {
        true
    }
}

#[derive(Default)]
struct Parser {
    /// Dates what the harness says relative to now (a rate limit's reset).
    clock: Clock,
    json: JsonLines,
    session: Option<String>,
    calls: HashSet<String>,
    last_text: String,
    steps_finished: u32,
    /// The last error event's message: the run failed.
    failed: Option<String>,
    saw_error: bool,
    last_stderr: Option<String>,
}

impl Parser {
    fn json(&mut self, v: &Value, out: &mut Vec<Event>) {
        let session = str_at(v, &["sessionID"]).or(str_at(v, &["part", "sessionID"]));
        if let Some(id) = session.filter(|id| !id.is_empty())
            && self.session.as_deref() != Some(id)
        {
            self.session = Some(id.to_owned());
            out.push(Event::Session { id: id.to_owned() });
        }
        let now = u64_at(v, &["timestamp"])
            .map(|ms| (ms / 1000) as i64)
            .unwrap_or_else(|| self.clock.now_secs());
        let part = v.get("part").filter(|p| p.is_object());
        match (str_at(v, &["type"]).unwrap_or_default(), part) {
            ("text", Some(part)) => {
                if let Some(text) = str_at(part, &["text"]).filter(|t| !t.trim().is_empty()) {
                    self.last_text = text.to_owned();
                    out.push(Event::Message {
                        text: text.to_owned(),
                    });
                }
            }
            ("tool_use", Some(part)) => self.tool(part, out),
            ("step_finish", Some(part)) => {
                self.steps_finished += 1;
                if let Some(t) = part.get("tokens").filter(|t| t.is_object()) {
                    let n = |p: &[&str]| u64_at(t, p).unwrap_or(0);
                    out.push(Event::Usage {
                        tokens: tokens(
                            n(&["input"]),
                            n(&["output"]) + n(&["reasoning"]),
                            n(&["cache", "read"]),
                            n(&["cache", "write"]),
                        ),
                        cumulative: false,
                    });
                }
                if let Some(usd) = f64_at(part, &["cost"]) {
                    out.push(Event::Cost {
                        usd,
                        cumulative: false,
                    });
                }
                if str_at(part, &["reason"]) == Some("error") {
                    self.fail(s("the model call failed"), None, None, now, out);
                }
            }
            ("error", _) => {
                let err = v.get("error").unwrap_or(&Value::Null);
                let name = str_at(err, &["name"]).unwrap_or_default();
                let message = str_at(err, &["data", "message"])
                    .or(str_at(err, &["message"]))
                    .or(err.as_str())
                    .unwrap_or(if name.is_empty() {
                        "opencode error"
                    } else {
                        name
                    })
                    .to_owned();
                let mut status = status_at(err, &["data", "statusCode"]);
                if status.is_none() && name.contains("Auth") {
                    status = Some(401);
                }
                let reset =
                    at(err, &["data", "responseHeaders"]).and_then(|h| reset_from_headers(h, now));
                self.fail(message, status, reset, now, out);
            }
            _ => {}
        }
    }

    fn tool(&mut self, part: &Value, out: &mut Vec<Event>) {
        let name = str_at(part, &["tool"]).unwrap_or("tool").to_owned();
        let fresh = match str_at(part, &["callID"]).or(str_at(part, &["id"])) {
            Some(id) => self.calls.insert(id.to_owned()),
            None => true,
        };
        if !fresh {
            return;
        }
        out.push(Event::ToolCall {
            name: name.clone(),
            detail: tool_detail(at(part, &["state", "input"])),
        });
        if str_at(part, &["state", "status"]) == Some("error") {
            let error = str_at(part, &["state", "error"])
                .unwrap_or_default()
                .to_lowercase();
            if error.contains("rejected permission") || error.contains("permission denied by") {
                out.push(Event::PermissionDenied { tool: name });
            }
        }
    }

    fn fail(
        &mut self,
        message: String,
        status: Option<u16>,
        reset: Option<i64>,
        now: i64,
        out: &mut Vec<Event>,
    ) {
        self.saw_error = true;
        let event = match classify_error(&message, status, now) {
            Event::RateLimit { message, reset_at } => Event::RateLimit {
                message,
                reset_at: reset.or(reset_at),
            },
            e => e,
        };
        self.failed = Some(message);
        out.push(event);
    }
}

/// A rate limit's reset from response headers: `retry-after` (seconds), `retry-after-ms`,
/// or a `…-reset` header holding an RFC 3339 instant (Anthropic) or a delay (`6m0s`, OpenAI).
fn reset_from_headers(headers: &Value, now: i64) -> Option<i64> {
    let headers = headers.as_object()?;
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
    };
    if let Some(v) = get("retry-after-ms")
        && let Ok(ms) = v.trim().parse::<f64>()
    {
        return Some(now + (ms / 1000.0).ceil() as i64);
    }
    if let Some(v) = get("retry-after")
        && let Ok(secs) = v.trim().parse::<f64>()
    {
        return Some(now + secs.ceil() as i64);
    }
    headers
        .iter()
        .filter(|(k, _)| {
            k.to_ascii_lowercase().ends_with("-reset") || k.to_ascii_lowercase().contains("-reset-")
        })
        .filter_map(|(_, v)| v.as_str())
        .find_map(|v| parse_iso_secs(v).or_else(|| reset_from_text(&format!("retry in {v}"), now)))
}

impl OutputParser for Parser {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Event> {
        let mut out = Vec::new();
        match (self.json.push(line), stream) {
            (Line::Json(v), _) => self.json(&v, &mut out),
            (Line::Text(t), Stream::Stderr) => {
                keep_stderr(&mut self.last_stderr, &t);
                if let Some(e) = stderr_text_event(&t, self.clock.now_secs()) {
                    self.saw_error = true;
                    out.push(e);
                }
            }
            _ => {}
        }
        out
    }

    fn finish(&mut self) -> Vec<Event> {
        self.json.finish();
        if let Some(message) = &self.failed {
            return vec![Event::Result {
                ok: false,
                text: message.clone(),
            }];
        }
        if self.steps_finished > 0 {
            return vec![Event::Result {
                ok: true,
                text: self.last_text.clone(),
            }];
        }
        if self.saw_error {
            return Vec::new();
        }
        vec![ended_early(
            "opencode finished no step",
            self.json.truncated.as_deref(),
            self.last_stderr.as_deref(),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing;
    use super::*;
    use crate::harness::adapter::Verdict;

    #[test]
    fn argv_prompt_last() {
        let inv = Invocation {
            prompt: s("add a test"),
            model: Some(s("anthropic/claude-sonnet-4-5")),
            resume_session: Some(s("ses_1")),
            extra_args: vec![s("--agent"), s("build")],
            ..Default::default()
        };
        let spec = OpenCode.command(&inv);
        assert_eq!(spec.program, "opencode");
        assert_eq!(
            spec.args,
            [
                "run",
                "--format",
                "json",
                "--model",
                "anthropic/claude-sonnet-4-5",
                "-s",
                "ses_1",
                "--agent",
                "build",
                "add a test"
            ]
        );
        assert!(OpenCode.can_resume());
    }

    #[test]
    fn success_sums_the_steps() {
        let (events, sum) = testing::run(&OpenCode, "success");
        assert_eq!(
            sum.session_id.as_deref(),
            Some("ses_4a8b2c1d9ffeAbCdEfGh1234")
        );
        assert_eq!(sum.tokens, tokens(1_500, 110, 19_100, 0));
        assert!((sum.cost_usd.unwrap() - 0.003).abs() < 1e-12);
        assert!(events.contains(&Event::ToolCall {
            name: s("write"),
            detail: s("/work/repo/agent.txt")
        }));
        assert_eq!(sum.result, Some(true));
        assert_eq!(
            sum.result_text.as_deref(),
            Some("Created agent.txt with the greeting.")
        );
        assert_eq!(OpenCode.judge(&sum, Some(0)), Verdict::Succeeded);
    }

    #[test]
    fn auth_error() {
        let (_, sum) = testing::run(&OpenCode, "auth");
        assert_eq!(
            sum.session_id.as_deref(),
            Some("ses_auth0000000000000000001")
        );
        assert!(
            sum.auth_error
                .as_deref()
                .unwrap()
                .contains("Incorrect API key")
        );
        assert_eq!(sum.result, Some(false));
        assert_eq!(sum.cost_usd, None);
        assert!(matches!(
            OpenCode.judge(&sum, Some(1)),
            Verdict::AuthFailed { .. }
        ));
    }

    #[test]
    fn rate_limit_reset_from_retry_after() {
        let (_, sum) = testing::run(&OpenCode, "ratelimit");
        assert_eq!(
            sum.rate_limit,
            Some((
                s("Rate limit reached for requests"),
                Some(1_795_225_200 + 120)
            ))
        );
        assert!(matches!(
            OpenCode.judge(&sum, Some(1)),
            Verdict::RateLimited {
                reset_at: Some(1_795_225_320),
                ..
            }
        ));
    }

    #[test]
    fn rejected_permission_is_a_denial() {
        let (_, sum) = testing::run(&OpenCode, "denied");
        assert_eq!(sum.permission_denials, ["bash"]);
        assert_eq!(sum.result, Some(true));
        assert_eq!(sum.cost_usd, Some(0.0));
        assert!(matches!(
            OpenCode.judge(&sum, Some(0)),
            Verdict::Failed { reason } if reason.contains("bash")
        ));
    }

    #[test]
    fn headers() {
        let h: Value = serde_json::from_str(
            r#"{"anthropic-ratelimit-requests-reset":"2026-11-21T02:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(reset_from_headers(&h, 0), Some(1_795_226_400));
        let h: Value = serde_json::from_str(r#"{"x-ratelimit-reset-requests":"6m0s"}"#).unwrap();
        assert_eq!(reset_from_headers(&h, 100), Some(460));
        let h: Value = serde_json::from_str(r#"{"Retry-After-Ms":"1500"}"#).unwrap();
        assert_eq!(reset_from_headers(&h, 100), Some(102));
        let h: Value = serde_json::from_str(r#"{"content-type":"x"}"#).unwrap();
        assert_eq!(reset_from_headers(&h, 100), None);
    }

    #[test]
    fn garbage_is_ignored() {
        let (_, sum) = testing::run(&OpenCode, "garbage");
        assert_eq!(
            sum.session_id.as_deref(),
            Some("ses_garbage00000000000000001")
        );
        assert_eq!(sum.tokens, tokens(10, 2, 0, 0));
        assert_eq!(sum.cost_usd, Some(0.001));
        assert_eq!(sum.tool_calls, 1);
        assert!(sum.errors.is_empty(), "{:?}", sum.errors);
        assert_eq!(OpenCode.judge(&sum, Some(0)), Verdict::Succeeded);
    }

    #[test]
    fn nothing_finished_is_a_failure() {
        let mut p = OpenCode.parser(&Clock::default());
        p.line(
            Stream::Stdout,
            r#"{"type":"step_start","sessionID":"ses_x"}"#,
        );
        p.line(
            Stream::Stdout,
            r#"{"type":"text","sessionID":"ses_x","part":{"te"#,
        );
        let events = p.finish();
        assert!(matches!(&events[..], [Event::Error { message }] if message.contains("cut")));
    }

    /// Captured from opencode 1.18.33 by the e2e suite (e2e/run.py). (While opencode retries
    /// HTTP 500 it prints nothing at all.)
    #[test]
    fn real_captures() {
        let (events, sum) = testing::run(&OpenCode, "real-edit");
        assert_eq!(
            sum.session_id.as_deref(),
            Some("ses_e03f79d45ffePlWqhvPZN1N2rD")
        );
        assert!(
            events.iter().any(|e| matches!(e,
            Event::ToolCall { name, detail } if name == "write" && detail.ends_with("/agent.txt")))
        );
        assert_eq!(sum.tokens, tokens(15_847, 50, 0, 0));
        assert!((sum.cost_usd.unwrap() - 0.015947).abs() < 1e-9);
        assert_eq!(OpenCode.judge(&sum, Some(0)), Verdict::Succeeded);

        let (_, sum) = testing::run(&OpenCode, "real-auth");
        assert!(matches!(
            OpenCode.judge(&sum, Some(1)),
            Verdict::AuthFailed { reason } if reason.contains("Incorrect API key")
        ));
    }

    #[test]
    fn survives_every_prefix() {
        testing::survives_every_prefix(&OpenCode);
    }
}
