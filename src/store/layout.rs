//! Where forge's files live: committed state under `.forge/`, runtime state under the git
//! common directory so that every linked worktree shares it.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    /// The top of the working tree.
    pub root: PathBuf,
    /// `<root>/.forge`
    pub forge: PathBuf,
    /// `<git common dir>/forge`: locks, caches, logs, worktrees. Never committed.
    pub runtime: PathBuf,
}

impl Layout {
    /// The git common directory (the runtime directory's parent).
    pub fn common_dir(&self) -> PathBuf {
        self.runtime
            .parent()
            .map_or_else(|| self.runtime.clone(), Path::to_owned)
    }

    pub fn new(root: &Path, common_dir: &Path) -> Self {
        Layout {
            root: root.to_owned(),
            forge: root.join(".forge"),
            runtime: common_dir.join("forge"),
        }
    }

    pub fn config(&self) -> PathBuf {
        self.forge.join("config.toml")
    }
    pub fn beads(&self) -> PathBuf {
        self.forge.join("beads")
    }
    pub fn bead(&self, id: &str) -> PathBuf {
        self.beads().join(format!("{id}.toml"))
    }
    pub fn assumptions(&self) -> PathBuf {
        self.forge.join("assumptions")
    }
    pub fn ledger(&self) -> PathBuf {
        self.forge.join("ledger")
    }
    pub fn checkpoints(&self) -> PathBuf {
        self.forge.join("checkpoints")
    }
    pub fn gitignore(&self) -> PathBuf {
        self.forge.join(".gitignore")
    }
    /// Held by whoever merges an approved step (`approve`, `tick`, `doctor --fix`).
    pub fn approval_lock(&self) -> PathBuf {
        self.runtime.join("approve.lock")
    }
    pub fn store_lock(&self) -> PathBuf {
        self.runtime.join("store.lock")
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.runtime.join("cache")
    }

    // The runtime directory's other files: each has its name here and only here.

    /// Multi-file writes in flight (`store::journal`).
    pub fn journal_dir(&self) -> PathBuf {
        self.runtime.join("journal")
    }
    /// Where step worktrees are made.
    pub fn worktrees(&self) -> PathBuf {
        self.runtime.join("worktrees")
    }
    /// A step's worktree, from its checkpoint's `worktree` (relative to the runtime
    /// directory).
    pub fn step_worktree(&self, relative: &str) -> PathBuf {
        self.runtime.join(relative)
    }
    /// The admin directory git keeps for the linked worktree `name`.
    pub fn git_worktree_admin(&self, name: &str) -> PathBuf {
        self.common_dir().join("worktrees").join(name)
    }
    /// A step's scratch: transcripts, gate output, the harness's home.
    pub fn step_dir(&self, step: &str) -> PathBuf {
        self.runtime.join("steps").join(step)
    }
    /// Held while a step of `bead` runs.
    pub fn lease(&self, bead: &str) -> PathBuf {
        self.runtime.join("leases").join(format!("{bead}.lock"))
    }
    /// The index `gc` builds a finished step's attic commit with.
    pub fn attic_index(&self, step: &str) -> PathBuf {
        self.runtime.join(format!("attic-index-{step}"))
    }
    /// Where approval re-runs a step's gates on a fresh worktree (`run` names the attempt).
    pub fn verify_dir(&self, run: &str) -> PathBuf {
        self.runtime.join("verify").join(run)
    }
    /// The key approval evidence is sealed with.
    pub fn evidence_key(&self) -> PathBuf {
        self.runtime.join("evidence.key")
    }
    pub fn tick_state(&self) -> PathBuf {
        self.runtime.join("tick-state.json")
    }
    /// The index a tick commits `.forge/` with.
    pub fn tick_index(&self) -> PathBuf {
        self.runtime.join("tick-index")
    }
    pub fn tick_lock(&self) -> PathBuf {
        self.runtime.join("tick.lock")
    }
    /// Where the crontab entry appends `forge tick`'s output.
    pub fn tick_log(&self) -> PathBuf {
        self.runtime.join("tick.log")
    }
    pub fn notify_log(&self) -> PathBuf {
        self.runtime.join("notify.log")
    }
    /// `forge plan`'s runs, one directory each.
    pub fn plans(&self) -> PathBuf {
        self.runtime.join("plans")
    }

    /// A path relative to the working tree, for messages.
    pub fn display<'a>(&self, path: &'a Path) -> std::borrow::Cow<'a, str> {
        match path.strip_prefix(&self.root) {
            Ok(rel) => rel.to_string_lossy(),
            Err(_) => path.to_string_lossy(),
        }
    }
}
