//! `[harness.NAME]` sections of `.forge/config.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarnessConfig {
    /// Which adapter: claude, codex, gemini, aider, opencode, openhands or command.
    pub preset: String,
    /// The program and leading arguments; defaults to the preset's program.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Values set in the harness's environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Names passed through from forge's environment (API keys, endpoints).
    #[serde(default)]
    pub pass_env: Vec<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// Wall-clock limit in seconds.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Seconds without output before the run is stopped.
    #[serde(default)]
    pub idle_timeout: Option<u64>,
    /// Seconds between asking the harness to stop (TERM) and killing it.
    #[serde(default = "default_grace")]
    pub grace: u64,
}

fn default_grace() -> u64 {
    5
}

fn default_timeout() -> u64 {
    1800
}
