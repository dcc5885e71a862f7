//! Built-in adapters, one file per harness CLI. See ../shared/HARNESSES.md for the
//! interfaces they follow; `common` holds what they share, and each file's tests feed it the
//! captured output samples in `fixtures/harness-output/<preset>/`.

pub mod aider;
pub mod claude;
pub mod codex;
pub mod command;
mod common;
pub mod gemini;
pub mod opencode;

use super::adapter::Adapter;

/// Every preset name, in the order `forge doctor` lists them.
pub const NAMES: &[&str] = &["claude", "codex", "gemini", "aider", "opencode", "command"];

pub fn by_name(name: &str) -> Option<&'static dyn Adapter> {
    match name {
        "claude" => Some(&claude::Claude),
        "codex" => Some(&codex::Codex),
        "gemini" => Some(&gemini::Gemini),
        "aider" => Some(&aider::Aider),
        "opencode" => Some(&opencode::OpenCode),
        "command" => Some(&command::Command),
        _ => None,
    }
}
