//! Built-in adapters, one file per harness CLI. See ../shared/HARNESSES.md for the
//! interfaces they follow.

pub mod command;

use super::adapter::Adapter;

/// Every preset name, in the order `forge doctor` lists them.
pub const NAMES: &[&str] = &["command"];

pub fn by_name(name: &str) -> Option<&'static dyn Adapter> {
    match name {
        "command" => Some(&command::Command),
        _ => None,
    }
}
