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
mod tests;
