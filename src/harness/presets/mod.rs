//! Built-in adapters, one file per harness CLI. See ../shared/HARNESSES.md for the
//! interfaces they follow; `common` holds what they share, and each file's tests feed it the
//! captured output samples in `fixtures/harness-output/<preset>/`.

pub mod aider;
pub mod claude;
pub mod codex;
pub mod command;
mod common;
#[cfg(test)]
mod fakes;
pub mod gemini;
pub mod opencode;
pub mod openhands;

use super::adapter::Adapter;

/// Every preset name, in the order `forge doctor` lists them.
pub const NAMES: &[&str] = &[
    "claude",
    "codex",
    "gemini",
    "aider",
    "opencode",
    "openhands",
    "command",
];

pub fn by_name(name: &str) -> Option<&'static dyn Adapter> {
    match name {
        "claude" => Some(&claude::Claude),
        "codex" => Some(&codex::Codex),
        "gemini" => Some(&gemini::Gemini),
        "aider" => Some(&aider::Aider),
        "opencode" => Some(&opencode::OpenCode),
        "openhands" => Some(&openhands::OpenHands),
        "command" => Some(&command::Command),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_its_adapter() {
        for name in NAMES {
            let adapter = by_name(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(adapter.name(), *name);
            assert!(!adapter.default_program().is_empty());
        }
        assert!(by_name("nope").is_none());
    }
}
