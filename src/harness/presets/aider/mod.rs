//! `aider`: one `--message`, answers yes to everything, never commits (forge does), no update
//! check, no analytics, plain output. `--no-gitignore` keeps aider from adding `.aider*` to
//! the repository's `.gitignore`, the chat and input histories go to /dev/null instead of
//! `.aider.*.history` files in the worktree (forge's log has the chat anyway), and
//! `--no-show-model-warnings` skips the "open the docs?" question for unknown models. aider
//! still leaves its repo-map cache (`.aider.tags.cache.v4/`) in the worktree.
//!
//! aider prints no JSON and has no session to resume. Its text is read line by line: the
//! model from `Model: … with … edit format`, usage from `Tokens: 2.3k sent, 45 received.`
//! (counts rounded to aider's `1.2k` form) and `Cost: $0.0071 message, $0.0071 session.`,
//! edits from `Applied edit to FILE`, and errors from litellm's exception lines. aider exits 0
//! on authentication errors, so those lines decide.

use std::sync::LazyLock;

use regex::Regex;

use super::common::{classify_error, prompt_arg, s, spec, strip_ansi, tokens};
use crate::clock::Clock;
use crate::harness::adapter::{
    Adapter, CommandSpec, Event, Invocation, OutputParser, RunSummary, Stream, Verdict,
    default_judge,
};

pub struct Aider;

/// Longest answer held back before it is emitted as a message.
const MAX_PENDING: usize = 64 << 10;

/// litellm fetches its price list from GitHub when it starts unless told to use the copy it
/// ships with; with a fresh HOME that is every run (and a wait where the network is closed).
const ENV: &[(&str, &str)] = &[
    ("PYTHONUNBUFFERED", "1"),
    ("PYTHONIOENCODING", "utf-8"),
    ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
];

impl Adapter for Aider {
    fn name(&self) -> &'static str {
        "aider"
    }

    fn default_program(&self) -> &'static str {
        "aider"
    }

    fn api_hosts(&self) -> &'static [&'static str] {
        &[
            "api.openai.com:443",
            "api.anthropic.com:443",
            "openrouter.ai:443",
        ]
    }

    fn command(&self, inv: &Invocation) -> CommandSpec {
        let mut args = vec![
            s("--message"),
            prompt_arg(&inv.prompt),
            s("--yes-always"),
            s("--no-auto-commits"),
            s("--no-check-update"),
            s("--analytics-disable"),
            s("--no-pretty"),
            s("--no-gitignore"),
            s("--no-show-model-warnings"),
            s("--chat-history-file"),
            s("/dev/null"),
            s("--input-history-file"),
            s("/dev/null"),
        ];
        if let Some(model) = &inv.model {
            args.extend([s("--model"), model.clone()]);
        }
        spec(inv, "aider", args, None, ENV)
    }

    fn parser(&self, clock: &Clock) -> Box<dyn OutputParser> {
        Box::new(Parser {
            clock: clock.clone(),
            ..Parser::default()
        })
    }

    fn can_resume(&self) -> bool {
        false
    }

    /// Chat histories, the repo-map cache: aider's bookkeeping, never the agent's work.
    fn never_commit(&self) -> &'static [&'static str] {
        &["**/.aider*", "**/.aider*/**"]
    }

    /// aider exits 0 whatever happened. Besides the error lines, a run that printed no token
    /// report never got an answer from the model, so it did nothing.
    fn judge(&self, summary: &RunSummary, exit_code: Option<i32>) -> Verdict {
        match default_judge(summary, exit_code) {
            Verdict::Succeeded if !summary.tokens.reported && summary.tool_calls == 0 => {
                Verdict::Failed {
                    reason: s("aider printed no token report: no answer came from the model"),
                }
            }
            v => v,
        }
    }
}

static MODEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:Main )?[Mm]odel: (\S+)(?: with|$)").unwrap());
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"Tokens: ([\d.]+[kKmM]?) sent(?:, ([\d.]+[kKmM]?) cache write)?(?:, ([\d.]+[kKmM]?) cache hit)?, ([\d.]+[kKmM]?) received",
    )
    .unwrap()
});
static COST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Cost: \$([\d.]+) message, \$([\d.]+) session").unwrap());
static APPLIED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Applied edit to (.+?)\s*$").unwrap());
static LITELLM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^litellm\.\w+(Error|Exception)\b").unwrap());

/// Lines aider prints about itself rather than the model's answer.
const META: &[&str] = &[
    "Aider v",
    "Model:",
    "Main model:",
    "Weak model:",
    "Editor model:",
    "Git repo:",
    "Repo-map:",
    "Added ",
    "Retrying in ",
    "Warning",
    "https://aider.chat",
    "Use /help",
    "Scanning repo",
    "Initial repo scan",
    "Create new file",
    "Cost estimates",
    "Did not apply edit",
    "Cost:",
    "Analytics have been",
    "Update git name with",
    "Update git email with",
    "The API provider",
];

#[derive(Default)]
struct Parser {
    /// Dates what the harness says relative to now (a rate limit's reset).
    clock: Clock,
    model_seen: bool,
    /// Lines of the model's answer since the last report, emitted as one message.
    pending: Vec<String>,
    pending_bytes: usize,
    last_reset: Option<i64>,
    /// A litellm error being read: aider wraps its lines at 80 columns, even plain.
    error_block: Option<(Stream, String)>,
    auth_seen: bool,
}

impl Parser {
    fn flush(&mut self, out: &mut Vec<Event>) {
        while self.pending.last().is_some_and(|l| l.trim().is_empty()) {
            self.pending.pop();
        }
        let start = self
            .pending
            .iter()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(self.pending.len());
        if start < self.pending.len() {
            out.push(Event::Message {
                text: self.pending[start..].join("\n"),
            });
        }
        self.pending.clear();
        self.pending_bytes = 0;
    }

    /// The event for a complete litellm error.
    fn close_block(&mut self, out: &mut Vec<Event>) {
        let Some((_, text)) = self.error_block.take() else {
            return;
        };
        if text.starts_with("litellm.AuthenticationError")
            || text.starts_with("AuthenticationError:")
        {
            self.auth_seen = true;
            out.push(Event::AuthError { message: text });
        } else {
            self.error(&text, out);
        }
    }

    fn error(&mut self, text: &str, out: &mut Vec<Event>) {
        let event = match classify_error(text, None, self.clock.now_secs()) {
            Event::RateLimit { message, reset_at } => {
                // "…rate limited you. Try again later" follows the line that had the delay.
                self.last_reset = reset_at.or(self.last_reset);
                Event::RateLimit {
                    message,
                    reset_at: self.last_reset,
                }
            }
            e => e,
        };
        out.push(event);
    }
}

/// `2.3k` → 2300, `12k` → 12000, `1.5M` → 1500000.
fn count(text: &str) -> Option<u64> {
    let (num, scale) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1e3),
        'm' | 'M' => (&text[..text.len() - 1], 1e6),
        _ => (text, 1.0),
    };
    let n: f64 = num.parse().ok()?;
    let n = (n * scale).round();
    (n.is_finite() && (0.0..1e18).contains(&n)).then_some(n as u64)
}

impl OutputParser for Parser {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Event> {
        let mut out = Vec::new();
        let line = strip_ansi(line.strip_suffix('\r').unwrap_or(line));
        let text = line.trim();
        // The rest of a wrapped litellm error: up to a blank line or aider's next own line.
        if let Some((from, block)) = self.error_block.as_mut()
            && *from == stream
        {
            let own = text.is_empty()
                || LITELLM.is_match(text)
                || META.iter().any(|m| text.starts_with(m))
                || text.starts_with("Tokens:");
            if !own {
                block.push(' ');
                block.push_str(text);
                return out;
            }
            self.close_block(&mut out);
        }
        // Only aider's own error lines count: the model's answer may well quote errors.
        if LITELLM.is_match(text) || text.starts_with("AuthenticationError:") {
            self.close_block(&mut out);
            self.error_block = Some((stream, text.to_owned()));
            return out;
        }
        if text.contains("provider is not able to authenticate you") {
            // The advice after litellm's error, which said more.
            if !self.auth_seen {
                self.auth_seen = true;
                out.push(Event::AuthError {
                    message: text.to_owned(),
                });
            }
            return out;
        }
        if text.contains("API provider has rate limited you") {
            self.error(text, &mut out);
            return out;
        }
        if stream == Stream::Stderr {
            return out;
        }
        if let Some(c) = TOKENS.captures(text) {
            self.flush(&mut out);
            let n = |i: usize| c.get(i).and_then(|m| count(m.as_str())).unwrap_or(0);
            let (sent, write, hit, received) = (n(1), n(2), n(3), n(4));
            // "sent" counts the cached prompt too.
            out.push(Event::Usage {
                tokens: tokens(sent.saturating_sub(write + hit), received, hit, write),
                cumulative: false,
            });
        }
        if let Some(c) = COST.captures(text) {
            self.flush(&mut out);
            if let Ok(usd) = c[2].parse::<f64>()
                && usd.is_finite()
            {
                out.push(Event::Cost {
                    usd,
                    cumulative: true,
                });
            }
            return out;
        }
        if TOKENS.is_match(text) || text.starts_with("Tokens:") {
            return out;
        }
        if let Some(c) = APPLIED.captures(text) {
            // aider names the file on a line of its own just before: not the model's words.
            if self
                .pending
                .iter()
                .filter(|l| !l.trim().is_empty())
                .eq([&c[1].to_owned()])
            {
                self.pending.clear();
                self.pending_bytes = 0;
            }
            self.flush(&mut out);
            out.push(Event::ToolCall {
                name: s("edit"),
                detail: c[1].to_owned(),
            });
            return out;
        }
        if !self.model_seen
            && let Some(c) = MODEL.captures(text)
        {
            self.model_seen = true;
            out.push(Event::Model {
                name: c[1].to_owned(),
            });
            return out;
        }
        if META.iter().any(|m| text.starts_with(m)) {
            return out;
        }
        // A documentation link after an error, outside any answer.
        if text.starts_with("https://") && self.pending.iter().all(|l| l.trim().is_empty()) {
            return out;
        }
        if !text.is_empty() || !self.pending.is_empty() {
            self.pending_bytes += line.len();
            self.pending.push(line.trim_end().to_owned());
            // A long answer is reported in pieces rather than held whole.
            if self.pending_bytes > MAX_PENDING {
                self.flush(&mut out);
            }
        }
        out
    }

    fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.close_block(&mut out);
        self.flush(&mut out);
        out
    }
}

#[cfg(test)]
mod tests;
