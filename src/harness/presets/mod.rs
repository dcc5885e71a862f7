//! Built-in adapters, one file per harness CLI. See ../shared/HARNESSES.md for the
//! interfaces they follow; `common` holds what they share, and each file's tests feed it the
//! captured output samples in `fixtures/harness-output/<preset>/`.

pub mod acp;
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

/// Every preset, in the order `forge doctor` lists them: the one list of them.
pub const ALL: &[&dyn Adapter] = &[
    &claude::Claude,
    &codex::Codex,
    &gemini::Gemini,
    &aider::Aider,
    &opencode::OpenCode,
    &openhands::OpenHands,
    &acp::Acp,
    &command::Command,
];

/// Every preset name, in that order, for messages (`claude, codex, ...`).
pub fn names() -> String {
    ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

pub fn by_name(name: &str) -> Option<&'static dyn Adapter> {
    ALL.iter().copied().find(|a| a.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_found_by_its_own_name_once() {
        for adapter in ALL {
            let found = by_name(adapter.name()).unwrap_or_else(|| panic!("{}", adapter.name()));
            assert_eq!(found.name(), adapter.name());
            assert!(!adapter.default_program().is_empty());
            assert_eq!(ALL.iter().filter(|a| a.name() == adapter.name()).count(), 1);
        }
        assert!(by_name("nope").is_none());
        assert_eq!(
            names(),
            "claude, codex, gemini, aider, opencode, openhands, acp, command"
        );
    }
}
