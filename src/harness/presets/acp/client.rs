//! forge's side of one ACP conversation, driven line by line on the run's thread.
//!
//! `initialize`, then `session/new` (or `session/resume`/`session/load` of the session a
//! revision continues), then one `session/prompt`; its answer ends the conversation. Meanwhile
//! every `session/update` becomes one of forge's events, every `session/request_permission`
//! is answered from the policy (see `policy.rs`) and every `fs/*` request is served inside the
//! worktree (see `files.rs`). Anything on stdout that is not JSON-RPC ends the run: an agent
//! that breaks the protocol cannot be followed further.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use super::Fs;
use super::files::{self, Refusal};
use super::policy::{Ask, Decision, Hosts, Outcome, Permissions, Request, Rule};
use super::wire::{self, Incoming};
use crate::harness::adapter::{Event, OutputParser, Stream, Tokens};
use crate::harness::presets::common::{classify_error, ended_early, keep_stderr, preview};
use crate::harness::process::Conversation;

/// What a conversation is for, and under which rules.
pub struct Setup {
    pub prompt: String,
    /// The session a revision continues.
    pub resume: Option<String>,
    /// The step's worktree: the session's cwd, and all the agent may touch.
    pub worktree: PathBuf,
    /// Which of `fs/read_text_file` and `fs/write_text_file` forge offers.
    pub fs: Fs,
    pub permissions: Permissions,
    pub hosts: Hosts,
    pub ask: Option<Arc<dyn Ask>>,
    /// Now, in seconds since the epoch (the workspace's clock), for rate-limit resets.
    pub now: i64,
}

/// How much of a streamed message is kept.
const MESSAGE_KEPT: usize = 64 << 10;
/// How many requests forge answers and records in one run (permissions and file writes):
/// each is a ledger line, committed for ever, so an agent that floods forge is stopped.
const MAX_RECORDED: usize = 2_000;
/// How many tool calls are remembered by id (for the kind and title later updates omit).
const MAX_TOOLS: usize = 10_000;

/// What forge is waiting to hear back about.
#[derive(Debug, Clone)]
enum Waiting {
    Initialize,
    NewSession,
    /// `session/resume` or `session/load` of this session.
    Continue {
        session: String,
    },
    Prompt,
}

pub struct Client {
    /// None: reading a log after the fact (`forge log`, `forge watch`), answering nothing.
    conv: Option<Conversation>,
    setup: Setup,
    next_id: u64,
    waiting: HashMap<u64, Waiting>,
    session: Option<String>,
    /// A `session/load` replays the old conversation as updates: not this run's events.
    replaying: bool,
    /// The agent's message being streamed in chunks.
    message: String,
    /// Tool calls by id: their kind and title, which updates and requests may leave out.
    tools: HashMap<String, (String, String)>,
    done: bool,
    stderr: Option<String>,
    /// What forge refused, for the reason of a turn the agent then gave up.
    denied: Vec<String>,
    /// forge's messages piled up unread: the run ends at the next line.
    overflowed: bool,
    /// Permission decisions and file writes so far.
    recorded: usize,
    /// Files whose edit a permission (the policy's or a person's) allowed in this run,
    /// relative to the worktree: the agent's `fs/*` requests for them are served.
    granted: std::collections::HashSet<PathBuf>,
    /// The latest tool call announced: a permission request that names none of its own
    /// (OpenHands' generic `confirmation-…`) is about it.
    last_tool: Option<wire::ToolCall>,
}

impl Client {
    /// Starts the conversation: `initialize` is queued for the agent's stdin.
    pub fn start(conv: Conversation, setup: Setup) -> Self {
        let mut client = Client::reader(setup);
        client.conv = Some(conv);
        let params = wire::initialize(client.setup.fs.read, client.setup.fs.write);
        client.ask_agent("initialize", params, Waiting::Initialize);
        client
    }

    /// Reads a conversation's log: the agent's side of it, as events.
    pub fn reader(setup: Setup) -> Self {
        Client {
            conv: None,
            setup,
            next_id: 0,
            waiting: HashMap::new(),
            session: None,
            replaying: false,
            message: String::new(),
            tools: HashMap::new(),
            done: false,
            stderr: None,
            denied: Vec::new(),
            last_tool: None,
            overflowed: false,
            recorded: 0,
            granted: Default::default(),
        }
    }

    /// Sends `bytes` to the agent; an agent that has left 64 MiB unread is not followed
    /// further (see [`Client::overflowed`]).
    fn send(&mut self, bytes: Vec<u8>) {
        if let Some(conv) = &self.conv
            && !conv.send(bytes)
        {
            self.overflowed = true;
        }
    }

    fn end(&self) {
        if let Some(conv) = &self.conv {
            conv.end();
        }
    }

    fn ask_agent(&mut self, method: &str, params: Value, waiting: Waiting) {
        self.next_id += 1;
        self.waiting.insert(self.next_id, waiting);
        self.send(wire::request(self.next_id, method, params));
    }

    /// Ends the conversation with a failure: `why` is the step's reason.
    fn fail(&mut self, event: Event) -> Vec<Event> {
        let mut out = self.flush();
        let text = match &event {
            Event::Error { message } | Event::AuthError { message } => message.clone(),
            Event::RateLimit { message, .. } => message.clone(),
            _ => String::new(),
        };
        out.push(event);
        out.push(Event::Result { ok: false, text });
        self.done = true;
        self.end();
        out
    }

    /// The streamed message, complete.
    fn flush(&mut self) -> Vec<Event> {
        let text = std::mem::take(&mut self.message);
        if text.trim().is_empty() {
            Vec::new()
        } else {
            vec![Event::Message { text }]
        }
    }

    fn on_response(&mut self, id: u64, outcome: Result<Value, wire::RpcError>) -> Vec<Event> {
        if self.conv.is_none() {
            // A log: the prompt's answer is the one with a stop reason.
            return match outcome {
                Ok(result) if result.get("stopReason").is_some() => self.answered(result),
                _ => Vec::new(),
            };
        }
        let Some(waiting) = self.waiting.remove(&id) else {
            return Vec::new(); // an answer to nothing forge asked: nothing to do
        };
        match (waiting, outcome) {
            (Waiting::Continue { .. }, Err(_)) => {
                // The agent no longer has the session: a new one gets the prompt, which
                // carries the feedback.
                self.replaying = false;
                self.new_session();
                Vec::new()
            }
            (Waiting::Initialize, Ok(result)) => self.initialized(result),
            (Waiting::NewSession, Ok(result)) => {
                match result.get("sessionId").and_then(Value::as_str) {
                    Some(id) => self.prompt(id.to_owned()),
                    None => self.fail(Event::Error {
                        message: "the agent's session/new answer has no sessionId".into(),
                    }),
                }
            }
            (Waiting::Continue { session, .. }, Ok(_)) => {
                self.replaying = false;
                self.prompt(session)
            }
            (Waiting::Prompt, Ok(result)) => self.answered(result),
            (waiting, Err(e)) => {
                let what = match waiting {
                    Waiting::Initialize => "initialize",
                    Waiting::NewSession => "session/new",
                    Waiting::Prompt => "session/prompt",
                    Waiting::Continue { .. } => unreachable!("handled above"),
                };
                let event = rpc_failure(what, &e, self.setup.now);
                self.fail(event)
            }
        }
    }

    fn initialized(&mut self, result: Value) -> Vec<Event> {
        let init: wire::InitializeResponse = match serde_json::from_value(result) {
            Ok(i) => i,
            Err(e) => {
                return self.fail(Event::Error {
                    message: format!("the agent's initialize answer does not parse: {e}"),
                });
            }
        };
        if init.protocol_version != wire::PROTOCOL_VERSION {
            return self.fail(Event::Error {
                message: format!(
                    "the agent speaks ACP version {}; forge speaks version {}",
                    init.protocol_version,
                    wire::PROTOCOL_VERSION
                ),
            });
        }
        let caps = init.agent_capabilities;
        match self.setup.resume.clone() {
            Some(session) if caps.session_capabilities.resume.is_some() => {
                self.continue_session(session, false)
            }
            Some(session) if caps.load_session => {
                self.replaying = true;
                self.continue_session(session, true)
            }
            _ => self.new_session(),
        }
        Vec::new()
    }

    fn continue_session(&mut self, session: String, load: bool) {
        let params = json!({
            "sessionId": session,
            "cwd": self.setup.worktree,
            "mcpServers": [],
        });
        let method = if load {
            "session/load"
        } else {
            "session/resume"
        };
        self.ask_agent(method, params, Waiting::Continue { session });
    }

    fn new_session(&mut self) {
        let params = json!({"cwd": self.setup.worktree, "mcpServers": []});
        self.ask_agent("session/new", params, Waiting::NewSession);
    }

    fn prompt(&mut self, session: String) -> Vec<Event> {
        let params = json!({
            "sessionId": session,
            "prompt": [{"type": "text", "text": self.setup.prompt}],
        });
        self.ask_agent("session/prompt", params, Waiting::Prompt);
        // Stopped from outside (a timeout, Ctrl-C, a pause), the turn is cancelled first.
        let cancel = wire::notification("session/cancel", json!({"sessionId": session}));
        if let Some(conv) = &self.conv {
            conv.set_farewell(Some(cancel));
        }
        self.session = Some(session.clone());
        vec![Event::Session { id: session }]
    }

    fn answered(&mut self, result: Value) -> Vec<Event> {
        let mut out = self.flush();
        out.extend(quota(&result));
        let response: wire::PromptResponse = match serde_json::from_value(result) {
            Ok(r) => r,
            Err(e) => {
                return self.fail(Event::Error {
                    message: format!("the agent's session/prompt answer does not parse: {e}"),
                });
            }
        };
        if let Some(u) = response.usage {
            out.push(Event::Usage {
                tokens: Tokens {
                    input: u.input_tokens,
                    output: u.output_tokens,
                    cache_read: u.cached_read_tokens.unwrap_or(0),
                    cache_write: u.cached_write_tokens.unwrap_or(0),
                    reported: true,
                },
                cumulative: true,
            });
        }
        let reason = response.stop_reason;
        let (ok, text) = match reason.as_str() {
            "end_turn" => (true, "the agent ended its turn".to_owned()),
            "refusal" => (false, "the agent refused (stop reason refusal)".to_owned()),
            "max_tokens" => (
                false,
                "the agent ran out of output tokens (stop reason max_tokens)".to_owned(),
            ),
            "max_turn_requests" => (
                false,
                "the agent reached its limit of model requests (stop reason max_turn_requests)"
                    .to_owned(),
            ),
            "cancelled" => match self.denied.last() {
                // Not forge's cancel: some agents (codex-acp) give up the turn when a
                // permission is refused.
                Some(what) if !self.conv.as_ref().is_some_and(Conversation::is_leaving) => (
                    false,
                    format!("the agent gave up its turn after forge refused {what}"),
                ),
                _ => (false, "the turn was cancelled".to_owned()),
            },
            other => (false, format!("the agent stopped: {other}")),
        };
        out.push(Event::Result { ok, text });
        self.done = true;
        self.end();
        out
    }

    fn on_request(&mut self, id: Value, method: &str, params: Value) -> Vec<Event> {
        if self.conv.is_none() {
            return Vec::new(); // a log: forge's answers are in the ledger
        }
        match method {
            "session/request_permission" => self.permission(&id, params),
            "fs/read_text_file" if self.setup.fs.read => self.read_file(&id, params),
            "fs/write_text_file" if self.setup.fs.write => self.write_file(&id, params),
            _ => {
                let message = format!("forge does not offer {method}");
                self.send(wire::error(&id, wire::METHOD_NOT_FOUND, &message));
                Vec::new()
            }
        }
    }

    fn permission(&mut self, id: &Value, params: Value) -> Vec<Event> {
        let asked: wire::PermissionRequest = match serde_json::from_value(params) {
            Ok(r) => r,
            Err(e) => {
                let message = format!("a permission request forge cannot read: {e}");
                self.send(wire::error(id, wire::INVALID_PARAMS, &message));
                return vec![Event::Error { message }];
            }
        };
        let mut call = asked.tool_call;
        let bare = call.raw_input.is_none()
            && call.locations.as_ref().is_none_or(Vec::is_empty)
            && call.kind.as_deref().is_none_or(|k| k == "other")
            && !self.tools.contains_key(&call.tool_call_id);
        if bare && let Some(last) = &self.last_tool {
            call = last.clone();
        }
        // A tool call announced only in its permission request (Gemini CLI) is one too.
        let mut out = Vec::new();
        if !bare && !self.tools.contains_key(&call.tool_call_id) && self.tools.len() < MAX_TOOLS {
            let kind = preview(call.kind.as_deref().unwrap_or("other"), 40);
            let title = preview(call.title.as_deref().unwrap_or_default(), 400);
            self.tools
                .insert(call.tool_call_id.clone(), (kind.clone(), title.clone()));
            out.push(Event::ToolCall {
                name: kind,
                detail: title,
            });
        }
        let request = self.request_of(&call);
        if self.conv.as_ref().is_some_and(Conversation::is_leaving) {
            // The turn is being cancelled: whatever it asks now is answered so (ACP requires it).
            self.send(wire::result(id, wire::permission_outcome(None)));
            return out
                .into_iter()
                .chain([Event::Permission {
                    decision: Decision {
                        request,
                        outcome: Outcome::Cancelled,
                        option: None,
                        rule: "the turn was being cancelled".into(),
                        human: None,
                    },
                }])
                .collect();
        }
        let ruling =
            self.setup
                .permissions
                .judge(&request, &self.setup.worktree, &self.setup.hosts);
        let (mut allow, mut human, mut rule) = (ruling.rule == Rule::Allow, None, ruling.because);
        if ruling.rule == Rule::Ask {
            match self.setup.ask.as_ref().and_then(|a| a.ask(&request, &rule)) {
                Some(yes) => {
                    allow = yes;
                    human = Some(yes);
                    let said = if yes { "yes" } else { "no" };
                    rule = format!("{rule}: the person at the terminal said {said}");
                }
                None => rule = format!("{rule}: nobody to ask, a human was needed"),
            }
        }
        let kinds: &[&str] = if allow {
            &["allow_once"]
        } else {
            &["reject_once", "reject_always"]
        };
        let option = kinds.iter().find_map(|k| {
            asked
                .options
                .iter()
                .find(|o| o.kind == *k)
                .map(|o| (o.option_id.clone(), *k))
        });
        let outcome = match (&option, allow) {
            (Some(_), true) => Outcome::Allowed,
            (Some(_), false) => Outcome::Denied,
            (None, _) => {
                if allow {
                    // Only "always": forge grants one call at a time, so it cannot say yes.
                    rule = format!("{rule}; the agent offered no allow_once option");
                }
                Outcome::Cancelled
            }
        };
        if outcome == Outcome::Allowed {
            let worktree = &self.setup.worktree;
            self.granted.extend(
                request
                    .paths
                    .iter()
                    .filter_map(|p| files::beneath(worktree, Path::new(p))),
            );
        } else {
            let what = request.command.as_deref().unwrap_or(&request.title);
            self.denied
                .push(format!("`{}` ({})", preview(what, 80), rule));
        }
        let answer = wire::permission_outcome(option.as_ref().map(|(id, _)| id.as_str()));
        self.send(wire::result(id, answer));
        out.push(Event::Permission {
            decision: Decision {
                request,
                outcome,
                option: option.map(|(_, kind)| kind.to_owned()),
                rule,
                human,
            },
        });
        out
    }

    /// What a tool call asks to do: its kind, title, command, URL and paths (made absolute
    /// against the worktree), filled in from the tool call it updates.
    fn request_of(&self, call: &wire::ToolCall) -> Request {
        let known = self.tools.get(&call.tool_call_id);
        let kind = call
            .kind
            .clone()
            .or_else(|| known.map(|k| k.0.clone()))
            .unwrap_or_else(|| "other".into());
        let title = call
            .title
            .clone()
            .or_else(|| known.map(|k| k.1.clone()))
            .unwrap_or_default();
        let input = call.raw_input.as_ref();
        let text_of = |key: &str| -> Option<String> {
            match input?.get(key)? {
                Value::String(s) => Some(s.clone()),
                Value::Array(words) => Some(
                    words
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            }
        };
        let command = (kind == "execute").then(|| {
            text_of("command")
                .or_else(|| text_of("cmd"))
                .unwrap_or_else(|| title.clone())
        });
        let url = text_of("url");
        let mut paths: Vec<String> = call
            .locations
            .iter()
            .flatten()
            .map(|l| l.path.clone())
            .collect();
        for key in [
            "file_path",
            "filePath",
            "filepath",
            "path",
            "absolute_path",
            "abs_path",
        ] {
            paths.extend(text_of(key));
        }
        paths.extend(
            call.content
                .iter()
                .flatten()
                .filter_map(|c| c.get("path").and_then(Value::as_str))
                .map(str::to_owned),
        );
        for p in &mut paths {
            if !Path::new(p).is_absolute() {
                *p = self.setup.worktree.join(&*p).display().to_string();
            }
        }
        paths.sort();
        paths.dedup();
        Request {
            kind,
            title,
            command,
            url,
            paths,
        }
    }

    /// Judges an `fs/*` request by the policy (`kind`: read or edit); Some(refusal event)
    /// when it is denied, the answer already sent.
    fn fs_denied(&mut self, id: &Value, kind: &str, method: &str, path: &str) -> Option<Event> {
        let request = file_request(kind, method, path);
        let ruling =
            self.setup
                .permissions
                .judge(&request, &self.setup.worktree, &self.setup.hosts);
        // An `ask` for a file is not worth a prompt per read: `allow` serves it, or a
        // permission already given for that file in this run.
        let granted = files::beneath(&self.setup.worktree, Path::new(path))
            .is_some_and(|rel| self.granted.contains(&rel));
        if ruling.rule == Rule::Allow || granted {
            return None;
        }
        let told = format!("forge denied {method} of {path}: {}", ruling.because);
        Some(self.file_denied(id, request, &told, ruling.because))
    }

    /// Refuses an `fs/*` request: the agent is told `told`, the ledger gets a denial by
    /// `rule`.
    fn file_denied(&mut self, id: &Value, request: Request, told: &str, rule: String) -> Event {
        self.send(wire::error(id, wire::INVALID_PARAMS, told));
        Event::Permission {
            decision: Decision {
                request,
                outcome: Outcome::Denied,
                option: None,
                rule,
                human: None,
            },
        }
    }

    fn read_file(&mut self, id: &Value, params: Value) -> Vec<Event> {
        let Ok(req) = serde_json::from_value::<wire::ReadTextFile>(params) else {
            let message = "fs/read_text_file needs an absolute path";
            self.send(wire::error(id, wire::INVALID_PARAMS, message));
            return Vec::new();
        };
        if let Some(denied) = self.fs_denied(id, "read", "fs/read_text_file", &req.path) {
            return vec![denied];
        }
        let path = Path::new(&req.path);
        match files::read(&self.setup.worktree, path, req.line, req.limit) {
            Ok(content) => {
                self.send(wire::result(id, json!({"content": content})));
                Vec::new()
            }
            Err(refusal) => self.refused(id, "fs/read_text_file", "read", &req.path, refusal),
        }
    }

    fn write_file(&mut self, id: &Value, params: Value) -> Vec<Event> {
        let Ok(req) = serde_json::from_value::<wire::WriteTextFile>(params) else {
            let message = "fs/write_text_file needs an absolute path and content";
            self.send(wire::error(id, wire::INVALID_PARAMS, message));
            return Vec::new();
        };
        if let Some(denied) = self.fs_denied(id, "edit", "fs/write_text_file", &req.path) {
            return vec![denied];
        }
        match files::write(&self.setup.worktree, Path::new(&req.path), &req.content) {
            Ok(rel) => {
                self.send(wire::result(id, json!({})));
                vec![Event::FileWritten {
                    path: rel.display().to_string(),
                    bytes: req.content.len() as u64,
                }]
            }
            Err(refusal) => self.refused(id, "fs/write_text_file", "edit", &req.path, refusal),
        }
    }

    fn refused(
        &mut self,
        id: &Value,
        method: &str,
        kind: &str,
        path: &str,
        refusal: Refusal,
    ) -> Vec<Event> {
        let (code, why) = match refusal {
            Refusal::Outside(why) => {
                let request = file_request(kind, method, path);
                return vec![self.file_denied(id, request, &why, why.clone())];
            }
            Refusal::Missing(why) => (wire::RESOURCE_NOT_FOUND, why),
            Refusal::Failed(why) => (wire::INTERNAL_ERROR, why),
        };
        self.send(wire::error(id, code, &why));
        Vec::new()
    }

    fn on_update(&mut self, params: &Value) -> Vec<Event> {
        if self.replaying {
            return Vec::new();
        }
        let Some(update) = params.get("update") else {
            return Vec::new();
        };
        let kind = update.get("sessionUpdate").and_then(Value::as_str);
        if kind == Some("agent_message_chunk") {
            if let Some(text) = update.pointer("/content/text").and_then(Value::as_str) {
                self.message.push_str(text);
                // Only the end of a message is kept (the step keeps 2 KiB of it): an agent
                // streaming without end cannot grow forge without end.
                if self.message.len() > MESSAGE_KEPT * 2 {
                    let mut cut = self.message.len() - MESSAGE_KEPT;
                    while !self.message.is_char_boundary(cut) {
                        cut += 1;
                    }
                    self.message.drain(..cut);
                }
            }
            return Vec::new();
        }
        let mut out = self.flush();
        match kind {
            Some("tool_call") => {
                let call: wire::ToolCall =
                    serde_json::from_value(update.clone()).unwrap_or_default();
                let kind = preview(call.kind.as_deref().unwrap_or("other"), 40);
                let title = preview(call.title.as_deref().unwrap_or_default(), 400);
                if self.tools.len() < MAX_TOOLS {
                    self.tools
                        .insert(call.tool_call_id.clone(), (kind.clone(), title.clone()));
                }
                self.last_tool = Some(call);
                out.push(Event::ToolCall {
                    name: kind,
                    detail: title,
                });
            }
            Some("tool_call_update") => {
                let call: wire::ToolCall =
                    serde_json::from_value(update.clone()).unwrap_or_default();
                let title = call
                    .title
                    .or_else(|| self.tools.get(&call.tool_call_id).map(|k| k.1.clone()))
                    .unwrap_or_default();
                match call.status.as_deref() {
                    Some("completed") => out.push(Event::ToolResult {
                        ok: true,
                        text: title,
                    }),
                    Some("failed") => out.push(Event::ToolResult {
                        ok: false,
                        text: title,
                    }),
                    _ => {}
                }
            }
            Some("plan") => {
                let entries = update
                    .get("entries")
                    .and_then(Value::as_array)
                    .map(|e| {
                        e.iter()
                            .filter_map(|x| x.get("content").and_then(Value::as_str))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Event::Plan { entries });
            }
            Some("usage_update") => {
                if let Some(used) = update.get("used").and_then(Value::as_u64) {
                    out.push(Event::Usage {
                        tokens: Tokens {
                            input: used,
                            reported: true,
                            ..Tokens::default()
                        },
                        cumulative: true,
                    });
                }
                let cost = update.get("cost");
                let usd = cost
                    .filter(|c| c.get("currency").and_then(Value::as_str) == Some("USD"))
                    .and_then(|c| c.get("amount"))
                    .and_then(Value::as_f64);
                if let Some(usd) = usd {
                    out.push(Event::Cost {
                        usd,
                        cumulative: true,
                    });
                }
            }
            _ => {}
        }
        out
    }
}

impl OutputParser for Client {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Event> {
        if stream == Stream::Stderr {
            keep_stderr(&mut self.stderr, line);
            return Vec::new();
        }
        if self.done || line.trim().is_empty() {
            return Vec::new();
        }
        let mut out = self.on_line(line);
        self.recorded += out
            .iter()
            .filter(|e| matches!(e, Event::Permission { .. } | Event::FileWritten { .. }))
            .count();
        if self.recorded > MAX_RECORDED && !self.done {
            out.extend(self.fail(Event::Error {
                message: format!(
                    "the agent made more than {MAX_RECORDED} permission requests and file \
                     writes in one run"
                ),
            }));
        }
        if self.overflowed && !self.done {
            out.extend(self.fail(Event::Error {
                message: "the agent does not read what forge sends it (64 MiB unread)".into(),
            }));
        }
        out
    }

    fn finish(&mut self) -> Vec<Event> {
        if self.done {
            return Vec::new();
        }
        let what = if self.session.is_some() {
            "the agent exited before it answered the prompt"
        } else {
            "the agent exited before its session began"
        };
        let event = ended_early(what, None, self.stderr.as_deref());
        self.fail(event)
    }
}

impl Client {
    fn on_line(&mut self, line: &str) -> Vec<Event> {
        match wire::parse(line) {
            Ok(Incoming::Response { id, outcome }) => self.on_response(id, outcome),
            Ok(Incoming::Request { id, method, params }) => self.on_request(id, &method, params),
            Ok(Incoming::Notification { method, params }) => match method.as_str() {
                "session/update" => self.on_update(&params),
                _ => Vec::new(),
            },
            Err(why) => {
                let long = line.len() >= crate::harness::process::MAX_LINE_BYTES;
                let message = if long {
                    "the agent sent a message longer than forge reads (1 MiB)".to_owned()
                } else if why == wire::CUT {
                    let event = ended_early(
                        "the agent's output ended in the middle of a message",
                        Some(&preview(line, 120)),
                        self.stderr.as_deref(),
                    );
                    return self.fail(event);
                } else {
                    format!(
                        "the agent broke the protocol: a line on stdout is {why}: {}",
                        preview(line, 120)
                    )
                };
                self.fail(Event::Error { message })
            }
        }
    }
}

/// Gemini CLI's usage, only in the prompt answer's `_meta.quota`: its token counts, and
/// the model that used the most of them (the router's `auto` is a side call).
fn quota(result: &Value) -> Vec<Event> {
    let Some(quota) = result.pointer("/_meta/quota") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let count = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
    let model = quota
        .get("model_usage")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m.get("model")?.as_str()?, m.get("token_count")?)))
        .filter(|(name, _)| *name != "auto")
        .max_by_key(|(_, t)| count(t, "input_tokens") + count(t, "output_tokens"));
    if let Some((name, _)) = model {
        out.push(Event::Model {
            name: name.to_owned(),
        });
    }
    if let Some(t) = quota.get("token_count") {
        out.push(Event::Usage {
            tokens: Tokens {
                input: count(t, "input_tokens"),
                output: count(t, "output_tokens"),
                reported: true,
                ..Tokens::default()
            },
            cumulative: true,
        });
    }
    out
}

/// What an `fs/*` request on `path` asks, for the policy and the ledger.
fn file_request(kind: &str, method: &str, path: &str) -> Request {
    Request {
        kind: kind.into(),
        title: method.into(),
        paths: vec![path.into()],
        ..Request::default()
    }
}

/// An error answer to one of forge's requests, as the event that says most. Agents put the
/// cause in different places (observed: Gemini CLI uses the HTTP status as the code,
/// claude-agent-acp `data.errorKind`, OpenHands `data.details`).
fn rpc_failure(method: &str, e: &wire::RpcError, now: i64) -> Event {
    let data = e.data.as_ref();
    let mut details: Vec<&str> = Vec::new();
    if let Some(text) = data.and_then(Value::as_str) {
        details.push(text);
    }
    for key in ["message", "details", "reason", "errorKind"] {
        if let Some(text) = data.and_then(|d| d.get(key)).and_then(Value::as_str) {
            details.push(text);
        }
    }
    let status = data
        .and_then(|d| d.get("status").or(d.get("statusCode")))
        .and_then(Value::as_u64)
        .or_else(|| {
            u64::try_from(e.code)
                .ok()
                .filter(|c| (400..600).contains(c))
        })
        .and_then(|s| u16::try_from(s).ok());
    let mut message = format!("{method} failed: {}", e.message.trim());
    for d in details.iter().filter(|d| !d.trim().is_empty()) {
        message = format!("{message}: {}", d.trim());
    }
    let message = preview(&message, 400);
    if e.code == wire::AUTH_REQUIRED {
        return Event::AuthError { message };
    }
    classify_error(&message, status, now)
}
