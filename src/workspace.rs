//! A repository opened by forge: where things are, the config, the clock, the redactor and
//! this run's ledger writer. Commands that change state go through one of these.

use std::path::Path;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git;
use crate::ledger::LedgerWriter;
use crate::ledger::line::Event;
use crate::ledger::writer::new_run_id;
use crate::redact::{Redactor, is_secret_name};
use crate::store::{Layout, StoreLock};

/// What forge takes from its environment. The CLI fills it in; the library never reads the
/// process environment itself.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Pinned time (seconds since the epoch), for reproducible tests.
    pub now: Option<i64>,
    /// A snapshot of the process environment, for secret redaction.
    pub vars: Vec<(String, String)>,
    /// Who is acting, when not the git identity.
    pub actor: Option<String>,
    /// Set when forge runs inside a step's harness (FORGE_STEP, FORGE_BEAD, FORGE_REPO):
    /// commands that record things then write to the main working tree's `.forge/`.
    pub step: Option<StepContext>,
}

#[derive(Debug, Clone)]
pub struct StepContext {
    pub step: String,
    pub bead: String,
    pub repo: std::path::PathBuf,
    /// `FORGE_OUTBOX`: where `forge assume` posts from inside a step (see
    /// `assumption::outbox`).
    pub outbox: Option<std::path::PathBuf>,
}

pub struct Workspace {
    pub layout: Layout,
    pub config: Config,
    pub clock: Clock,
    pub redactor: Redactor,
    pub actor: String,
    /// forge's own environment, from which harness environments are allowlisted.
    pub env_snapshot: Vec<(String, String)>,
    ledger: LedgerWriter,
}

/// Opens the repository containing `start` without requiring `.forge/` to exist.
pub fn open_repo(start: &Path) -> Result<(git2::Repository, Layout)> {
    let (repo, paths) = git::discover(start)?;
    Ok((repo, Layout::new(&paths.workdir, &paths.common_dir)))
}

pub fn clock_of(env: &Environment) -> Clock {
    env.now.map_or(Clock::System, Clock::Fixed)
}

pub fn actor_of(repo: &git2::Repository, env: &Environment) -> String {
    env.actor
        .clone()
        .or_else(|| git::author(repo))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The redactor for this repository and environment. It knows the values of:
/// - environment variables whose names look secret, or that `[secrets] env` names;
/// - every variable a harness gets through `pass_env`, whatever its name (a harness is given
///   them because they matter: `DATABASE_URL`, an endpoint with a key in it), except the
///   ones every harness gets anyway (`PATH`, `LANG`, ...; see `harness::env::ALLOWLIST`);
/// - `[harness.NAME] env` values whose names look secret or that `[secrets] env` names.
///
/// Values shorter than 8 characters are never redacted by value (see `redact.rs`).
pub fn redactor_of(config: Option<&Config>, env: &Environment) -> Redactor {
    let named = config.map(|c| c.secrets.env.as_slice()).unwrap_or_default();
    let passed = |name: &str| {
        config.is_some_and(|c| {
            c.harness
                .values()
                .any(|h| h.pass_env.iter().any(|p| p == name))
        }) && !crate::harness::env::ALLOWLIST.contains(&name)
    };
    let secret = |name: &str| is_secret_name(name) || named.iter().any(|n| n == name);
    let from_env = env
        .vars
        .iter()
        .filter(|(k, _)| secret(k) || passed(k))
        .cloned();
    let from_config = config
        .into_iter()
        .flat_map(|c| c.harness.values())
        .flat_map(|h| h.env.iter())
        .filter(|(k, _)| secret(k))
        .map(|(k, v)| (k.clone(), v.clone()));
    Redactor::new(from_env.chain(from_config))
}

impl Workspace {
    pub fn open(start: &Path, env: &Environment) -> Result<Workspace> {
        let (repo, layout) = open_repo(start)?;
        if !layout.config().exists() {
            return Err(Error::NotInitialised(layout.root.clone()));
        }
        crate::store::journal::recover(&layout)?;
        let config = Config::load(&layout.config())?;
        let clock = clock_of(env);
        let actor = actor_of(&repo, env);
        let redactor = redactor_of(Some(&config), env);
        let ledger = LedgerWriter::new(&layout.ledger(), new_run_id(), actor.clone());
        Ok(Workspace {
            layout,
            config,
            clock,
            redactor,
            actor,
            env_snapshot: env.vars.clone(),
            ledger,
        })
    }

    /// Takes the store lock; every rewrite of a state file happens while holding it.
    pub fn lock(&self) -> Result<StoreLock> {
        let dir = &self.layout.runtime;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        StoreLock::acquire(&self.layout.store_lock())
    }

    /// Appends an event to this run's ledger file.
    pub fn record(&mut self, kind: &str, data: serde_json::Value) -> Result<Event> {
        self.ledger.append(&self.clock, &self.redactor, kind, data)
    }

    pub fn run_id(&self) -> &str {
        self.ledger.run()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_env_and_secret_harness_env_values_are_redacted() {
        let config: Config = toml::from_str(
            r#"
schema = 1
[secrets]
env = ["DEPLOY_PHRASE"]
[harness.a]
preset = "command"
pass_env = ["DATABASE_URL", "PATH"]
env = { SERVICE_TOKEN = "config-token-123456", DEPLOY_PHRASE = "config-phrase-1234", MODE = "verbose-mode-on" }
[harness.b]
preset = "command"
pass_env = ["SHORT"]
"#,
        )
        .unwrap();
        let env = Environment {
            vars: vec![
                ("DATABASE_URL".into(), "canary-dburl-93f1c0".into()),
                ("SHORT".into(), "1".into()),
                ("PATH".into(), "/usr/local/bin:/usr/bin".into()),
                ("UNRELATED".into(), "not-a-secret-at-all".into()),
                ("MY_API_KEY".into(), "canary-apikey-1234".into()),
            ],
            ..Environment::default()
        };
        let r = redactor_of(Some(&config), &env);
        let text = "canary-dburl-93f1c0 1 /usr/local/bin:/usr/bin not-a-secret-at-all \
                    canary-apikey-1234 config-token-123456 config-phrase-1234 verbose-mode-on";
        assert_eq!(
            r.redact(text),
            "[REDACTED:DATABASE_URL] 1 /usr/local/bin:/usr/bin not-a-secret-at-all \
             [REDACTED:MY_API_KEY] [REDACTED:SERVICE_TOKEN] [REDACTED:DEPLOY_PHRASE] verbose-mode-on"
        );
        // Without a config, only the names tell.
        let r = redactor_of(None, &env);
        assert!(r.redact(text).contains("canary-dburl-93f1c0"));
        assert!(!r.redact(text).contains("canary-apikey-1234"));
    }
}
