//! `gemini`: Gemini CLI headless with `-o stream-json`, approval mode `auto_edit` (edits are
//! applied; in headless `default` mode the edit and shell tools are not even offered) and
//! `--skip-trust` (an untrusted folder would force `default`).
//!
//! stdout carries `init`, `message` (assistant text arrives in `delta` chunks), `tool_use`,
//! `tool_result`, `error` and a final `result {status, stats}`. No cost is reported. `init`
//! names the model `auto` when Gemini routes each turn itself; the result's `stats.models`
//! says which models answered (the one with the most tokens is reported). On an API error
//! Gemini CLI 0.61 ends stdout with `result {status: "error", error: {message: "[API Error:
//! {json}]"}}` and prints the error again, with stack traces, as text on stderr; the JSON error
//! may also come alone, pretty-printed, on stderr with stdout empty. The exit code is the HTTP
//! status truncated to 8 bits (401 → 145). Errors on stderr (a failed side request of the
//! model router, retries) count only when stdout gave no verdict.

use std::collections::HashMap;

use serde_json::Value;

use super::common::{
    JsonLines, Line, classify_error, ended_early, keep_stderr, parse_iso_secs, prompt_arg, s, spec,
    stderr_text_event, str_at, tokens, tool_detail, u64_at,
};
use crate::clock::Clock;
use crate::harness::adapter::{
    Adapter, CommandSpec, Event, Invocation, OutputParser, RunSummary, Stream, Verdict,
    default_judge,
};

pub struct Gemini;

/// Longest assistant text held back before it is emitted as a message.
const MAX_PENDING: usize = 64 << 10;

impl Adapter for Gemini {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn default_program(&self) -> &'static str {
        "gemini"
    }

    fn api_hosts(&self) -> &'static [&'static str] {
        &[
            "generativelanguage.googleapis.com:443",
            "cloudcode-pa.googleapis.com:443",
            "oauth2.googleapis.com:443",
        ]
    }

    fn command(&self, inv: &Invocation) -> CommandSpec {
        let mut args = vec![
            s("-p"),
            prompt_arg(&inv.prompt),
            s("-o"),
            s("stream-json"),
            s("--approval-mode"),
            s("auto_edit"),
            s("--skip-trust"),
        ];
        if let Some(model) = &inv.model {
            args.extend([s("--model"), model.clone()]);
        }
        if let Some(id) = &inv.resume_session {
            args.extend([s("--resume"), id.clone()]);
        }
        spec(inv, "gemini", args, None, &[])
    }

    fn parser(&self, clock: &Clock) -> Box<dyn OutputParser> {
        Box::new(Parser {
            clock: clock.clone(),
            stdout: JsonLines::default(),
            stderr: JsonLines::default(),
            pending: String::new(),
            tools: HashMap::new(),
            saw_result: false,
            saw_error: false,
            last_stderr: None,
            stderr_errors: Vec::new(),
        })
    }

    fn can_resume(&self) -> bool {
        true
    }

    /// The events first; when they say nothing, the exit code: 41 is Gemini's "auth not
    /// configured", and an HTTP status shows up modulo 256 (401 → 145, 403 → 147, 429 → 173).
    fn judge(&self, summary: &RunSummary, exit_code: Option<i32>) -> Verdict {
        if summary.auth_error.is_none()
            && summary.rate_limit.is_none()
            && summary.result != Some(true)
        {
            let detail = summary
                .errors
                .last()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            match exit_code {
                Some(41) => {
                    return Verdict::AuthFailed {
                        reason: format!(
                            "Gemini authentication is not configured (exit 41){detail}"
                        ),
                    };
                }
                Some(c) if c == 401 & 255 || c == 403 & 255 => {
                    return Verdict::AuthFailed {
                        reason: format!(
                            "HTTP {} (exit {c}){detail}",
                            if c == 145 { 401 } else { 403 }
                        ),
                    };
                }
                Some(c) if c == 429 & 255 => {
                    return Verdict::RateLimited {
                        reason: format!("HTTP 429 (exit {c}){detail}"),
                        reset_at: None,
                    };
                }
                _ => {}
            }
        }
        match default_judge(summary, exit_code) {
            Verdict::Failed { reason } if reason.starts_with("exit status") => {
                let what = match exit_code {
                    Some(42) => " (input error)",
                    Some(53) => " (turn limit reached)",
                    _ => "",
                };
                Verdict::Failed {
                    reason: format!("{reason}{what}"),
                }
            }
            v => v,
        }
    }
}

struct Parser {
    /// Dates what the harness says relative to now (a rate limit's reset).
    clock: Clock,
    stdout: JsonLines,
    stderr: JsonLines,
    /// Assistant text arriving in `delta` chunks, emitted as one message.
    pending: String,
    /// Tool names by `tool_id`, for the results that name only the id.
    tools: HashMap<String, String>,
    saw_result: bool,
    saw_error: bool,
    last_stderr: Option<String>,
    /// Errors said on stderr, held until the end: they matter only without a result.
    stderr_errors: Vec<Event>,
}

impl Parser {
    fn flush(&mut self, out: &mut Vec<Event>) {
        let text = std::mem::take(&mut self.pending);
        if !text.trim().is_empty() {
            out.push(Event::Message {
                text: text.trim().to_owned(),
            });
        }
    }

    fn error(&mut self, message: &str, status: Option<u16>, now: i64, out: &mut Vec<Event>) {
        self.saw_error = true;
        out.push(classify_error(message, status, now));
    }

    fn json(&mut self, v: &Value, out: &mut Vec<Event>) {
        let now = str_at(v, &["timestamp"])
            .and_then(parse_iso_secs)
            .unwrap_or_else(|| self.clock.now_secs());
        let kind = str_at(v, &["type"]).unwrap_or_default();
        if kind != "message" {
            self.flush(out);
        }
        match kind {
            "init" => {
                if let Some(id) = str_at(v, &["session_id"]).filter(|id| !id.is_empty()) {
                    out.push(Event::Session { id: id.to_owned() });
                }
                if let Some(model) = str_at(v, &["model"]).filter(|m| !m.is_empty()) {
                    out.push(Event::Model {
                        name: model.to_owned(),
                    });
                }
            }
            "message" => {
                if str_at(v, &["role"]) != Some("assistant") {
                    return;
                }
                let Some(text) = str_at(v, &["content"]) else {
                    return;
                };
                if v.get("delta").and_then(Value::as_bool) == Some(true) {
                    self.pending.push_str(text);
                    // A long answer is reported in pieces rather than held whole.
                    if self.pending.len() > MAX_PENDING {
                        self.flush(out);
                    }
                } else {
                    self.flush(out);
                    self.pending.push_str(text);
                    self.flush(out);
                }
            }
            "tool_use" => {
                let name = str_at(v, &["tool_name"]).unwrap_or("tool").to_owned();
                if let Some(id) = str_at(v, &["tool_id"]) {
                    self.tools.insert(id.to_owned(), name.clone());
                }
                out.push(Event::ToolCall {
                    name,
                    detail: tool_detail(v.get("parameters")),
                });
            }
            // A tool refused by policy (or by a user nobody asked) is a denial.
            "tool_result" if str_at(v, &["status"]) == Some("error") => {
                let kind = str_at(v, &["error", "type"]).unwrap_or_default();
                let text = str_at(v, &["error", "message"])
                    .unwrap_or_default()
                    .to_lowercase();
                if kind.contains("denied")
                    || text.contains("denied")
                    || text.contains("not allowed")
                {
                    let tool = str_at(v, &["tool_id"])
                        .and_then(|id| self.tools.get(id))
                        .cloned()
                        .unwrap_or_else(|| s("tool"));
                    out.push(Event::PermissionDenied { tool });
                }
            }
            "error" if str_at(v, &["severity"]) != Some("warning") => {
                let message = str_at(v, &["message"]).unwrap_or("Gemini reported an error");
                self.error(message, None, now, out);
            }
            "result" => {
                self.saw_result = true;
                if let Some(stats) = v.get("stats").filter(|s| s.is_object()) {
                    let n = |k: &str| u64_at(stats, &[k]);
                    let cached = n("cached").unwrap_or(0);
                    let input = n("input")
                        .unwrap_or_else(|| n("input_tokens").unwrap_or(0).saturating_sub(cached));
                    out.push(Event::Usage {
                        tokens: tokens(input, n("output_tokens").unwrap_or(0), cached, 0),
                        cumulative: true,
                    });
                }
                if let Some(model) = stats_model(v) {
                    out.push(Event::Model { name: model });
                }
                let ok = str_at(v, &["status"]) == Some("success");
                let mut text = String::new();
                if !ok {
                    text = str_at(v, &["error", "message"])
                        .or(str_at(v, &["error"]))
                        .unwrap_or("Gemini reported an error")
                        .to_owned();
                    let mut status = None;
                    if let Some((message, code)) = api_error(&text) {
                        text = message;
                        status = code;
                    }
                    self.error(&text, status, now, out);
                }
                out.push(Event::Result { ok, text });
            }
            "" => {
                // `{"error": {type, message, code}}` from the JSON error path (stderr), or
                // `{"session_id", "response", "stats"}` from `-o json`.
                if let Some(id) = str_at(v, &["session_id"]).filter(|id| !id.is_empty()) {
                    out.push(Event::Session { id: id.to_owned() });
                }
                if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
                    let message = str_at(err, &["message"])
                        .or(err.as_str())
                        .unwrap_or("Gemini reported an error")
                        .to_owned();
                    let status = u64_at(err, &["code"])
                        .filter(|c| (400..600).contains(c))
                        .map(|c| c as u16);
                    self.saw_result = true;
                    self.error(&message, status, now, out);
                    out.push(Event::Result {
                        ok: false,
                        text: message,
                    });
                } else if let Some(response) = str_at(v, &["response"]) {
                    self.saw_result = true;
                    out.push(Event::Message {
                        text: response.to_owned(),
                    });
                    out.push(Event::Result {
                        ok: true,
                        text: response.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
}

/// The model that did most of the work, from `result.stats.models` (by tokens).
fn stats_model(v: &Value) -> Option<String> {
    let models = v.get("stats")?.get("models")?.as_object()?;
    models
        .iter()
        .map(|(name, m)| {
            let n = u64_at(m, &["total_tokens"])
                .or_else(|| u64_at(m, &["tokens", "total"]))
                .unwrap_or(0);
            (n, name)
        })
        .max()
        .filter(|(n, _)| *n > 0)
        .map(|(_, name)| name.clone())
}

/// The API's JSON error inside a text (`[API Error: {"error":{"code":401,"message":…}}]`,
/// `… _ApiError: {"error":…}`): its message, with the code and status, and the HTTP code.
fn api_error(text: &str) -> Option<(String, Option<u16>)> {
    let start = text.find("{\"error\"")?;
    let v = serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let err = v.get("error")?;
    let message = str_at(err, &["message"])?.trim();
    let code = u64_at(err, &["code"])
        .filter(|c| (400..600).contains(c))
        .map(|c| c as u16);
    let status = str_at(err, &["status"]).unwrap_or_default();
    let detail = match (code, status.is_empty()) {
        (Some(c), false) => format!(" (HTTP {c} {status})"),
        (Some(c), true) => format!(" (HTTP {c})"),
        (None, false) => format!(" ({status})"),
        (None, true) => String::new(),
    };
    Some((format!("{message}{detail}"), code))
}

impl OutputParser for Parser {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Event> {
        let mut out = Vec::new();
        let reader = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        match (reader.push(line), stream) {
            (Line::Json(v), _) => self.json(&v, &mut out),
            (Line::Text(t), Stream::Stderr) => {
                keep_stderr(&mut self.last_stderr, &t);
                let event = match api_error(&t) {
                    Some((message, Some(status))) if stderr_text_event(&t, 0).is_some() => Some(
                        classify_error(&message, Some(status), self.clock.now_secs()),
                    ),
                    _ => stderr_text_event(&t, self.clock.now_secs()),
                };
                if let Some(e) = event {
                    self.saw_error = true;
                    // Retries can go on for hours: the last few say enough.
                    if self.stderr_errors.len() >= 16 {
                        self.stderr_errors.remove(0);
                    }
                    self.stderr_errors.push(e);
                }
            }
            _ => {}
        }
        out
    }

    fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.flush(&mut out);
        self.stdout.finish();
        self.stderr.finish();
        if !self.saw_result {
            out.append(&mut self.stderr_errors);
        }
        if !self.saw_result && !self.saw_error {
            let cut = self
                .stdout
                .truncated
                .as_ref()
                .or(self.stderr.truncated.as_ref());
            out.push(ended_early(
                "Gemini ended without a result",
                cut.map(String::as_str),
                self.last_stderr.as_deref(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
