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

pub fn redactor_of(config: Option<&Config>, env: &Environment) -> Redactor {
    let named = config.map(|c| c.secrets.env.as_slice()).unwrap_or_default();
    Redactor::new(
        env.vars
            .iter()
            .filter(|(k, _)| is_secret_name(k) || named.iter().any(|n| n == k))
            .cloned(),
    )
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
