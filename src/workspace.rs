//! A repository opened by forge: where things are, the config, the clock, the randomness,
//! the redactor and this run's ledger writer. Commands that change state go through one of
//! these.

use std::path::Path;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git;
use crate::ledger::line::Event;
use crate::ledger::writer::new_run_id;
use crate::ledger::{LedgerWriter, Payload};
use crate::randomness::Randomness;
use crate::redact::{Redactor, is_secret_name};
use crate::store::{Layout, StoreLock};

/// What forge takes from its environment. The CLI takes it once, at the start
/// ([`Environment::from_process`]); the rest of the library never reads the process
/// environment itself.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Pinned time (seconds since the epoch, `FORGE_NOW`), for reproducible tests.
    pub now: Option<i64>,
    /// Where ids come from: seeded by `FORGE_SEED` (for reproducible tests) or the
    /// operating system's. Shared by every clone and every workspace opened from this
    /// environment, so that one process never draws the same sequence twice.
    pub randomness: Arc<Randomness>,
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
    /// Where this run's ids come from (see [`Environment::randomness`]).
    pub randomness: Arc<Randomness>,
    pub redactor: Redactor,
    pub actor: String,
    /// forge's own environment, from which harness environments are allowlisted.
    pub env_snapshot: Vec<(String, String)>,
    ledger: LedgerWriter,
}

/// Opens the repository containing `start` without requiring `.forge/` to exist: for what
/// must work before `forge init` or in any state (`init`, the hooks, `doctor`).
pub fn open_repo(start: &Path) -> Result<(git2::Repository, Layout)> {
    let (repo, paths) = git::discover(start)?;
    Ok((repo, Layout::new(&paths.workdir, &paths.common_dir)))
}

/// Opens the initialised repository containing `start`, as every command that reads or
/// changes forge's state needs it: found, initialised, an interrupted multi-file write
/// finished (the journal), and the config loaded.
pub fn open_initialised(start: &Path) -> Result<(git2::Repository, Layout, Config)> {
    let (repo, layout) = open_repo(start)?;
    let config = load_initialised(&layout)?;
    Ok((repo, layout, config))
}

/// For a repository already found: checks that forge is initialised in it, finishes an
/// interrupted multi-file write (the journal) and loads the config.
pub fn load_initialised(layout: &Layout) -> Result<Config> {
    if !layout.config().exists() {
        return Err(Error::NotInitialised(layout.root.clone()));
    }
    crate::store::journal::recover(layout)?;
    Config::load(&layout.config())
}

impl Environment {
    /// The process environment, read once: the only place outside the CLI's entry that
    /// reads it. `FORGE_NOW` (RFC 3339) pins the clock and `FORGE_SEED` (a number) seeds
    /// the randomness; both are test hooks. A value that does not parse is ignored.
    #[allow(clippy::disallowed_methods)] // the environment snapshot
    pub fn from_process() -> Environment {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let var = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        let now = var("FORGE_NOW").and_then(|s| crate::clock::parse_rfc3339(&s));
        let seed = var("FORGE_SEED").and_then(|s| crate::randomness::parse_seed(&s));
        let step = match (var("FORGE_STEP"), var("FORGE_BEAD"), var("FORGE_REPO")) {
            (Some(step), Some(bead), Some(repo)) => Some(StepContext {
                step,
                bead,
                repo: repo.into(),
                outbox: var("FORGE_OUTBOX").map(Into::into),
            }),
            _ => None,
        };
        Environment {
            now,
            randomness: Arc::new(Randomness::from_seed(seed)),
            vars,
            actor: var("FORGE_ACTOR"),
            step,
        }
    }
}

/// The clock everything this environment opens records with: pinned by `FORGE_NOW`, the
/// real one otherwise. `forge init` and the hooks, which may run before a workspace can be
/// opened, take theirs here too.
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
    /// Opens the initialised repository containing `start` (see [`open_initialised`]).
    pub fn open(start: &Path, env: &Environment) -> Result<Workspace> {
        let (repo, layout, config) = open_initialised(start)?;
        Ok(Workspace::new(&repo, layout, config, env))
    }

    /// A workspace over a repository opened already ([`open_initialised`]).
    pub fn new(
        repo: &git2::Repository,
        layout: Layout,
        config: Config,
        env: &Environment,
    ) -> Workspace {
        let clock = clock_of(env);
        let randomness = env.randomness.clone();
        let actor = actor_of(repo, env);
        let redactor = redactor_of(Some(&config), env);
        let run = new_run_id(&clock, &randomness);
        let ledger = LedgerWriter::new(&layout.ledger(), run, actor.clone());
        Workspace {
            layout,
            config,
            clock,
            randomness,
            redactor,
            actor,
            env_snapshot: env.vars.clone(),
            ledger,
        }
    }

    /// Takes the store lock; every rewrite of a state file happens while holding it.
    pub fn lock(&self) -> Result<StoreLock> {
        let dir = &self.layout.runtime;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        StoreLock::acquire(&self.layout.store_lock())
    }

    /// Appends an event to this run's ledger file, redacted.
    pub fn record(&mut self, payload: Payload) -> Result<Event> {
        self.ledger
            .append_event(&self.clock, &self.redactor, &payload)
    }

    pub fn run_id(&self) -> &str {
        self.ledger.run()
    }

    /// This run's ledger file (it exists once the first event is recorded).
    pub fn ledger_path(&self) -> &Path {
        self.ledger.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_under_a_pinned_clock_sort_in_the_order_they_started() {
        let clock = Clock::Fixed(1_795_251_600); // 2026-11-21T09:00:00Z
        // Seeded: a test harness gives each command the next seed, and that orders them,
        // past the point where the seed gains a digit.
        let seeded: Vec<String> = [1, 2, 9, 10, 11, 99, 100, 12_345]
            .into_iter()
            .map(|seed| new_run_id(&clock, &Randomness::seeded(seed)))
            .collect();
        let mut sorted = seeded.clone();
        sorted.sort();
        assert_eq!(sorted, seeded);
        assert!(
            seeded[0].starts_with("20261121T090000.000001Z-"),
            "{seeded:?}"
        );
        assert_eq!(seeded[0].len(), "20261121T090000.000001Z-".len() + 8);
        // ... and is reproducible.
        assert_eq!(new_run_id(&clock, &Randomness::seeded(2)), seeded[1]);
        // One shared source never gives a process the same id twice (`forge doctor --fix`
        // opens two workspaces).
        let shared = Arc::new(Randomness::seeded(5));
        assert_ne!(new_run_id(&clock, &shared), new_run_id(&clock, &shared));
        // Unseeded: the real time orders them; they are unique.
        let unseeded: Vec<String> = (0..20)
            .map(|_| {
                std::thread::sleep(std::time::Duration::from_micros(2));
                new_run_id(&clock, &Randomness::os())
            })
            .collect();
        let mut sorted = unseeded.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, unseeded);
        assert!(unseeded.iter().all(|r| r.starts_with("20261121T090000.")));
        // Either way the file lands in the pinned month, and budget.rs finds it by the
        // pinned day.
        let w = LedgerWriter::new(Path::new("/l"), seeded[0].clone(), "a".into());
        assert!(w.path().starts_with("/l/2026-11"), "{}", w.path().display());
    }

    #[test]
    fn runs_under_the_real_clock_keep_their_shape() {
        let a = new_run_id(&Clock::System, &Randomness::seeded(1));
        std::thread::sleep(std::time::Duration::from_micros(2));
        let b = new_run_id(&Clock::System, &Randomness::seeded(1));
        assert!(a < b, "{a} {b}");
        // `YYYYMMDDTHHMMSS.ffffffZ-xxxxxxxx`
        assert_eq!(a.len(), 32, "{a}");
        assert_eq!((&a[8..9], &a[15..16], &a[22..24]), ("T", ".", "Z-"), "{a}");
    }

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
