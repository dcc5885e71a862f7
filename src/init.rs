//! `forge init`: create `.forge/` and the runtime directory, and register the merge
//! driver, idempotently.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::config::DEFAULT_CONFIG;
use crate::error::{Error, Result};
use crate::ledger::LedgerWriter;
use crate::ledger::writer::new_run_id;
use crate::store::{StoreLock, atomic_write};
use crate::workspace::{Environment, actor_of, clock_of, open_repo, redactor_of};

/// Temp files and torn-line quarantine files never belong in a commit.
pub const GITIGNORE: &str =
    "# Written by forge init: temp files, staged batches and quarantined torn ledger lines.
.tmp-*
.staged-*
*.torn
";

#[derive(Debug, Serialize)]
pub struct InitReport {
    pub root: String,
    pub runtime: String,
    /// Paths created by this run, relative to the working tree (the runtime dir absolute).
    pub created: Vec<String>,
    /// git configuration this run set (the merge driver, `merge.forge.*`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registered: Vec<String>,
}

/// `forge_exe` is the forge binary the merge driver registration names.
pub fn init(start: &Path, env: &Environment, forge_exe: &Path) -> Result<InitReport> {
    let (repo, layout) = open_repo(start)?;
    fs::create_dir_all(&layout.runtime).map_err(|e| Error::io(&layout.runtime, e))?;
    let _lock = StoreLock::acquire(&layout.store_lock())?;
    let mut created = Vec::new();
    let mkdir = |dir: &Path, created: &mut Vec<String>| -> Result<()> {
        if !dir.is_dir() {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            created.push(layout.display(dir).into_owned());
        }
        Ok(())
    };
    mkdir(&layout.forge, &mut created)?;
    for dir in [
        layout.beads(),
        layout.assumptions(),
        layout.ledger(),
        layout.checkpoints(),
    ] {
        mkdir(&dir, &mut created)?;
        // git does not track empty directories; a marker keeps the layout in every clone.
        let keep = dir.join(".gitkeep");
        if !keep.exists() {
            atomic_write(&keep, b"")?;
            created.push(layout.display(&keep).into_owned());
        }
    }
    for (path, contents) in [
        (layout.config(), DEFAULT_CONFIG),
        (layout.gitignore(), GITIGNORE),
    ] {
        if !path.exists() {
            atomic_write(&path, contents.as_bytes())?;
            created.push(layout.display(&path).into_owned());
        }
    }
    fs::create_dir_all(layout.cache_dir()).map_err(|e| Error::io(layout.cache_dir(), e))?;
    // The merge driver: `.forge/.gitattributes` is a file like the others; the driver's
    // command lives in git's local config.
    let (registered, files): (Vec<String>, Vec<String>) = crate::merge::register::register(
        &crate::git::cli::Git::new(&layout.root),
        &layout,
        forge_exe,
    )?
    .into_iter()
    .partition(|c| c.starts_with("git config"));
    created.extend(files);

    if !created.is_empty() {
        let clock = clock_of(env);
        // No workspace yet: the clock and the randomness come from the environment, as a
        // workspace's would.
        let run = new_run_id(&clock, &env.randomness);
        let mut ledger = LedgerWriter::new(&layout.ledger(), run, actor_of(&repo, env));
        ledger.append_event(
            &clock,
            &redactor_of(None, env),
            &crate::ledger::Payload::ForgeInitialised {
                created: created.clone(),
            },
        )?;
    }
    Ok(InitReport {
        root: layout.root.display().to_string(),
        runtime: layout.runtime.display().to_string(),
        created,
        registered,
    })
}

impl InitReport {
    pub fn changed(&self) -> bool {
        !self.created.is_empty() || !self.registered.is_empty()
    }
}
