//! `.forge/config.toml`: written by people, read by forge, never rewritten by forge.
//!
//! Every key is documented in `crate::config_reference`, the source of `forge-config(5)`;
//! its tests fail when a field here (or in `harness/config.rs`) is missing there.

use std::path::Path;

use serde::Deserialize;

use crate::error::Result;
use crate::store::parse::{check_schema, parse_toml, read_to_string};

mod paths;
mod template;

use paths::check_paths;
pub use paths::pattern_error;
pub use template::DEFAULT_CONFIG;

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
    /// How an approved step reaches its base: merged at once, or through the merge queue.
    #[serde(default)]
    pub merge: MergeMode,
}

/// `[policy] merge`: how an approved step reaches its base branch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMode {
    /// The approval merges the step at once (after checking it merges cleanly).
    #[default]
    Direct,
    /// The approval enqueues the step; the queue merges each head onto the base tip, runs
    /// the gates on the merged result, and only then advances the base.
    Queue,
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
            merge: MergeMode::Direct,
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
    /// Steps one tick runs at once, each in its own worktree, sandbox and lease (at least 1;
    /// `forge tick --jobs` overrides it).
    #[serde(default = "one", deserialize_with = "at_least_one_job")]
    pub jobs: u32,
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
    /// A shared remote on which ticks of several machines claim beads
    /// (`refs/forge/claims/<bead>`) and publish results; `forge tick --remote` overrides it.
    #[serde(default)]
    pub remote: Option<String>,
    /// Seconds a claim on the remote lasts from its last renewal (renewed every third of
    /// it while the step runs); a dead holder's claim is taken over after it.
    #[serde(default = "claim_lease", deserialize_with = "at_least_a_second")]
    pub claim_lease: u64,
}

fn claim_lease() -> u64 {
    300
}

/// `[tick] claim_lease`: 0 would expire every claim as it is taken.
fn at_least_a_second<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "[tick] claim_lease = 0: a claim lasts at least 1 second (300 is the default)",
        )),
        n => Ok(n),
    }
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

/// `[tick] jobs`: 0 would start nothing; refused at load with the file, line and column.
fn at_least_one_job<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "[tick] jobs = 0: a tick runs at least 1 step at a time",
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
            jobs: 1,
            commit: false,
            push: None,
            breaker: 3,
            notify: None,
            remote: None,
            claim_lease: claim_lease(),
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
    /// Dollars a parallel tick sets aside for a step it starts; default: the mean of the
    /// harness's last 5 runs.
    #[serde(default)]
    pub reserve_usd: Option<f64>,
    /// Tokens a parallel tick sets aside for a step it starts; default: the mean of the
    /// harness's last 5 runs.
    #[serde(default)]
    pub reserve_tokens: Option<u64>,
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
    /// `[prices."MODEL"]`: what a model's tokens cost, for runs that report no cost.
    #[serde(default)]
    pub prices: std::collections::BTreeMap<String, PriceConfig>,
    /// Sections owned by later features (budgets, approval policy) pass through.
    #[serde(flatten)]
    pub rest: toml::Table,
}

/// `[prices."MODEL"]`: US dollars per million tokens. An unknown key is an error (with its
/// line), not a price silently missing from every estimate.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceConfig {
    pub input: f64,
    pub output: f64,
    /// Sets `cache_read` and `cache_write` at once.
    #[serde(default)]
    pub cache: Option<f64>,
    #[serde(default)]
    pub cache_read: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        Config::parse(path, &read_to_string(path)?)
    }

    /// Every check a config gets, on its text (`path` names it in errors): what loading
    /// does, and what the pre-commit hook and merge resolution check before it lands.
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let config: Config = parse_toml(path, text)?;
        check_schema(path, config.schema)?;
        check_paths(path, text, &config)?;
        check_acp_only(path, text, &config)?;
        // A price table that does not read is found here, by every command and `doctor`,
        // not first by the tick whose budget it would have left uncounted.
        crate::ledger::cost::Prices::from_config(&config, path)?;
        Ok(config)
    }
}

/// `permissions` and `acp_fs` mean something only to the `acp` preset: set on another,
/// they would promise a broker that is not there.
fn check_acp_only(path: &Path, text: &str, config: &Config) -> Result<()> {
    for (name, h) in &config.harness {
        let set = h.permissions != Default::default() || h.acp_fs.is_some();
        if h.preset == "acp" || !set {
            continue;
        }
        // The table's header, else the harness's, else the top: where to look.
        let headers = [
            format!("[harness.{name}.permissions]"),
            format!("[harness.{name}]"),
        ];
        let line = headers
            .iter()
            .find_map(|h| text.lines().position(|l| l.trim() == h))
            .map_or(1, |i| i + 1);
        return Err(crate::Error::Parse {
            path: path.to_owned(),
            line,
            column: 1,
            message: format!(
                "[harness.{name}] has permissions or acp_fs, which only the acp preset uses \
                 (its preset is \"{}\"); remove them, or set preset = \"acp\" for an agent \
                 that speaks the Agent Client Protocol",
                h.preset
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
