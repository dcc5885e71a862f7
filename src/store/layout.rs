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

    /// A path relative to the working tree, for messages.
    pub fn display<'a>(&self, path: &'a Path) -> std::borrow::Cow<'a, str> {
        match path.strip_prefix(&self.root) {
            Ok(rel) => rel.to_string_lossy(),
            Err(_) => path.to_string_lossy(),
        }
    }
}
