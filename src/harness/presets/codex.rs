//! `codex`: Codex CLI's `exec --json`, the prompt on stdin (`-`), sandbox `workspace-write`
//! (edits inside the worktree, no network, `.git` read-only: forge does the git work).
//!
//! Events are JSONL: `thread.started {thread_id}` (the session), `item.*` (messages, commands,
//! file changes), `turn.completed {usage}` (ok) or `turn.failed {error}` (not ok), `error`.
//! Codex reports no cost. Its usage is cumulative for the thread — after `exec resume` it
//! includes the earlier runs of the same thread.

use std::collections::HashSet;

use serde_json::Value;

use super::common::{
    JsonLines, Line, classify_error, ended_early, keep_stderr, preview, s, spec, stderr_text_event,
    str_at, tokens, tool_detail, u64_at,
};
use crate::clock::Clock;
use crate::harness::adapter::{Adapter, CommandSpec, Event, Invocation, OutputParser, Stream};

pub struct Codex;

impl Adapter for Codex {
    fn name(&self) -> &'static str {
        "codex"
    }

    fn default_program(&self) -> &'static str {
        "codex"
    }

    fn api_hosts(&self) -> &'static [&'static str] {
        &["api.openai.com:443", "chatgpt.com:443"]
    }

    /// Codex's own sandbox (bubblewrap) needs mounts, which Landlock denies to a sandboxed
    /// process: inside forge's sandbox Codex runs without its own.
    fn contain(&self, spec: &mut CommandSpec, sandboxed: bool) {
        if !sandboxed {
            return;
        }
        for arg in &mut spec.args {
            if arg == "workspace-write" {
                *arg = s("danger-full-access");
            }
        }
    }

    /// `codex exec --json --sandbox workspace-write --skip-git-repo-check -c … [--model M]
    /// [extra args] [resume ID] -`. Config `args` go before the `resume` subcommand: most of
    /// `exec`'s options are not accepted after it.
    fn command(&self, inv: &Invocation) -> CommandSpec {
        let mut args = vec![
            s("exec"),
            s("--json"),
            s("--sandbox"),
            s("workspace-write"),
            s("--skip-git-repo-check"),
            // The quiet settings HARNESSES.md lists for config.toml, as overrides.
            s("-c"),
            s("check_for_update_on_startup=false"),
            s("-c"),
            s("analytics.enabled=false"),
            s("-c"),
            s("features.plugins=false"),
        ];
        if let Some(model) = &inv.model {
            args.extend([s("--model"), model.clone()]);
        }
        let mut spec = spec(
            inv,
            "codex",
            args,
            Some(inv.prompt.clone().into_bytes()),
            &[],
        );
        if let Some(id) = &inv.resume_session {
            spec.args.extend([s("resume"), id.clone()]);
        }
        spec.args.push(s("-"));
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
    /// Items already counted as tool calls (each is reported started, then completed).
    seen_items: HashSet<String>,
    last_message: String,
    saw_result: bool,
    saw_error: bool,
    last_stderr: Option<String>,
}

impl Parser {
    fn json(&mut self, v: &Value, out: &mut Vec<Event>) {
        match str_at(v, &["type"]).unwrap_or_default() {
            "thread.started" => {
                if let Some(id) = str_at(v, &["thread_id"]).filter(|id| !id.is_empty()) {
                    out.push(Event::Session { id: id.to_owned() });
                }
            }
            "item.started" | "item.updated" | "item.completed" => {
                if let Some(item) = v.get("item").filter(|i| i.is_object()) {
                    let completed = str_at(v, &["type"]) == Some("item.completed");
                    self.item(item, completed, out);
                }
            }
            "turn.completed" => {
                self.saw_result = true;
                if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
                    let n = |k: &str| u64_at(usage, &[k]).unwrap_or(0);
                    // `input_tokens` counts the cached and the cache-written input too.
                    let cached = n("cached_input_tokens");
                    let written = n("cache_write_input_tokens");
                    out.push(Event::Usage {
                        tokens: tokens(
                            n("input_tokens").saturating_sub(cached + written),
                            n("output_tokens"),
                            cached,
                            written,
                        ),
                        cumulative: true,
                    });
                }
                out.push(Event::Result {
                    ok: true,
                    text: self.last_message.clone(),
                });
            }
            "turn.failed" => {
                self.saw_result = true;
                let message = str_at(v, &["error", "message"])
                    .or(str_at(v, &["error"]))
                    .unwrap_or("the turn failed")
                    .to_owned();
                self.error(&message, out);
                out.push(Event::Result {
                    ok: false,
                    text: message,
                });
            }
            "error" => {
                let message = str_at(v, &["message"]).unwrap_or_default();
                // "Reconnecting... 2/5 (…)" is Codex retrying: only an auth error or a rate
                // limit inside it is news; the turn's end tells the rest.
                if message.starts_with("Reconnecting") {
                    if let e @ (Event::AuthError { .. } | Event::RateLimit { .. }) =
                        classify_error(message, None, self.clock.now_secs())
                    {
                        self.saw_error = true;
                        out.push(e);
                    }
                } else {
                    self.error(message, out);
                }
            }
            _ => {}
        }
    }

    fn error(&mut self, message: &str, out: &mut Vec<Event>) {
        self.saw_error = true;
        out.push(classify_error(message, None, self.clock.now_secs()));
    }

    fn item(&mut self, item: &Value, completed: bool, out: &mut Vec<Event>) {
        let kind = str_at(item, &["type"]).unwrap_or_default();
        let call = match kind {
            "agent_message" => {
                if completed
                    && let Some(text) = str_at(item, &["text"]).filter(|t| !t.trim().is_empty())
                {
                    self.last_message = text.to_owned();
                    out.push(Event::Message {
                        text: text.to_owned(),
                    });
                }
                return;
            }
            // A warning item (`Model metadata for `x` not found…`): the turn goes on, and
            // its end says how it went. Never an auth error or a rate limit by its words.
            "error" => {
                if completed && let Some(message) = str_at(item, &["message"]) {
                    out.push(Event::Error {
                        message: message.to_owned(),
                    });
                }
                return;
            }
            "command_execution" => Some((s("shell"), tool_detail(item.get("command")))),
            "file_change" => {
                let paths: Vec<&str> = item
                    .get("changes")
                    .and_then(Value::as_array)
                    .map(|c| c.iter().filter_map(|c| str_at(c, &["path"])).collect())
                    .unwrap_or_default();
                Some((s("file_change"), preview(&paths.join(", "), 200)))
            }
            "mcp_tool_call" => {
                let server = str_at(item, &["server"]).unwrap_or("mcp");
                let tool = str_at(item, &["tool"]).unwrap_or("tool");
                Some((
                    format!("{server}.{tool}"),
                    tool_detail(item.get("arguments")),
                ))
            }
            "web_search" => Some((s("web_search"), tool_detail(item.get("query")))),
            _ => None,
        };
        if let Some((name, detail)) = call {
            let fresh = match str_at(item, &["id"]) {
                Some(id) => self.seen_items.insert(id.to_owned()),
                None => true,
            };
            if fresh {
                out.push(Event::ToolCall { name, detail });
            }
        }
        if completed
            && kind == "command_execution"
            && let Some(text) = str_at(item, &["aggregated_output"])
        {
            out.push(Event::ToolResult {
                ok: u64_at(item, &["exit_code"]) == Some(0),
                text: text.trim_end().to_owned(),
            });
        }
    }
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
        if self.saw_result || self.saw_error {
            return Vec::new();
        }
        vec![ended_early(
            "Codex ended without finishing its turn",
            self.json.truncated.as_deref(),
            self.last_stderr.as_deref(),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing;
    use super::*;
    use crate::harness::adapter::{RunSummary, Verdict};

    #[test]
    fn argv_prompt_on_stdin_and_resume() {
        let inv = Invocation {
            prompt: s("--do the thing"),
            model: Some(s("gpt-5.1-codex")),
            extra_args: vec![s("--color"), s("never")],
            ..Default::default()
        };
        let spec = Codex.command(&inv);
        assert_eq!(spec.program, "codex");
        assert_eq!(
            &spec.args[..5],
            [
                "exec",
                "--json",
                "--sandbox",
                "workspace-write",
                "--skip-git-repo-check"
            ]
        );
        assert_eq!(
            &spec.args[spec.args.len() - 5..],
            ["--model", "gpt-5.1-codex", "--color", "never", "-"]
        );
        assert_eq!(spec.stdin.as_deref(), Some(&b"--do the thing"[..]));
        let inv = Invocation {
            prompt: s("feedback"),
            resume_session: Some(s("0199a213")),
            command: Some(vec![s("fake-codex")]),
            ..Default::default()
        };
        let spec = Codex.command(&inv);
        assert_eq!(spec.program, "fake-codex");
        assert_eq!(
            &spec.args[spec.args.len() - 3..],
            ["resume", "0199a213", "-"]
        );
        assert!(Codex.can_resume());
    }

    #[test]
    fn success_with_an_edit() {
        let (events, sum) = testing::run(&Codex, "success");
        assert_eq!(
            sum.session_id.as_deref(),
            Some("0199a213-81c0-7800-8aa1-bbab2a035a53")
        );
        assert_eq!(sum.tool_calls, 2, "{events:?}");
        assert!(events.contains(&Event::ToolCall {
            name: s("file_change"),
            detail: s("/work/repo/agent.txt")
        }));
        assert_eq!(sum.tokens, tokens(315, 122, 24_448, 0));
        assert_eq!(sum.cost_usd, None, "codex reports no cost");
        assert_eq!(sum.result, Some(true));
        assert_eq!(
            sum.result_text.as_deref(),
            Some("Added `agent.txt` with the greeting.")
        );
        assert_eq!(Codex.judge(&sum, Some(0)), Verdict::Succeeded);
    }

    #[test]
    fn resumed_thread_reports_cumulative_usage() {
        let (_, sum) = testing::run(&Codex, "resume");
        assert_eq!(
            sum.session_id.as_deref(),
            Some("0199a213-81c0-7800-8aa1-bbab2a035a53")
        );
        assert_eq!(sum.tokens, tokens(2_126, 301, 48_896, 0));
        assert_eq!(Codex.judge(&sum, Some(0)), Verdict::Succeeded);
    }

    #[test]
    fn auth_error() {
        let (_, sum) = testing::run(&Codex, "auth");
        assert_eq!(sum.result, Some(false));
        assert!(sum.auth_error.as_deref().unwrap().contains("401"));
        assert!(matches!(
            Codex.judge(&sum, Some(1)),
            Verdict::AuthFailed { .. }
        ));
    }

    #[test]
    fn usage_limit_with_a_reset_time() {
        let (_, sum) = testing::run(&Codex, "ratelimit");
        let (message, reset) = sum.rate_limit.clone().unwrap();
        assert!(message.contains("usage limit"), "{message}");
        let reset = reset.unwrap();
        assert_eq!(reset, testing::NOW + 7_500);
        assert!(matches!(
            Codex.judge(&sum, Some(1)),
            Verdict::RateLimited { .. }
        ));
    }

    #[test]
    fn garbage_is_ignored() {
        let (_, sum) = testing::run(&Codex, "garbage");
        assert_eq!(sum.tool_calls, 1);
        assert_eq!(sum.tokens, tokens(0, 7, 500, 0));
        assert!(sum.errors.is_empty(), "{:?}", sum.errors);
        assert_eq!(Codex.judge(&sum, Some(0)), Verdict::Succeeded);
    }

    #[test]
    fn stderr_explains_a_failed_start() {
        let (_, sum) = testing::run(&Codex, "noprompt");
        assert!(matches!(
            Codex.judge(&sum, Some(1)),
            Verdict::Failed { reason } if reason.contains("No prompt")
        ));
    }

    /// Captured from Codex CLI 0.169.0 by the e2e suite (e2e/run.py).
    #[test]
    fn real_captures() {
        let (events, sum) = testing::run(&Codex, "real-edit");
        assert_eq!(
            sum.session_id.as_deref(),
            Some("01a1fc07-0419-70e1-9de4-68d724417cb1")
        );
        assert!(events.iter().any(|e| matches!(e,
            Event::ToolCall { name, detail } if name == "file_change" && detail.ends_with("/agent.txt"))));
        assert_eq!(sum.tool_calls, 1);
        assert_eq!(sum.tokens, tokens(20_144, 50, 0, 0));
        assert_eq!(sum.cost_usd, None);
        assert_eq!(Codex.judge(&sum, Some(0)), Verdict::Succeeded);

        let (_, sum) = testing::run(&Codex, "real-auth");
        assert!(matches!(
            Codex.judge(&sum, Some(1)),
            Verdict::AuthFailed { reason } if reason.contains("401")
        ));

        // "Reconnecting... n/5 (We're currently experiencing high demand…)" on HTTP 500.
        let (_, sum) = testing::run(&Codex, "real-retry");
        assert_eq!(sum.auth_error, None);
        assert_eq!(sum.rate_limit, None);
    }

    #[test]
    fn warning_items_and_cache_writes() {
        let mut p = Codex.parser(&Clock::default());
        let mut sum = RunSummary::default();
        for line in [
            r#"{"type":"thread.started","thread_id":"t1"}"#,
            r#"{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `x` not found; check your credentials"}}"#,
            r#"{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":30,"cache_write_input_tokens":20,"output_tokens":5}}"#,
        ] {
            for e in p.line(Stream::Stdout, line) {
                sum.apply(&e);
            }
        }
        assert_eq!(sum.auth_error, None, "a warning is not an auth error");
        assert_eq!(sum.tokens, tokens(50, 5, 30, 20));
        assert_eq!(Codex.judge(&sum, Some(0)), Verdict::Succeeded);
    }

    #[test]
    fn survives_every_prefix() {
        testing::survives_every_prefix(&Codex);
    }
}
