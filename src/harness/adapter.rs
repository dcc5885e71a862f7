//! The adapter contract: how to start a harness headless, and how to read what it prints.

use serde::{Deserialize, Serialize};

use crate::harness::presets::acp::policy::{Decision, Outcome};

/// What forge asks a harness to do.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The full prompt text.
    pub prompt: String,
    /// Model name from config, if any.
    pub model: Option<String>,
    /// Extra arguments from config, appended after the preset's own.
    pub extra_args: Vec<String>,
    /// Resume this session instead of starting a new one (only if the adapter can).
    pub resume_session: Option<String>,
    /// The `command` from config: replaces the preset's program (and, for the `command`
    /// preset, is the whole argv; `{prompt}` in it is replaced by the prompt).
    pub command: Option<Vec<String>>,
}

/// How to start the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    /// Bytes written to stdin before it is closed; None means stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Environment the preset needs on top of forge's allowlist (quiet flags and the like).
    pub env: Vec<(String, String)>,
    /// The prompt goes over a protocol forge speaks with the harness while it runs (the
    /// `acp` preset), not through argv or stdin.
    pub session: Option<SessionStart>,
}

/// What a conversation over a protocol starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStart {
    pub prompt: String,
    /// The session a revision continues.
    pub resume: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Token counts. Counts a harness did not report stay at zero; `reported` says whether any
/// usage was seen at all, so "unknown" is never shown as zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reported: bool,
}

impl Tokens {
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_read + self.cache_write
    }

    /// Adds `other`'s counts; `reported` stays as it was.
    pub fn add(&mut self, other: &Tokens) {
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
        self.cache_write += other.cache_write;
    }
}

/// One thing a harness said, in forge's common vocabulary. Used for live progress and
/// accumulated into a [`RunSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Session {
        id: String,
    },
    Model {
        name: String,
    },
    Message {
        text: String,
    },
    ToolCall {
        name: String,
        detail: String,
    },
    /// Token usage. `cumulative` usage replaces what was seen before; otherwise it adds.
    Usage {
        tokens: Tokens,
        cumulative: bool,
    },
    /// Money spent so far, in US dollars, as the harness reports it.
    Cost {
        usd: f64,
        cumulative: bool,
    },
    Error {
        message: String,
    },
    /// Authentication or authorisation failure: retrying will not help.
    AuthError {
        message: String,
    },
    /// Rate limit or quota; `reset_at` is seconds since the epoch when known.
    RateLimit {
        message: String,
        reset_at: Option<i64>,
    },
    PermissionDenied {
        tool: String,
    },
    /// What a tool call gave back (for transcripts; `ok` false when the tool failed).
    ToolResult {
        ok: bool,
        text: String,
    },
    /// The harness's own final verdict.
    Result {
        ok: bool,
        text: String,
    },
    /// The agent's plan, its entries in order.
    Plan {
        entries: Vec<String>,
    },
    /// A permission request of the agent, and forge's answer.
    Permission {
        decision: crate::harness::presets::acp::policy::Decision,
    },
    /// A file forge wrote for the agent (ACP's `fs/write_text_file`), relative to the
    /// worktree.
    FileWritten {
        path: String,
        bytes: u64,
    },
}

impl Event {
    /// The event as one line for a person watching the run (`forge step`'s progress,
    /// `forge watch`): a tool call, a message, an error; None for bookkeeping (usage, cost,
    /// results). What the harness said passes through `redactor` before it is cut to its
    /// first line and 70 characters: a key cut in half is no longer recognisable.
    pub fn headline(&self, redactor: &crate::redact::Redactor) -> Option<String> {
        let said = |text: &str| first_line_cut(&redactor.redact(text), 70);
        Some(match self {
            Event::ToolCall { name, detail } => format!("tool {} {}", said(name), said(detail)),
            Event::Message { text } => said(text),
            Event::Error { message } | Event::AuthError { message } => {
                format!("error: {}", said(message))
            }
            Event::RateLimit { message, .. } => format!("rate limited: {}", said(message)),
            Event::PermissionDenied { tool } => format!("denied: {}", said(tool)),
            Event::Session { id } => format!("session {}", said(id)),
            Event::Plan { entries } => format!("plan: {}", said(&entries.join(" · "))),
            Event::Permission { decision } => {
                let d = decision;
                let what = d.request.command.as_deref().unwrap_or(&d.request.title);
                let outcome = match d.outcome {
                    Outcome::Allowed => "allowed",
                    Outcome::Denied => "denied",
                    Outcome::Cancelled => "cancelled",
                };
                format!("{outcome} {} {}", d.request.kind, said(what))
            }
            Event::FileWritten { path, .. } => format!("wrote {}", said(path)),
            _ => return None,
        })
    }
}

/// The first line of `text`, trimmed, cut to `max` characters (marked with `…` when cut).
fn first_line_cut(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max - 1).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// Everything forge learned from a run's output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub session_id: Option<String>,
    pub model: Option<String>,
    pub tokens: Tokens,
    pub cost_usd: Option<f64>,
    pub tool_calls: u32,
    pub last_message: Option<String>,
    pub errors: Vec<String>,
    pub auth_error: Option<String>,
    pub rate_limit: Option<(String, Option<i64>)>,
    pub permission_denials: Vec<String>,
    /// The harness's final verdict, if it gave one.
    pub result: Option<bool>,
    pub result_text: Option<String>,
    /// The permission requests forge answered, in order (ACP agents).
    #[serde(default)]
    pub permissions: Vec<Decision>,
    /// The files forge wrote for the agent: path relative to the worktree, and bytes.
    #[serde(default)]
    pub files_written: Vec<(String, u64)>,
}

impl RunSummary {
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Session { id } => self.session_id = Some(id.clone()),
            Event::Model { name } => self.model = Some(name.clone()),
            Event::Message { text } => self.last_message = Some(text.clone()),
            Event::ToolCall { .. } => self.tool_calls += 1,
            Event::Usage { tokens, cumulative } => {
                if *cumulative {
                    self.tokens = *tokens;
                } else {
                    self.tokens.add(tokens);
                }
                self.tokens.reported = true;
            }
            Event::Cost { usd, cumulative } => {
                self.cost_usd = Some(if *cumulative {
                    *usd
                } else {
                    self.cost_usd.unwrap_or(0.0) + usd
                });
            }
            Event::Error { message } => self.errors.push(message.clone()),
            Event::AuthError { message } => self.auth_error = Some(message.clone()),
            Event::RateLimit { message, reset_at } => {
                self.rate_limit = Some((message.clone(), *reset_at))
            }
            Event::PermissionDenied { tool } => self.permission_denials.push(tool.clone()),
            Event::ToolResult { .. } | Event::Plan { .. } => {}
            Event::Permission { decision } => {
                if decision.outcome != Outcome::Allowed {
                    let r = &decision.request;
                    let what = r.command.as_deref().unwrap_or(&r.title);
                    self.permission_denials.push(format!("{} {what}", r.kind));
                }
                self.permissions.push(decision.clone());
            }
            Event::FileWritten { path, bytes } => self.files_written.push((path.clone(), *bytes)),
            Event::Result { ok, text } => {
                self.result = Some(*ok);
                self.result_text = Some(text.clone());
            }
        }
    }
}

/// The most of an agent's final message a checkpoint keeps (`forge log` has all of it).
pub const FINAL_MESSAGE_MAX: usize = 2048;

impl RunSummary {
    /// The agent's own last word: its last message, or else the text of a successful
    /// verdict; at most [`FINAL_MESSAGE_MAX`] bytes, cut at a character boundary.
    pub fn final_message(&self) -> String {
        let text = self
            .last_message
            .as_deref()
            .or(self
                .result_text
                .as_deref()
                .filter(|_| self.result == Some(true)))
            .unwrap_or_default()
            .trim();
        bounded(text, FINAL_MESSAGE_MAX)
    }
}

/// `text` cut to at most `max` bytes at a character boundary, marked when cut.
pub fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    const MORE: &str = "\n[…]";
    let mut end = max.saturating_sub(MORE.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MORE}", text[..end].trim_end())
}

/// How a run ended, judged from the events first and the exit status second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    Succeeded,
    Failed {
        reason: String,
    },
    AuthFailed {
        reason: String,
    },
    RateLimited {
        reason: String,
        reset_at: Option<i64>,
    },
}

/// A parser for one run's output. Presets keep whatever state they need between lines.
pub trait OutputParser: Send {
    /// Turns one line (without its newline) into events.
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Event>;
    /// Events only known once the process has exited (final text lines, state files).
    fn finish(&mut self) -> Vec<Event> {
        Vec::new()
    }
    /// Told before the run: the harness's own HOME, where some harnesses keep what they do
    /// not print (OpenHands' token counts), for `finish` to read.
    fn home(&mut self, _home: &std::path::Path) {}
}

/// One harness CLI.
pub trait Adapter: Send + Sync {
    /// The preset name used in config (`claude`, `codex`, ...).
    fn name(&self) -> &'static str;
    /// The program to look for when none is configured (for `forge doctor`).
    fn default_program(&self) -> &'static str;
    fn command(&self, inv: &Invocation) -> CommandSpec;
    /// A parser for one run's output; `clock` (the workspace's) dates what the harness says
    /// relative to now, such as a rate limit's reset.
    fn parser(&self, clock: &crate::clock::Clock) -> Box<dyn OutputParser>;
    /// Whether `Invocation::resume_session` is honoured.
    fn can_resume(&self) -> bool;
    /// Files the harness leaves behind that are never the agent's work (glob pathspecs,
    /// relative to the worktree): forge does not commit them.
    fn never_commit(&self) -> &'static [&'static str] {
        &[]
    }
    /// Hosts (`host:port`) of the CLI's own model API, reachable through forge's proxy when
    /// `[sandbox] network = "allowlist"`.
    fn api_hosts(&self) -> &'static [&'static str] {
        &[]
    }
    /// Adjusts the command to the containment forge provides: a CLI that has a sandbox or
    /// permission checks of its own is told whether forge's sandbox is enforced around it.
    fn contain(&self, _spec: &mut CommandSpec, _sandboxed: bool) {}
    /// Whether the CLI edits files below a `.git` directory, where forge's worktrees live
    /// by default; if not, the step's worktree goes beside the repository instead.
    fn edits_below_git(&self, _sandboxed: bool) -> bool {
        true
    }
    /// Judges the run. `exit_code` is None when the process was killed by a signal.
    /// The default: any auth error, rate limit, error verdict or nonzero exit fails.
    fn judge(&self, summary: &RunSummary, exit_code: Option<i32>) -> Verdict {
        default_judge(summary, exit_code)
    }
}

pub fn default_judge(summary: &RunSummary, exit_code: Option<i32>) -> Verdict {
    if let Some(reason) = &summary.auth_error {
        return Verdict::AuthFailed {
            reason: reason.clone(),
        };
    }
    if let Some((reason, reset_at)) = &summary.rate_limit
        && summary.result != Some(true)
    {
        return Verdict::RateLimited {
            reason: reason.clone(),
            reset_at: *reset_at,
        };
    }
    if summary.result == Some(false) {
        let reason = summary
            .errors
            .last()
            .or(summary.result_text.as_ref())
            .cloned()
            .unwrap_or_else(|| "the harness reported an error".into());
        return Verdict::Failed { reason };
    }
    match exit_code {
        Some(0) => {}
        Some(code) => {
            return Verdict::Failed {
                reason: match summary.errors.last() {
                    Some(e) => format!("exit status {code}: {e}"),
                    None => format!("exit status {code}"),
                },
            };
        }
        None => {
            return Verdict::Failed {
                reason: "killed by a signal".into(),
            };
        }
    }
    if let Some(e) = summary.errors.last()
        && summary.result.is_none()
    {
        return Verdict::Failed { reason: e.clone() };
    }
    if !summary.permission_denials.is_empty() {
        return Verdict::Failed {
            reason: format!(
                "tools were denied: {}",
                summary.permission_denials.join(", ")
            ),
        };
    }
    Verdict::Succeeded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_message_is_the_last_one_said_and_bounded() {
        let mut s = RunSummary::default();
        assert_eq!(s.final_message(), "");
        s.apply(&Event::Result {
            ok: true,
            text: "All done.".into(),
        });
        assert_eq!(s.final_message(), "All done.");
        s.apply(&Event::Message {
            text: "first".into(),
        });
        s.apply(&Event::Message {
            text: "  I changed the parser.\n".into(),
        });
        assert_eq!(s.final_message(), "I changed the parser.");
        // A failed verdict's text is an error, not the agent's word.
        let mut failed = RunSummary::default();
        failed.apply(&Event::Result {
            ok: false,
            text: "API Error: 401".into(),
        });
        assert_eq!(failed.final_message(), "");

        s.apply(&Event::Message {
            text: "é".repeat(FINAL_MESSAGE_MAX),
        });
        let cut = s.final_message();
        assert!(cut.len() <= FINAL_MESSAGE_MAX, "{}", cut.len());
        assert!(cut.starts_with("éé") && cut.ends_with("[…]"));
    }
}
