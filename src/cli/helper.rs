//! What every command shares, handed to each as one [`CommandHelper`] (after the model of
//! jj's `cli_util`): the terminal, the directory it runs in, the environment taken at
//! start, and the repository, opened the one way (`workspace::open_initialised`) when a
//! command first asks for it.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use super::ui::Ui;
use crate::config::Config;
use crate::error::Result;
use crate::store::Layout;
use crate::workspace::{Environment, Workspace, load_initialised, open_repo};

pub struct CommandHelper<'a> {
    ui: &'a Ui,
    cwd: PathBuf,
    env: Environment,
    /// Found from `cwd`, initialised or not.
    repo: OnceCell<(git2::Repository, Layout)>,
    /// Set once the repository is known to be initialised (journal recovered).
    config: OnceCell<Config>,
}

impl<'a> CommandHelper<'a> {
    pub fn new(ui: &'a Ui, cwd: PathBuf, env: Environment) -> Self {
        CommandHelper {
            ui,
            cwd,
            env,
            repo: OnceCell::new(),
            config: OnceCell::new(),
        }
    }

    pub fn ui(&self) -> &'a Ui {
        self.ui
    }

    /// Where forge runs (`-C DIR` applied).
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// The repository containing the working directory, whether or not forge is
    /// initialised in it: for `init`, the hooks and the other commands that must work in
    /// any state.
    pub fn repository(&self) -> Result<(&git2::Repository, &Layout)> {
        if self.repo.get().is_none() {
            let opened = open_repo(&self.cwd)?;
            let _ = self.repo.set(opened);
        }
        let (repo, layout) = self.repo.get().expect("set above");
        Ok((repo, layout))
    }

    /// The layout of the initialised repository, for commands that read forge's state and
    /// record nothing in the ledger.
    pub fn layout(&self) -> Result<&Layout> {
        self.config()?;
        Ok(self.repository()?.1)
    }

    /// The config of the initialised repository.
    pub fn config(&self) -> Result<&Config> {
        if self.config.get().is_none() {
            let config = load_initialised(self.repository()?.1)?;
            let _ = self.config.set(config);
        }
        Ok(self.config.get().expect("set above"))
    }

    /// A workspace over the initialised repository, for commands that change state and
    /// record it in the ledger (a new one each time: it is this run's ledger writer).
    pub fn workspace(&self) -> Result<Workspace> {
        let (repo, layout) = self.repository()?;
        let config = load_initialised(layout)?;
        Ok(Workspace::new(repo, layout.clone(), config, &self.env))
    }

    /// A workspace over the initialised repository containing `root` instead (`forge
    /// assume` inside a step writes to the main working tree).
    pub fn workspace_at(&self, root: &Path) -> Result<Workspace> {
        Workspace::open(root, &self.env)
    }
}
