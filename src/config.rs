//! `.forge/config.toml`: written by people, read by forge, never rewritten by forge.

use std::path::Path;

use serde::Deserialize;

use crate::error::Result;
use crate::store::parse::{check_schema, parse_toml, read_to_string};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Environment variables whose values are redacted, beyond those whose names look
    /// secret.
    #[serde(default)]
    pub env: Vec<String>,
}

/// A configured gate: a command run in the step's worktree after the harness.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    pub name: String,
    /// Run with `sh -c` in the worktree.
    pub run: String,
    /// Seconds.
    #[serde(default = "default_gate_timeout")]
    pub timeout: u64,
}

fn default_gate_timeout() -> u64 {
    600
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Paths (gitignore syntax) a step may not change.
    #[serde(default)]
    pub protected_paths: Vec<String>,
    /// Most added plus removed lines a step may produce.
    #[serde(default = "default_max_diff_lines")]
    pub max_diff_lines: u64,
    /// Risk tiers whose steps merge without a person (by policy; the ledger says so).
    /// Empty: every step waits for a human.
    #[serde(default)]
    pub auto_approve: Vec<crate::bead::Risk>,
}

fn default_max_diff_lines() -> u64 {
    2000
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            protected_paths: Vec::new(),
            max_diff_lines: default_max_diff_lines(),
            auto_approve: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorktreeConfig {
    /// Ignored files copied from the main working tree into each step's worktree.
    #[serde(default)]
    pub copy: Vec<String>,
    /// A setup command run with `sh -c` in the new worktree before the harness.
    #[serde(default)]
    pub setup: Option<String>,
    /// Seconds.
    #[serde(default)]
    pub setup_timeout: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// The harness `forge step` uses unless `--harness` says otherwise.
    #[serde(default)]
    pub harness: Option<String>,
    /// The branch steps start from and merge into; default: the branch checked out in the
    /// main working tree.
    #[serde(default)]
    pub base: Option<String>,
    /// A prompt template file, relative to `.forge/`.
    #[serde(default)]
    pub prompt_template: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    /// The harness `forge plan` runs (default: [step] harness).
    #[serde(default)]
    pub harness: Option<String>,
}

/// `forge tick`: unattended operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickConfig {
    /// Most steps one tick runs.
    #[serde(default = "one")]
    pub steps: u32,
    /// Seconds after which a tick starts no new step.
    #[serde(default)]
    pub wall_time: Option<u64>,
    /// Commit forge's own `.forge/` changes after each tick (only `.forge/` paths, through a
    /// separate index).
    #[serde(default)]
    pub commit: bool,
    /// A remote to push step branches to after each tick.
    #[serde(default)]
    pub push: Option<String>,
    /// Consecutive failed steps that trip the circuit breaker (pausing forge); 0 disables.
    #[serde(default = "three")]
    pub breaker: u32,
    /// A command run with `sh -c`, given a JSON description on stdin, whenever something
    /// needs a human (an approval waits, the breaker tripped, a budget ran out).
    #[serde(default)]
    pub notify: Option<String>,
}

fn one() -> u32 {
    1
}

fn three() -> u32 {
    3
}

impl Default for TickConfig {
    fn default() -> Self {
        TickConfig {
            steps: 1,
            wall_time: None,
            commit: false,
            push: None,
            breaker: 3,
            notify: None,
        }
    }
}

/// Limits on spending; unset means unlimited.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// US dollars per UTC day, as reported by harnesses.
    #[serde(default)]
    pub money_per_day: Option<f64>,
    /// Tokens per UTC day.
    #[serde(default)]
    pub tokens_per_day: Option<u64>,
    /// Attempts (steps) per bead before tick leaves it to a person.
    #[serde(default)]
    pub attempts_per_bead: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub schema: i64,
    #[serde(default)]
    pub secrets: SecretsConfig,
    #[serde(default)]
    pub step: StepConfig,
    #[serde(default)]
    pub plan: PlanConfig,
    #[serde(default)]
    pub tick: TickConfig,
    #[serde(default)]
    pub budget: BudgetConfig,
    #[serde(default)]
    pub harness: std::collections::BTreeMap<String, crate::harness::config::HarnessConfig>,
    #[serde(default)]
    pub gates: Vec<GateConfig>,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub worktree: WorktreeConfig,
    /// Sections owned by later features (budgets, approval policy) pass through.
    #[serde(flatten)]
    pub rest: toml::Table,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = read_to_string(path)?;
        let config: Config = parse_toml(path, &text)?;
        check_schema(path, config.schema)?;
        Ok(config)
    }
}

/// What `forge init` writes: every setting commented, so the file documents itself.
pub const DEFAULT_CONFIG: &str = r#"# forge configuration. People edit this file; forge only reads it.
# Reference: `man forge` and README.md.

# Version of this file's format. forge refuses files from a newer version.
schema = 1

[secrets]
# Environment variables whose values must never reach .forge/. Variables whose names look
# secret (*TOKEN*, *SECRET*, *PASSWORD*, *API_KEY*, ...) are always redacted.
env = []

[step]
# The harness `forge step` runs unless --harness names another (a [harness.NAME] below).
# harness = "claude"
# The branch steps start from and merge into (default: the branch checked out here).
# base = "main"
# A prompt template under .forge/ ({title}, {description}, {acceptance}, {feedback}, ...).
# prompt_template = "prompt.md"

[plan]
# The harness `forge plan` asks for a plan (default: the [step] harness).
# harness = "claude"

# A harness: preset is one of claude, codex, gemini, aider, opencode, openhands, command.
# [harness.claude]
# preset = "claude"
# command = ["claude"]          # program and leading arguments (default: the preset's)
# args = []                     # appended to the preset's arguments
# model = "claude-sonnet-4-5"
# pass_env = ["ANTHROPIC_API_KEY"]  # variables passed through; nothing else is
# env = { DISABLE_TELEMETRY = "1" }
# timeout = 1800                # seconds of wall-clock time
# idle_timeout = 300            # seconds without output
#
# [harness.script]
# preset = "command"
# command = ["./scripts/agent.sh", "{prompt}"]   # or without {prompt}: prompt on stdin

# Gates run in the step's worktree after the harness; a failing gate fails the step.
# [[gates]]
# name = "tests"
# run = "cargo test"
# timeout = 600

[policy]
# Paths (gitignore syntax) that a step may not change.
protected_paths = []
# The most lines (added plus removed) one step may change.
max_diff_lines = 2000
# Risk tiers (low, medium, high) whose steps merge without a person. The ledger records
# such approvals as given by policy. Empty: every step waits for a human.
auto_approve = []

[tick]
# forge tick, for cron: steps per tick, and seconds after which no new step starts.
steps = 1
# wall_time = 3600
# Commit forge's own .forge/ changes after each tick (nothing else is ever touched).
commit = false
# Push step branches to this remote after each tick.
# push = "origin"
# Consecutive failed steps that pause forge (0: never).
breaker = 3
# Run with a JSON description on stdin whenever something needs a human.
# notify = "notify-send forge \"$(jq -r .message)\""

[budget]
# Limits per UTC day, from what harnesses report; unset means unlimited.
# money_per_day = 20.0
# tokens_per_day = 5000000
# attempts_per_bead = 3

[worktree]
# Ignored files copied from this working tree into each step's worktree.
copy = []
# A command run in each new worktree before the harness starts.
# setup = "npm ci"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses() {
        let c: Config = toml::from_str(DEFAULT_CONFIG).unwrap();
        assert_eq!(c.schema, 1);
        assert!(c.secrets.env.is_empty());
    }
}
