//! `openhands`: OpenHands CLI with `--headless --json -t <task>` (headless always
//! auto-approves) and `--override-with-envs`, so that `LLM_MODEL`, `LLM_API_KEY` and
//! `LLM_BASE_URL` from the harness's environment configure the model (each run has a fresh
//! HOME with no saved settings). The model from config is passed as `LLM_MODEL`.
//!
//! stdout mixes text with events. OpenHands CLI 1.16 prints one event per line (JSON among
//! Rich's text); older versions printed a `--JSON Event--` line followed by the event
//! pretty-printed over many lines: both are read. Events have a `kind`: `MessageEvent`,
//! `ActionEvent` (the `finish` tool ends the run, when the model uses it; a last agent message
//! does too), `ObservationEvent`, `ConversationErrorEvent` (the run failed — OpenHands still
//! exits 0, on authentication errors too; `code` is the exception's name, e.g.
//! `AuthenticationError`). The model is on the `Agent initialized with model:` line, the
//! session is the `Conversation ID:` (and `--resume <uuid>` hint) printed at the end. Tokens
//! and cost are only kept in `~/.openhands/conversations/<id>/base_state.json`: `finish`
//! reads them from the run's HOME (after `--resume` they count the whole conversation, like
//! Codex's usage). A `ConversationStateUpdateEvent` carrying stats is used
//! too, if one ever appears. litellm's remote price list is not fetched
//! (`LITELLM_LOCAL_MODEL_COST_MAP`): with a fresh HOME it would be fetched on every run.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::common::{
    JsonLines, Line, classify_error, ended_early, f64_at, keep_stderr, prompt_arg, s, spec, str_at,
    tokens, tool_detail, u64_at,
};
use crate::clock::Clock;
use crate::harness::adapter::{Adapter, CommandSpec, Event, Invocation, OutputParser, Stream};

pub struct OpenHands;

impl Adapter for OpenHands {
    fn name(&self) -> &'static str {
        "openhands"
    }

    fn default_program(&self) -> &'static str {
        "openhands"
    }

    fn api_hosts(&self) -> &'static [&'static str] {
        &["api.openai.com:443", "api.anthropic.com:443"]
    }

    fn command(&self, inv: &Invocation) -> CommandSpec {
        let mut args = vec![
            s("--headless"),
            s("--json"),
            s("--override-with-envs"),
            s("-t"),
            prompt_arg(&inv.prompt),
        ];
        if let Some(id) = &inv.resume_session {
            args.extend([s("--resume"), id.clone()]);
        }
        let mut env = vec![
            ("PYTHONUNBUFFERED", "1"),
            ("PYTHONIOENCODING", "utf-8"),
            ("OPENHANDS_SUPPRESS_BANNER", "1"),
            ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
        ];
        if let Some(model) = &inv.model {
            env.push(("LLM_MODEL", model.as_str()));
        }
        spec(inv, "openhands", args, None, &env)
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

static MODEL_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Agent initialized with model:\s*(\S+)").unwrap());

static CONVERSATION_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:Conversation ID:|--resume)\s+([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})\b")
        .unwrap()
});

#[derive(Default)]
struct Parser {
    /// Dates what the harness says relative to now (a rate limit's reset).
    clock: Clock,
    json: JsonLines,
    session: Option<String>,
    /// Any event from the agent (a message or an action) was seen.
    agent_spoke: bool,
    failed: bool,
    saw_error: bool,
    last_stderr: Option<String>,
    /// The run's HOME, where `base_state.json` keeps the token counts.
    home: Option<std::path::PathBuf>,
}

impl Parser {
    fn json(&mut self, v: &Value, out: &mut Vec<Event>) {
        let source = str_at(v, &["source"]).unwrap_or_default();
        match str_at(v, &["kind"]).unwrap_or_default() {
            "MessageEvent" if source == "agent" => {
                self.agent_spoke = true;
                if let Some(text) =
                    content_text(v.get("llm_message").and_then(|m| m.get("content")))
                {
                    out.push(Event::Message { text });
                }
            }
            "ActionEvent" => {
                self.agent_spoke = true;
                if let Some(text) = content_text(v.get("thought")) {
                    out.push(Event::Message { text });
                }
                let tool = str_at(v, &["tool_name"])
                    .or(str_at(v, &["action", "kind"]))
                    .unwrap_or("tool");
                let action = v.get("action").filter(|a| a.is_object());
                if tool == "finish" || str_at(v, &["action", "kind"]) == Some("FinishAction") {
                    let text = action
                        .and_then(|a| str_at(a, &["message"]))
                        .unwrap_or_default()
                        .to_owned();
                    if !text.trim().is_empty() {
                        out.push(Event::Message { text: text.clone() });
                    }
                    if !self.failed {
                        out.push(Event::Result { ok: true, text });
                    }
                } else {
                    out.push(Event::ToolCall {
                        name: tool.to_owned(),
                        detail: tool_detail(action),
                    });
                }
            }
            "ConversationErrorEvent" => {
                let code = str_at(v, &["code"]).unwrap_or_default();
                let detail = str_at(v, &["detail"]).unwrap_or_default();
                let message = match (code.is_empty(), detail.trim().is_empty()) {
                    (_, false) => detail.trim().to_owned(),
                    (false, true) => code.to_owned(),
                    (true, true) => s("OpenHands conversation error"),
                };
                let cause = str_at(v, &["classification", "cause"]).unwrap_or_default();
                let now = self.clock.now_secs();
                // `code` is the exception's name: `AuthenticationError` (1.16),
                // `LLMAuthenticationError`, `RateLimitError`, ...
                let event = if cause == "authentication" || code.contains("AuthenticationError") {
                    Event::AuthError {
                        message: message.clone(),
                    }
                } else if matches!(cause, "rate_limit" | "quota") || code.contains("RateLimitError")
                {
                    classify_error(&message, Some(429), now)
                } else {
                    classify_error(&message, None, now)
                };
                self.failed = true;
                self.saw_error = true;
                out.push(event);
                out.push(Event::Result {
                    ok: false,
                    text: message,
                });
            }
            "ConversationStateUpdateEvent" => self.state(v, out),
            _ => {}
        }
    }

    fn state(&mut self, v: &Value, out: &mut Vec<Event>) {
        let value = v.get("value").unwrap_or(&Value::Null);
        let (status, stats) = match str_at(v, &["key"]).unwrap_or_default() {
            "execution_status" => (value.as_str(), None),
            "stats" => (None, Some(value)),
            "full_state" => {
                if let Some(id) = str_at(value, &["id"]) {
                    self.session(id, out);
                }
                (str_at(value, &["execution_status"]), value.get("stats"))
            }
            _ => (None, None),
        };
        if let Some(status @ ("error" | "stuck")) = status
            && !self.failed
        {
            self.failed = true;
            self.saw_error = true;
            let message = format!("OpenHands stopped: the conversation is {status}");
            out.push(Event::Error {
                message: message.clone(),
            });
            out.push(Event::Result {
                ok: false,
                text: message,
            });
        }
        let Some(metrics) = stats
            .and_then(|s| s.get("usage_to_metrics"))
            .and_then(Value::as_object)
        else {
            return;
        };
        let mut total = tokens(0, 0, 0, 0);
        let mut cost = None;
        let mut priced = false;
        for m in metrics.values() {
            let u = |k: &str| u64_at(m, &["accumulated_token_usage", k]).unwrap_or(0);
            let read = u("cache_read_tokens");
            total.input += u("prompt_tokens").saturating_sub(read);
            total.output += u("completion_tokens");
            total.cache_read += read;
            total.cache_write += u("cache_write_tokens");
            if let Some(usd) = f64_at(m, &["accumulated_cost"]) {
                cost = Some(cost.unwrap_or(0.0) + usd);
                priced |= usd > 0.0;
            }
            priced |= m
                .get("costs")
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty());
        }
        // A model litellm has no price for is accounted at 0.0: unknown, not free.
        if !priced {
            cost = None;
        }
        out.push(Event::Usage {
            tokens: total,
            cumulative: true,
        });
        if let Some(usd) = cost {
            out.push(Event::Cost {
                usd,
                cumulative: true,
            });
        }
    }

    fn session(&mut self, id: &str, out: &mut Vec<Event>) {
        if self.session.as_deref() != Some(id) {
            self.session = Some(id.to_owned());
            out.push(Event::Session { id: id.to_owned() });
        }
    }

    fn text(&mut self, text: &str, stream: Stream, out: &mut Vec<Event>) {
        if let Some(c) = CONVERSATION_ID.captures(text) {
            self.session(&c[1], out);
            return;
        }
        if let Some(c) = MODEL_LINE.captures(text) {
            out.push(Event::Model {
                name: c[1].to_owned(),
            });
            return;
        }
        let t = text.trim();
        // The CLI's own failure path: `Error: …` and a traceback, then a nonzero exit.
        if t.starts_with("Error: ") || (stream == Stream::Stderr && t.starts_with("Error")) {
            self.saw_error = true;
            out.push(classify_error(t, None, self.clock.now_secs()));
        }
    }
}

impl Parser {
    /// `~/.openhands/conversations/<hex id>/base_state.json` of this run's conversation.
    fn base_state(&self) -> Option<Value> {
        let id = self.session.as_deref()?.replace('-', "");
        let path = self
            .home
            .as_ref()?
            .join(".openhands/conversations")
            .join(id)
            .join("base_state.json");
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str::<Value>(&text)
            .ok()
            .filter(Value::is_object)
    }
}

/// The text of a message's `content`: a string or a list of `{type: "text", text}` parts.
fn content_text(content: Option<&Value>) -> Option<String> {
    let text = match content? {
        Value::String(t) => t.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter(|p| str_at(p, &["type"]).is_none_or(|t| t == "text"))
            .filter_map(|p| str_at(p, &["text"]))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

impl OutputParser for Parser {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Event> {
        let mut out = Vec::new();
        match self.json.push(line) {
            Line::Json(v) => self.json(&v, &mut out),
            Line::Text(t) => {
                if stream == Stream::Stderr {
                    keep_stderr(&mut self.last_stderr, &t);
                }
                self.text(&t, stream, &mut out)
            }
            Line::Nothing => {}
        }
        out
    }

    fn finish(&mut self) -> Vec<Event> {
        self.json.finish();
        let mut out = Vec::new();
        if let Some(state) = self.base_state() {
            let update = serde_json::json!({ "key": "full_state", "value": state });
            self.state(&update, &mut out);
        }
        if self.agent_spoke || self.saw_error {
            return out;
        }
        out.push(ended_early(
            "OpenHands printed no agent event",
            self.json.truncated.as_deref(),
            self.last_stderr.as_deref(),
        ));
        out
    }

    fn home(&mut self, home: &std::path::Path) {
        self.home = Some(home.to_owned());
    }
}

#[cfg(test)]
mod tests;
