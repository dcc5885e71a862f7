//! `.forge/config.toml`: written by people, read by forge, never rewritten by forge.
//!
//! Every key is documented in `crate::config_reference`, the source of `forge-config(5)`;
//! its tests fail when a field here (or in `harness/config.rs`) is missing there.

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
    /// Seconds, 1 to a week.
    #[serde(
        default = "default_gate_timeout",
        deserialize_with = "crate::harness::config::timeout_secs"
    )]
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
    /// Seconds, 1 to a week.
    #[serde(
        default,
        deserialize_with = "crate::harness::config::optional_timeout_secs"
    )]
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
    /// Most steps one tick runs (at least 1).
    #[serde(default = "one", deserialize_with = "at_least_one_step")]
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

/// `[tick] steps`: 0 would make every tick a no-op that still says it ran; refused at load
/// with the file, line and column.
fn at_least_one_step<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "[tick] steps = 0: a tick runs at least 1 step (pause forge with `forge pause` \
             instead)",
        )),
        n => Ok(n),
    }
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

/// Whether harnesses, setup commands and gates run inside forge's sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// Enforced, or the step refuses to start.
    On,
    /// Not enforced; every report then says UNSANDBOXED.
    Off,
}

/// What a sandboxed process may reach over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Only forge's per-step proxy, which lets through the preset's API hosts and
    /// `allow_hosts`.
    Allowlist,
    /// Any host.
    Open,
    /// No TCP connection at all.
    None,
}

/// `[sandbox]`: the containment every harness process tree runs in (DESIGN.md §7).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    #[serde(default = "sandbox_on")]
    pub mode: SandboxMode,
    #[serde(default = "network_allowlist")]
    pub network: NetworkMode,
    /// Hosts (`host`, `host:port`, `*.domain`) reachable through the proxy beyond the
    /// preset's own API hosts.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// Extra absolute paths a harness may read (its installation is found on its own).
    #[serde(default)]
    pub read: Vec<String>,
    /// Extra absolute paths a harness may write.
    #[serde(default)]
    pub write: Vec<String>,
    /// Memory limit in MiB of the harness's (and the gates') whole process tree, through a
    /// cgroup where one is writable, else address space per process (RLIMIT_AS); unset: none.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Most processes of the harness's tree, through a pids cgroup where one is writable,
    /// else RLIMIT_NPROC (every process of the user; root ignores it, so as root without a
    /// pids cgroup the step refuses to start); unset: none.
    #[serde(default)]
    pub max_processes: Option<u64>,
}

fn sandbox_on() -> SandboxMode {
    SandboxMode::On
}

fn network_allowlist() -> NetworkMode {
    NetworkMode::Allowlist
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            mode: SandboxMode::On,
            network: NetworkMode::Allowlist,
            allow_hosts: Vec::new(),
            read: Vec::new(),
            write: Vec::new(),
            memory_mb: None,
            max_processes: None,
        }
    }
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
    #[serde(default)]
    pub sandbox: SandboxConfig,
    /// Sections owned by later features (budgets, approval policy) pass through.
    #[serde(flatten)]
    pub rest: toml::Table,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = read_to_string(path)?;
        let config: Config = parse_toml(path, &text)?;
        check_schema(path, config.schema)?;
        check_paths(path, &text, &config)?;
        // A price table that does not read is found here, by every command and `doctor`,
        // not first by the tick whose budget it would have left uncounted.
        crate::ledger::cost::Prices::from_config(&config, path)?;
        Ok(config)
    }
}

/// A path that stays inside the directory it is joined to: relative, no `..`, not empty.
fn stays_inside(path: &str) -> bool {
    use std::path::Component;
    let p = Path::new(path);
    !path.trim().is_empty()
        && p.components().any(|c| matches!(c, Component::Normal(_)))
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// `[worktree] copy` names files of the working tree and `[step] prompt_template` a file
/// under `.forge/`: an absolute path or a `..` would reach outside (a copy onto itself
/// truncated the file; a template sent any readable file to the harness). Refused at load,
/// naming the file, the line, the key and the fix.
fn check_paths(path: &Path, text: &str, config: &Config) -> Result<()> {
    let copy = config.worktree.copy.iter().position(|p| !stays_inside(p));
    let template = config
        .step
        .prompt_template
        .as_deref()
        .filter(|p| !stays_inside(p));
    let protected = config
        .policy
        .protected_paths
        .iter()
        .enumerate()
        .find_map(|(i, p)| pattern_error(p).map(|e| (i, e)));
    if copy.is_none() && template.is_none() && protected.is_none() {
        return Ok(());
    }
    let why = |value: &str| {
        if Path::new(value).is_absolute() {
            "is an absolute path"
        } else if value.trim().is_empty() || value.trim_matches(['.', '/']).is_empty() {
            "names no file"
        } else {
            "contains '..'"
        }
    };
    // Only now find where the value is: a second, located parse of the same text.
    #[derive(Deserialize, Default)]
    struct Located {
        #[serde(default)]
        worktree: LocatedWorktree,
        #[serde(default)]
        step: LocatedStep,
        #[serde(default)]
        policy: LocatedPolicy,
    }
    #[derive(Deserialize, Default)]
    struct LocatedPolicy {
        #[serde(default)]
        protected_paths: Vec<toml::Spanned<String>>,
    }
    #[derive(Deserialize, Default)]
    struct LocatedWorktree {
        #[serde(default)]
        copy: Vec<toml::Spanned<String>>,
    }
    #[derive(Deserialize, Default)]
    struct LocatedStep {
        #[serde(default)]
        prompt_template: Option<toml::Spanned<String>>,
    }
    let located: Located = toml::from_str(text).unwrap_or_default();
    let at = |span: Option<std::ops::Range<usize>>| {
        span.map_or((1, 1), |s| crate::store::parse::line_col(text, s.start))
    };
    let (span, message) = match (copy, template) {
        _ if protected.is_some() => {
            let (i, error) = protected.expect("checked");
            (
                located
                    .policy
                    .protected_paths
                    .get(i)
                    .map(toml::Spanned::span),
                format!(
                    "[policy] protected_paths: \"{}\" is not a gitignore pattern ({error}); \
                     a pattern that does not parse would protect nothing",
                    config.policy.protected_paths[i]
                ),
            )
        }
        (Some(i), _) => {
            let value = &config.worktree.copy[i];
            (
                located.worktree.copy.get(i).map(toml::Spanned::span),
                format!(
                    "[worktree] copy: \"{value}\" {}: each entry names an ignored file of \
                     the working tree, relative to its root (copy = [\".env\"]); nothing \
                     outside it is copied",
                    why(value)
                ),
            )
        }
        (None, Some(value)) => (
            located
                .step
                .prompt_template
                .as_ref()
                .map(toml::Spanned::span),
            format!(
                "[step] prompt_template: \"{value}\" {}: name a file under .forge/, relative \
                 to it (prompt_template = \"prompt.md\")",
                why(value)
            ),
        ),
        (None, None) => unreachable!("checked above"),
    };
    let (line, column) = at(span);
    Err(crate::error::Error::Parse {
        path: path.to_owned(),
        line,
        column,
        message,
    })
}

/// Why a `protected_paths` entry is not a usable gitignore pattern, if it is not.
pub fn pattern_error(pattern: &str) -> Option<String> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new("/");
    builder.add_line(None, pattern).err().map(|e| e.to_string())
}

/// What `forge init` writes: every setting commented, so the file documents itself.
pub const DEFAULT_CONFIG: &str = r#"# forge configuration. People edit this file; forge only reads it.
# Reference: `man 5 forge-config` (every key, its default and meaning) and README.md.

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

[sandbox]
# Harnesses, the planner and gates run in a Landlock sandbox: they write only their
# worktree and scratch home, read only system paths, their own installation and the
# worktree, and reach only the hosts allowed below (gates: any host). [worktree] setup is
# your command and runs outside it. If this machine cannot enforce it, steps
# refuse to start; "off" runs them UNSANDBOXED (every report then says so).
mode = "on"
# "allowlist": only the preset's API hosts and allow_hosts, through forge's proxy;
# "open": any host; "none": no network.
network = "allowlist"
allow_hosts = []
# Extra absolute paths a harness may read or write.
# read = ["/opt/models"]
# write = []
# Limits for the harness's whole process tree (a cgroup where forge can make
# one, else rlimits per process; see `forge doctor`).
# memory_mb = 4096
# max_processes = 512
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_and_prompt_template_stay_inside() {
        for ok in [".env", "./.env", "config/local.toml", "a/./b"] {
            assert!(stays_inside(ok), "{ok}");
        }
        for bad in ["/abs/file", "../x", "a/../../b", "a/..", "", ".", "./", "/"] {
            assert!(!stays_inside(bad), "{bad}");
        }
    }

    #[test]
    fn escaping_paths_are_refused_at_load_with_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let cases = [
            (
                "schema = 1\n[worktree]\ncopy = [\".env\",\n  \"/abs/file\"]\n",
                4,
                "[worktree] copy: \"/abs/file\" is an absolute path",
            ),
            (
                "schema = 1\n\n[worktree]\ncopy = [\"../x\"]\n",
                4,
                "[worktree] copy: \"../x\" contains '..'",
            ),
            (
                "schema = 1\n[step]\nprompt_template = \"/etc/passwd\"\n",
                3,
                "[step] prompt_template: \"/etc/passwd\" is an absolute path",
            ),
            (
                "schema = 1\n[policy]\nprotected_paths = [\"ci/**\",\n  \"src/{a,b\"]\n",
                4,
                "[policy] protected_paths: \"src/{a,b\" is not a gitignore pattern",
            ),
        ];
        for (text, want_line, want) in cases {
            std::fs::write(&path, text).unwrap();
            match Config::load(&path).unwrap_err() {
                crate::error::Error::Parse {
                    path: p,
                    line,
                    message,
                    ..
                } => {
                    assert_eq!(p, path);
                    assert_eq!(line, want_line, "{message}");
                    assert!(message.starts_with(want), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        std::fs::write(&path, "schema = 1\n[worktree]\ncopy = [\".env\"]\n").unwrap();
        assert_eq!(Config::load(&path).unwrap().worktree.copy, [".env"]);
    }

    #[test]
    fn zero_timeouts_and_zero_tick_steps_are_refused_at_load_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let cases = [
            (
                "schema = 1\n[[gates]]\nname = \"t\"\nrun = \"true\"\ntimeout = 0\n",
                5,
                11,
                "a timeout is 1 to 604800",
            ),
            (
                "schema = 1\n[worktree]\nsetup = \"make\"\nsetup_timeout = 0\n",
                4,
                17,
                "a timeout is 1 to 604800",
            ),
            (
                "schema = 1\n\n[harness.x]\npreset = \"claude\"\ntimeout = 0\n",
                5,
                11,
                "a timeout is 1 to 604800",
            ),
            (
                "schema = 1\n[harness.x]\npreset = \"claude\"\ntimeout = 9999999\n",
                4,
                11,
                "9999999 is out of range",
            ),
            ("schema = 1\n[tick]\nsteps = 0\n", 3, 9, "[tick] steps = 0"),
        ];
        for (text, want_line, want_column, want) in cases {
            std::fs::write(&path, text).unwrap();
            match Config::load(&path).unwrap_err() {
                crate::error::Error::Parse {
                    path: p,
                    line,
                    column,
                    message,
                } => {
                    assert_eq!(p, path);
                    assert_eq!((line, column), (want_line, want_column), "{message}");
                    assert!(message.contains(want), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_is_a_bad_file_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, b"schema = 1\n# caf\xe9\n").unwrap();
        match Config::load(&path).unwrap_err() {
            crate::error::Error::Parse { line, column, .. } => assert_eq!((line, column), (2, 6)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn default_config_parses() {
        let c: Config = toml::from_str(DEFAULT_CONFIG).unwrap();
        assert_eq!(c.schema, 1);
        assert!(c.secrets.env.is_empty());
    }
}
