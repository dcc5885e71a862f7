//! `claude`: Claude Code in print mode with `--output-format stream-json --verbose`.
//!
//! Permission mode `bypassPermissions` with `IS_SANDBOX=1`, but only while forge's sandbox
//! is enforced around it (see [`Adapter::contain`]); UNSANDBOXED it runs in `acceptEdits`
//! mode and claims no sandbox. forge's worktrees live under the git common directory
//! (`.git/forge/worktrees/<step>`), and Claude Code treats every path under a `.git` directory
//! as a sensitive file (so UNSANDBOXED its worktrees go beside the repository, see
//! [`Adapter::edits_below_git`]): in `acceptEdits` mode — and with `--allowedTools "Write(**)"`, allow
//! rules or a PreToolUse hook that allows — its Write and Edit tools are denied there
//! (`decision_reason_type: safetyCheck`), the run "succeeds" with nothing done and the denial in
//! `permission_denials`. Only bypass mode edits in a forge worktree (checked with Claude Code
//! 2.1.329). The run is contained the way forge contains every harness — its own worktree and
//! branch, an allowlisted environment, its own HOME, the gates and an approval before anything
//! merges — and `IS_SANDBOX=1` lets bypass mode run as root. Narrow it per harness with config
//! `args` (`--disallowedTools Bash WebFetch`); denials that still happen fail the run.
//!
//! The result line is the verdict (`ok = !is_error`; API errors come as `subtype:"success"`
//! with `is_error:true` and `api_error_status`). Usage and cost on it are totals for the run.

use std::collections::HashMap;

use serde_json::Value;

use super::common::{
    JsonLines, Line, classify_error, ended_early, f64_at, keep_stderr, prompt_arg, s, spec,
    status_at, stderr_text_event, str_at, tokens, tool_detail, u64_at,
};
use crate::clock::Clock;
use crate::harness::adapter::{
    Adapter, CommandSpec, Event, Invocation, OutputParser, Stream, Tokens,
};

pub struct Claude;

/// Quiet, bounded and able to run as root. `CLAUDE_CODE_MAX_RETRIES` stops Claude from
/// spending five minutes retrying a 401.
const ENV: &[(&str, &str)] = &[
    ("DISABLE_AUTOUPDATER", "1"),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ("DISABLE_TELEMETRY", "1"),
    ("DISABLE_ERROR_REPORTING", "1"),
    ("CLAUDE_CODE_MAX_RETRIES", "3"),
    ("IS_SANDBOX", "1"),
];

impl Adapter for Claude {
    fn name(&self) -> &'static str {
        "claude"
    }

    fn default_program(&self) -> &'static str {
        "claude"
    }

    fn command(&self, inv: &Invocation) -> CommandSpec {
        let mut args = vec![
            s("-p"),
            prompt_arg(&inv.prompt),
            s("--output-format"),
            s("stream-json"),
            s("--verbose"),
            s("--permission-mode"),
            s("bypassPermissions"),
        ];
        if let Some(model) = &inv.model {
            args.extend([s("--model"), model.clone()]);
        }
        if let Some(id) = &inv.resume_session {
            args.extend([s("--resume"), id.clone()]);
        }
        spec(inv, "claude", args, None, ENV)
    }

    fn parser(&self, clock: &Clock) -> Box<dyn OutputParser> {
        Box::new(Parser {
            clock: clock.clone(),
            ..Parser::default()
        })
    }

    fn api_hosts(&self) -> &'static [&'static str] {
        &["api.anthropic.com:443"]
    }

    /// Bypass mode and `IS_SANDBOX=1` say a sandbox contains Claude: true only when forge's
    /// is enforced.
    fn contain(&self, spec: &mut CommandSpec, sandboxed: bool) {
        if sandboxed {
            return;
        }
        for arg in &mut spec.args {
            if arg == "bypassPermissions" {
                *arg = s("acceptEdits");
            }
        }
        spec.env.retain(|(k, _)| k != "IS_SANDBOX");
    }

    /// Below a `.git` directory only bypass mode edits, and bypass needs the sandbox.
    fn edits_below_git(&self, sandboxed: bool) -> bool {
        sandboxed
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
    model: Option<String>,
    /// Usage per API message id: stream-json repeats a message's usage on every content
    /// block, so usage is keyed by message and summed across messages.
    per_message: HashMap<String, Tokens>,
    running: Tokens,
    /// Reset time from a `rate_limit_event`, for the rate-limit errors that follow it.
    reset_at: Option<i64>,
    saw_result: bool,
    saw_error: bool,
    last_stderr: Option<String>,
}

impl Parser {
    fn session(&mut self, v: &Value, out: &mut Vec<Event>) {
        if let Some(id) = str_at(v, &["session_id"]).filter(|id| !id.is_empty())
            && self.session.as_deref() != Some(id)
        {
            self.session = Some(id.to_owned());
            out.push(Event::Session { id: id.to_owned() });
        }
    }

    fn model(&mut self, name: Option<&str>, out: &mut Vec<Event>) {
        if let Some(name) = name.filter(|n| !n.is_empty() && !n.starts_with('<'))
            && self.model.as_deref() != Some(name)
        {
            self.model = Some(name.to_owned());
            out.push(Event::Model {
                name: name.to_owned(),
            });
        }
    }

    fn error(&mut self, event: Event, out: &mut Vec<Event>) {
        let event = match event {
            Event::RateLimit {
                message,
                reset_at: None,
            } => Event::RateLimit {
                message,
                reset_at: self.reset_at,
            },
            other => other,
        };
        self.saw_error = true;
        out.push(event);
    }

    fn json(&mut self, v: &Value, out: &mut Vec<Event>) {
        self.session(v, out);
        match str_at(v, &["type"]).unwrap_or_default() {
            "system" => self.system(v, out),
            "assistant" => self.assistant(v, out),
            "user" => tool_results(v, out),
            "rate_limit_event" => {
                let info = v.get("rate_limit_info").unwrap_or(v);
                if let Some(at) = u64_at(info, &["resetsAt"]) {
                    self.reset_at = i64::try_from(at).ok();
                }
                if str_at(info, &["status"]) == Some("rejected") {
                    let kind = str_at(info, &["rateLimitType"]).unwrap_or("usage");
                    let event = Event::RateLimit {
                        message: format!("Claude {kind} rate limit reached"),
                        reset_at: self.reset_at,
                    };
                    self.error(event, out);
                }
            }
            "result" => self.result(v, out),
            _ => {}
        }
    }

    fn system(&mut self, v: &Value, out: &mut Vec<Event>) {
        match str_at(v, &["subtype"]).unwrap_or_default() {
            "init" => self.model(str_at(v, &["model"]), out),
            "api_retry" => {
                let status = status_at(v, &["error_status"]);
                let kind = str_at(v, &["error"]).unwrap_or_default();
                let message = match status {
                    Some(code) => format!("API request failed: HTTP {code} {kind}"),
                    None => format!("API request failed: {kind}"),
                };
                let status = status.or(match kind {
                    "authentication_failed" => Some(401),
                    "rate_limit" => Some(429),
                    _ => None,
                });
                // Only the failures retrying cannot fix are worth an event; Claude retries
                // the rest itself, and the result line tells how that ended.
                if matches!(status, Some(401 | 403 | 429)) {
                    let event = classify_error(&message, status, self.clock.now_secs());
                    self.error(event, out);
                }
            }
            _ => {}
        }
    }

    fn assistant(&mut self, v: &Value, out: &mut Vec<Event>) {
        let Some(message) = v.get("message").filter(|m| m.is_object()) else {
            return;
        };
        self.model(str_at(message, &["model"]), out);
        let mut text = Vec::new();
        if let Some(blocks) = message.get("content").and_then(Value::as_array) {
            for block in blocks {
                match str_at(block, &["type"]) {
                    Some("text") => {
                        if let Some(t) = str_at(block, &["text"]).filter(|t| !t.trim().is_empty()) {
                            text.push(t.to_owned());
                        }
                    }
                    Some("tool_use") => out.push(Event::ToolCall {
                        name: str_at(block, &["name"]).unwrap_or("tool").to_owned(),
                        detail: tool_detail(block.get("input")),
                    }),
                    _ => {}
                }
            }
        }
        if !text.is_empty() {
            out.push(Event::Message {
                text: text.join("\n"),
            });
        }
        if let Some(kind) = str_at(v, &["error"]) {
            let detail = if text.is_empty() {
                kind.to_owned()
            } else {
                text.join(" ")
            };
            let status = match kind {
                "authentication_failed" => Some(401),
                "rate_limit" => Some(429),
                _ => None,
            };
            let event = classify_error(&detail, status, self.clock.now_secs());
            self.error(event, out);
        }
        if let (Some(id), Some(usage)) = (
            str_at(message, &["id"]),
            message.get("usage").filter(|u| u.is_object()),
        ) {
            let t = usage_tokens(usage);
            let old = self
                .per_message
                .insert(id.to_owned(), t)
                .unwrap_or_default();
            let r = &mut self.running;
            r.input = (r.input + t.input).saturating_sub(old.input);
            r.output = (r.output + t.output).saturating_sub(old.output);
            r.cache_read = (r.cache_read + t.cache_read).saturating_sub(old.cache_read);
            r.cache_write = (r.cache_write + t.cache_write).saturating_sub(old.cache_write);
            r.reported = true;
            if t != old {
                out.push(Event::Usage {
                    tokens: self.running,
                    cumulative: true,
                });
            }
        }
    }

    fn result(&mut self, v: &Value, out: &mut Vec<Event>) {
        self.saw_result = true;
        let subtype = str_at(v, &["subtype"]).unwrap_or_default();
        let is_error = v
            .get("is_error")
            .and_then(Value::as_bool)
            .unwrap_or(subtype != "success");
        let text = str_at(v, &["result"]).unwrap_or_default().to_owned();
        if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
            out.push(Event::Usage {
                tokens: usage_tokens(usage),
                cumulative: true,
            });
        }
        if let Some(usd) = f64_at(v, &["total_cost_usd"]) {
            out.push(Event::Cost {
                usd,
                cumulative: true,
            });
        }
        if let Some(denials) = v.get("permission_denials").and_then(Value::as_array) {
            for d in denials {
                let tool = str_at(d, &["tool_name"])
                    .or(d.as_str())
                    .unwrap_or("unknown tool");
                out.push(Event::PermissionDenied {
                    tool: tool.to_owned(),
                });
            }
        }
        if is_error {
            let status = status_at(v, &["api_error_status"]);
            let message = if text.trim().is_empty() {
                let reason = str_at(v, &["terminal_reason"]).unwrap_or(subtype);
                format!("Claude Code stopped: {reason}")
            } else {
                text.clone()
            };
            let event = match (status, subtype) {
                (None, "error_max_turns" | "error_max_budget_usd" | "error_during_execution") => {
                    Event::Error { message }
                }
                _ => classify_error(&message, status, self.clock.now_secs()),
            };
            self.error(event, out);
        }
        out.push(Event::Result {
            ok: !is_error,
            text,
        });
    }
}

/// What tools gave back, from a `user` line's `tool_result` blocks (for transcripts).
fn tool_results(v: &Value, out: &mut Vec<Event>) {
    let Some(blocks) = v.pointer("/message/content").and_then(Value::as_array) else {
        return;
    };
    for block in blocks {
        if str_at(block, &["type"]) != Some("tool_result") {
            continue;
        }
        let text = match block.get("content") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| str_at(p, &["text"]))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        out.push(Event::ToolResult {
            ok: block.get("is_error").and_then(Value::as_bool) != Some(true),
            text,
        });
    }
}

fn usage_tokens(usage: &Value) -> Tokens {
    let n = |k: &str| u64_at(usage, &[k]).unwrap_or(0);
    tokens(
        n("input_tokens"),
        n("output_tokens"),
        n("cache_read_input_tokens"),
        n("cache_creation_input_tokens"),
    )
}

impl OutputParser for Parser {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Event> {
        let mut out = Vec::new();
        match (self.json.push(line), stream) {
            (Line::Json(v), _) => self.json(&v, &mut out),
            (Line::Text(t), Stream::Stderr) => {
                keep_stderr(&mut self.last_stderr, &t);
                if let Some(e) = stderr_text_event(&t, self.clock.now_secs()) {
                    self.error(e, &mut out);
                }
            }
            _ => {}
        }
        out
    }

    fn finish(&mut self) -> Vec<Event> {
        self.json.finish();
        if self.saw_result || self.saw_error {
            return Vec::new();
        }
        vec![ended_early(
            "Claude Code ended without a result line",
            self.json.truncated.as_deref(),
            self.last_stderr.as_deref(),
        )]
    }
}

#[cfg(test)]
mod tests {
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
}
