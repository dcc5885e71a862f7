//! The `acp` preset: any agent that speaks the Agent Client Protocol (JSON-RPC 2.0 over its
//! stdio, protocol version 1), with forge as the client and the permission broker.
//!
//! forge drives the protocol itself, synchronously, on the step's thread, inside its process
//! runner (`harness::process` with a [`Conversation`]) rather than through the official
//! SDK's connection. The runner already owns the agent's pipes: it logs every line, enforces
//! the timeouts, and stops the whole process tree; the SDK's connection wants to own the
//! transport on an async executor, which would duplicate all of that and bypass it. The
//! client here is a small state machine over a handful of message shapes (`wire.rs`),
//! written from the v1 schema. The SDK's schema crate was not used for those types: it
//! switches on serde_json's `preserve_order` for the whole build, which would change the key
//! order of every JSON document forge writes, hash-chained ledger lines included.
//!
//! The agent's command comes from `command` in config (`["gemini", "--acp"]`); without one,
//! `gemini --acp`. Known agents (Gemini CLI, claude-agent-acp, codex-acp, opencode,
//! OpenHands) are recognised by their program's name, for the API hosts the egress proxy
//! lets through.

mod client;
mod command;
pub mod files;
pub mod policy;
mod wire;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use super::common::{s, spec};
use crate::harness::adapter::{
    Adapter, CommandSpec, Invocation, OutputParser, RunSummary, Verdict,
};
use crate::harness::process::Conversation;
pub use client::Setup;
use policy::{Ask, Hosts, Permissions};

pub struct Acp;

/// Which of its `fs/*` methods forge offers an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fs {
    pub read: bool,
    pub write: bool,
}

/// What a run of the `acp` preset needs besides its command: see [`Adapter::converse`].
pub struct Converse<'a> {
    pub conversation: Conversation,
    pub prompt: String,
    pub resume: Option<String>,
    pub worktree: PathBuf,
    pub permissions: &'a Permissions,
    /// Which `fs/*` methods forge offers (see `HarnessConfig::acp_fs`).
    pub fs: Fs,
    pub hosts: Hosts,
    pub ask: Option<Arc<dyn Ask>>,
    pub now: i64,
}

/// Starts the client side of a conversation: its first message is queued at once.
pub fn client(c: Converse<'_>) -> Box<dyn OutputParser> {
    Box::new(client::Client::start(
        c.conversation,
        Setup {
            prompt: c.prompt,
            resume: c.resume,
            worktree: c.worktree,
            fs: c.fs,
            permissions: c.permissions.clone(),
            hosts: c.hosts,
            ask: c.ask,
            now: c.now,
        },
    ))
}

impl Adapter for Acp {
    fn name(&self) -> &'static str {
        "acp"
    }

    fn default_program(&self) -> &'static str {
        "gemini"
    }

    fn command(&self, inv: &Invocation) -> CommandSpec {
        let configured = inv.command.as_ref().is_some_and(|c| !c.is_empty());
        let args = if configured {
            Vec::new()
        } else {
            vec![s("--acp")]
        };
        let mut spec = spec(inv, self.default_program(), args, None, &[]);
        // A known agent gets its CLI's quiet settings (no auto-update, telemetry or
        // nonessential traffic, bounded retries), not its headless flags; IS_SANDBOX only
        // unlocks Claude Code's bypass mode, which an ACP client never asks for.
        if let Some(cli) = known_agent(&spec.program) {
            let own = cli.command(&Invocation {
                model: inv.model.clone(),
                ..Invocation::default()
            });
            spec.env
                .extend(own.env.into_iter().filter(|(k, _)| k != "IS_SANDBOX"));
        }
        spec.session = Some(crate::harness::adapter::SessionStart {
            prompt: inv.prompt.clone(),
            resume: inv.resume_session.clone(),
        });
        spec
    }

    /// Reads a run's log after the fact (`forge log`, `forge watch`): a live run talks
    /// through [`client`] instead.
    fn parser(&self, clock: &crate::clock::Clock) -> Box<dyn OutputParser> {
        Box::new(client::Client::reader(Setup {
            prompt: String::new(),
            resume: None,
            worktree: PathBuf::new(),
            fs: Fs {
                read: false,
                write: false,
            },
            permissions: Permissions::default(),
            hosts: Hosts::Only(Default::default()),
            ask: None,
            now: clock.now_secs(),
        }))
    }

    fn can_resume(&self) -> bool {
        true
    }

    /// The agent's answer to the prompt decides; its exit status (it is stopped once it has
    /// answered) does not.
    fn judge(&self, summary: &RunSummary, exit_code: Option<i32>) -> Verdict {
        match summary.result {
            Some(true) if summary.auth_error.is_none() => Verdict::Succeeded,
            Some(_) => super::super::adapter::default_judge(summary, Some(0)),
            None => super::super::adapter::default_judge(summary, exit_code),
        }
    }
}

/// The known CLI an ACP agent's program is, by its file name: its preset knows the API
/// hosts it needs.
pub fn known_agent(program: &str) -> Option<&'static dyn Adapter> {
    let name = std::path::Path::new(program).file_name()?.to_str()?;
    let preset = match name {
        "gemini" => "gemini",
        "claude-agent-acp" | "claude-code-acp" => "claude",
        "codex-acp" => "codex",
        "opencode" => "opencode",
        "openhands" => "openhands",
        _ => return None,
    };
    super::by_name(preset)
}

/// `forge doctor`'s question to an ACP agent: `initialize`, and no session.
pub fn hello() -> Vec<u8> {
    wire::request(1, "initialize", wire::initialize(false, false))
}

/// The agent's answer to [`hello`], from one line of its stdout: Ok with what it said it
/// is, Err with why not; None for any other line.
pub fn greeting(line: &str) -> Option<Result<String, String>> {
    let Ok(wire::Incoming::Response { id: 1, outcome }) = wire::parse(line) else {
        return None;
    };
    Some(match outcome {
        Err(e) => Err(format!("initialize failed: {} ({})", e.message, e.code)),
        Ok(result) => match serde_json::from_value::<wire::InitializeResponse>(result) {
            Err(e) => Err(format!("its initialize answer does not parse: {e}")),
            Ok(init) if init.protocol_version != wire::PROTOCOL_VERSION => Err(format!(
                "it speaks ACP version {}; forge speaks version {}",
                init.protocol_version,
                wire::PROTOCOL_VERSION
            )),
            Ok(init) => {
                let who = init
                    .agent_info
                    .map(|i| format!("{} {}", i.name, i.version).trim().to_owned())
                    .filter(|w| !w.is_empty())
                    .unwrap_or_else(|| "an agent that gave no name".into());
                Ok(format!("ACP v1: {who}"))
            }
        },
    })
}
