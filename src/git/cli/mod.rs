//! Every call forge makes to the `git` command line, in one place. forge shells out where
//! libgit2 lacks something (worktrees with hooks and config applied) or where the user's
//! own git configuration must apply (signing, merges).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::{Error, Result};

mod commits;
mod merges;
pub mod remote;
mod worktrees;

pub use merges::{MergeTree, UnmergedEntry};
pub use worktrees::{StagedChange, WorktreeEntry};

/// Variables git sets for hooks; inherited, they would point git at the wrong repository.
const GIT_LOCATION_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
];

/// Settings that switch off everything through which a repository's configuration or
/// files could run code or change what git reports: hooks (also `reference-transaction`),
/// fsmonitor, the untracked cache a harness could have primed (forge's diffs also pass
/// `--no-ext-diff --no-textconv`). Filter drivers need a `filter.NAME.*` entry in a configuration the harness
/// cannot write (the sandbox, and detection when it is off, see `step::guard`).
const HARDENED: &[&str] = &[
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "protocol.allow=never",
];

/// Whether this git takes `--attr-source` (git 2.42 and later). Older ones still get every
/// filter driver switched off; the option only adds that attributes come from a commit.
fn git_has_attr_source() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        let out = Command::new("git").arg("version").output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let version: Vec<u32> = text
            .unwrap_or_default()
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .split('.')
            .take(2)
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        version.as_slice() >= [2, 42].as_slice()
    })
}

#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    env: Vec<(String, String)>,
    /// `--git-dir` given explicitly, so that nothing in `dir` (a `.git` file) is read.
    git_dir: Option<PathBuf>,
    /// `-c` settings that switch off what could run code ([`HARDENED`] and every filter
    /// driver configured when the git was made); empty: the user's configuration applies.
    hardening: Vec<String>,
}

impl Git {
    /// git run in `dir` (a working tree).
    pub fn new(dir: &Path) -> Git {
        Git {
            dir: dir.to_owned(),
            env: Vec::new(),
            git_dir: None,
            hardening: Vec::new(),
        }
    }

    /// git for a step's worktree that trusts nothing the agent can write (DESIGN.md §2.5):
    /// the repository is `common_dir`, named explicitly instead of through the worktree's
    /// `.git` file; the index is forge's own `index_file`; hooks and the like are off.
    /// HEAD is the common dir's, so callers name every commit explicitly.
    pub fn pinned(common_dir: &Path, worktree: &Path, index_file: &Path) -> Git {
        Git {
            dir: worktree.to_owned(),
            env: vec![(
                "GIT_INDEX_FILE".to_owned(),
                index_file.to_string_lossy().into_owned(),
            )],
            git_dir: Some(common_dir.to_owned()),
            hardening: Vec::new(),
        }
        .hardened()
    }

    /// git for the user's checkout at `root` that neither trusts nor changes what a
    /// harness could have written there: the repository named explicitly (so `core.bare`
    /// or `core.worktree` cannot redirect it), hardened, and without the optional index
    /// refresh `git status` would otherwise write.
    pub fn checkout(common_dir: &Path, root: &Path) -> Git {
        Git {
            dir: root.to_owned(),
            env: vec![("GIT_OPTIONAL_LOCKS".to_owned(), "0".to_owned())],
            git_dir: Some(common_dir.to_owned()),
            hardening: Vec::new(),
        }
        .hardened()
    }

    /// The same git with hooks, fsmonitor and filter drivers off, for forge's own work on
    /// the repository (worktrees, refs) where the user's hooks have no business. The
    /// filter drivers are those configured now: make the git after the harness ran.
    pub fn hardened(mut self) -> Git {
        if !self.hardening.is_empty() {
            return self;
        }
        self.env
            .push(("GIT_NO_REPLACE_OBJECTS".to_owned(), "1".to_owned()));
        self.hardening = HARDENED.iter().map(|s| (*s).to_owned()).collect();
        // An empty command switches a driver off (a `-c` beats every config file).
        for name in self.filter_drivers() {
            for key in ["clean", "smudge", "process"] {
                self.hardening.push(format!("filter.{name}.{key}="));
            }
            self.hardening.push(format!("filter.{name}.required=false"));
        }
        self
    }

    /// Names of the filter drivers any configuration file (or include) defines.
    fn filter_drivers(&self) -> Vec<String> {
        let out = self
            .command([
                "config",
                "--name-only",
                "--get-regexp",
                r"^filter\..*\.(clean|smudge|process|required)$",
            ])
            .output();
        let Ok(out) = out else { return Vec::new() };
        let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                l.strip_prefix("filter.")?
                    .rsplit_once('.')
                    .map(|(n, _)| n.to_owned())
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The same, with extra environment variables for every call.
    pub fn with_env(mut self, key: &str, value: &str) -> Git {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        // A detached `gc --auto` would outlive the call and, forge being a child subreaper
        // while it runs harnesses, become forge's zombie.
        cmd.arg("-C")
            .arg(&self.dir)
            .args(["-c", "gc.autoDetach=false"]);
        if let Some(git_dir) = &self.git_dir {
            cmd.arg("--git-dir")
                .arg(git_dir)
                .arg("--work-tree")
                .arg(&self.dir);
        }
        for setting in &self.hardening {
            cmd.args(["-c", setting]);
        }
        cmd.args(args).stdin(Stdio::null());
        for var in GIT_LOCATION_VARS {
            cmd.env_remove(var);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    fn check(&self, args: &[&str], out: Output) -> Result<String> {
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(Error::GitCommand {
            command: format!("git {}", args.join(" ")),
            message: stderr.trim().to_owned(),
        })
    }

    /// Runs git and returns stdout; a nonzero exit is an error carrying stderr.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command(args)
            .output()
            .map_err(|e| Error::io("git", e))?;
        self.check(args, out)
    }

    /// Runs git and reports only whether it succeeded (for `diff --quiet` and the like).
    pub fn succeeds(&self, args: &[&str]) -> Result<bool> {
        let status = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| Error::io("git", e))?;
        Ok(status.success())
    }

    pub fn rev_parse(&self, rev: &str) -> Result<String> {
        Ok(self
            .run(&[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ])?
            .trim()
            .to_owned())
    }

    /// The branch checked out here (`main`), or None on a detached HEAD.
    pub fn current_branch(&self) -> Result<Option<String>> {
        let out = self
            .command(["symbolic-ref", "--quiet", "--short", "HEAD"])
            .output()
            .map_err(|e| Error::io("git", e))?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    }

    /// The same git, committing as forge (`name <forge@localhost>`), author and committer.
    pub fn as_forge(&self, name: &str) -> Git {
        self.clone()
            .with_env("GIT_AUTHOR_NAME", name)
            .with_env("GIT_AUTHOR_EMAIL", "forge@localhost")
            .with_env("GIT_COMMITTER_NAME", name)
            .with_env("GIT_COMMITTER_EMAIL", "forge@localhost")
    }
}

// Hooks, the merge driver, pre-commit checks and doctor.
impl Git {
    /// A value from git's configuration, or None if it is not set.
    pub fn config_get(&self, key: &str) -> Result<Option<String>> {
        let out = self
            .command(["config", "--get", key])
            .output()
            .map_err(|e| Error::io("git", e))?;
        match out.status.code() {
            Some(0) => Ok(Some(
                String::from_utf8_lossy(&out.stdout)
                    .trim_end_matches('\n')
                    .to_owned(),
            )),
            Some(1) => Ok(None),
            _ => self.check(&["config", "--get", key], out).map(|_| None),
        }
    }

    /// Sets a value in the repository's own configuration (shared by its worktrees).
    pub fn config_set(&self, key: &str, value: &str) -> Result<()> {
        self.run(&["config", "--local", key, value])?;
        Ok(())
    }

    /// `git rev-parse --git-path NAME`, made absolute: where git looks for `hooks`, for
    /// example (this honours `core.hooksPath` and linked worktrees).
    pub fn git_path(&self, name: &str) -> Result<PathBuf> {
        let out = self.run(&["rev-parse", "--git-path", name])?;
        let path = PathBuf::from(out.trim_end_matches('\n'));
        Ok(if path.is_absolute() {
            path
        } else {
            self.dir.join(path)
        })
    }
}
