//! Every call forge makes to the `git` command line, in one place. forge shells out where
//! libgit2 lacks something (worktrees with hooks and config applied) or where the user's
//! own git configuration must apply (signing, merges).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::{Error, Result};

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

    /// A new worktree on a new branch, made without the repository's hooks
    /// (`post-checkout`): it is forge's, not the user's.
    pub fn worktree_add(&self, path: &Path, branch: &str, commit: &str) -> Result<()> {
        let path = path.to_string_lossy();
        self.clone()
            .hardened()
            .run(&["worktree", "add", "--quiet", "-b", branch, &path, commit])?;
        Ok(())
    }

    pub fn worktree_remove(&self, path: &Path) -> Result<()> {
        let path = path.to_string_lossy();
        self.run(&["worktree", "remove", "--force", "--force", &path])?;
        Ok(())
    }

    /// With a [`pinned`](Git::pinned) git: a commit of everything in the worktree except
    /// paths matching `excluded` (glob pathspecs), honouring `.gitignore`, on top of
    /// `parent`, made through forge's own index with plumbing. None when the tree is
    /// `parent`'s. Moves no ref.
    pub fn snapshot(
        &self,
        parent: &str,
        excluded: &[&str],
        message: &str,
        author: &str,
    ) -> Result<Option<String>> {
        debug_assert!(self.git_dir.is_some(), "only a pinned git snapshots");
        // `-m` keeps the stat data of entries that still match, so unchanged files are not
        // hashed again; a damaged index is simply read afresh.
        if self.run(&["read-tree", "-m", parent]).is_err() {
            self.run(&["read-tree", parent])?;
        }
        // Attributes come from `parent`, not from the worktree: a `.gitattributes` the agent
        // wrote cannot attach a filter driver to forge's own `git add`.
        let mut args = Vec::new();
        if git_has_attr_source() {
            args.push(format!("--attr-source={parent}"));
        }
        args.extend([
            "add".to_owned(),
            "--all".to_owned(),
            "--".to_owned(),
            ".".to_owned(),
        ]);
        args.extend(excluded.iter().map(|p| format!(":(exclude,glob){p}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args)?;
        let tree = self.run(&["write-tree"])?.trim().to_owned();
        if tree == self.rev_parse_tree(parent)? {
            return Ok(None);
        }
        Ok(Some(self.as_forge(author).commit_tree(
            &tree,
            &[parent],
            message,
        )?))
    }

    /// The same git, committing as forge (`name <forge@localhost>`), author and committer.
    pub fn as_forge(&self, name: &str) -> Git {
        self.clone()
            .with_env("GIT_AUTHOR_NAME", name)
            .with_env("GIT_AUTHOR_EMAIL", "forge@localhost")
            .with_env("GIT_COMMITTER_NAME", name)
            .with_env("GIT_COMMITTER_EMAIL", "forge@localhost")
    }

    /// The tree of a commit.
    pub fn rev_parse_tree(&self, commit: &str) -> Result<String> {
        Ok(self
            .run(&["rev-parse", "--verify", &format!("{commit}^{{tree}}")])?
            .trim()
            .to_owned())
    }

    /// Names of files changed between two commits.
    pub fn changed_files(&self, from: &str, to: &str) -> Result<Vec<String>> {
        Ok(self
            .run(&[
                "diff",
                "--no-ext-diff",
                "--name-only",
                "--no-renames",
                "-z",
                from,
                to,
            ])?
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// (added, removed) lines between two commits; binary files count as one line each.
    pub fn diff_lines(&self, from: &str, to: &str) -> Result<(u64, u64)> {
        let mut added = 0;
        let mut removed = 0;
        for line in self
            .run(&[
                "diff",
                "--no-ext-diff",
                "--numstat",
                "--no-renames",
                from,
                to,
            ])?
            .lines()
        {
            let mut parts = line.split('\t');
            let a = parts.next().unwrap_or("-");
            let r = parts.next().unwrap_or("-");
            added += a.parse::<u64>().unwrap_or(1);
            removed += r.parse::<u64>().unwrap_or(1);
        }
        Ok((added, removed))
    }

    /// The unified diff between two commits.
    pub fn diff(&self, from: &str, to: &str) -> Result<String> {
        self.run(&[
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
            from,
            to,
        ])
    }

    pub fn diffstat(&self, from: &str, to: &str) -> Result<String> {
        self.run(&["diff", "--stat", "--no-color", "--no-ext-diff", from, to])
    }

    /// Several compare-and-swap ref updates as one transaction (`update-ref --stdin`): all
    /// happen or none. Each is (ref, new, old); old None means "must not exist".
    pub fn update_refs(&self, updates: &[(&str, &str, Option<&str>)]) -> Result<()> {
        use std::io::Write;
        let mut script = String::from("start\n");
        for (r, new, old) in updates {
            let old = old.unwrap_or("0000000000000000000000000000000000000000");
            script.push_str(&format!("update {r} {new} {old}\n"));
        }
        script.push_str("prepare\ncommit\n");
        let mut child = self
            .command(["update-ref", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("git", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .map_err(|e| Error::io("git", e))?;
        }
        let out = child.wait_with_output().map_err(|e| Error::io("git", e))?;
        self.check(&["update-ref", "--stdin"], out).map(drop)
    }

    /// Points `refname` at `new`, only if it currently is `old` (all zeros: must not exist).
    pub fn update_ref(&self, refname: &str, new: &str, old: Option<&str>) -> Result<()> {
        let mut args = vec!["update-ref", refname, new];
        if let Some(old) = old {
            args.push(old);
        }
        self.run(&args)?;
        Ok(())
    }

    /// With a [`pinned`](Git::pinned) git: a commit of everything in the worktree
    /// (ignored files excepted) on top of `parent`, even when nothing changed, for the
    /// attic. Returns the commit id.
    pub fn snapshot_commit(&self, parent: &str, message: &str) -> Result<String> {
        Ok(match self.snapshot(parent, &[], message, "forge")? {
            Some(commit) => commit,
            None => {
                let tree = self.rev_parse_tree(parent)?;
                self.as_forge("forge")
                    .commit_tree(&tree, &[parent], message)?
            }
        })
    }
}

/// The outcome of a merge computed without touching any working tree.
#[derive(Debug, Clone)]
pub struct MergeTree {
    pub tree: String,
    /// Conflicted paths; empty when the merge is clean.
    pub conflicts: Vec<String>,
}

impl Git {
    /// Merges `theirs` into `ours` in memory (`git merge-tree --write-tree`). With
    /// `merge_base`, that commit is used as the base (a revert is a merge whose base is the
    /// commit being reverted).
    pub fn merge_tree(
        &self,
        ours: &str,
        theirs: &str,
        merge_base: Option<&str>,
    ) -> Result<MergeTree> {
        let mut args = vec!["merge-tree", "--write-tree", "--name-only", "--no-messages"];
        let base_arg;
        if let Some(base) = merge_base {
            base_arg = format!("--merge-base={base}");
            args.push(&base_arg);
        }
        args.push(ours);
        args.push(theirs);
        let out = self
            .command(&args)
            .output()
            .map_err(|e| Error::io("git", e))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = stdout.lines();
        let tree = lines.next().unwrap_or("").trim().to_owned();
        match out.status.code() {
            Some(0) => Ok(MergeTree {
                tree,
                conflicts: Vec::new(),
            }),
            Some(1) => Ok(MergeTree {
                tree,
                conflicts: lines.filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            }),
            _ => Err(Error::GitCommand {
                command: format!("git {}", args.join(" ")),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            }),
        }
    }

    /// A commit of `tree` with `parents`, made with the user's identity and signing settings
    /// (`commit-tree` honours `commit.gpgSign`).
    pub fn commit_tree(&self, tree: &str, parents: &[&str], message: &str) -> Result<String> {
        let mut args = vec!["commit-tree", tree];
        for p in parents {
            args.push("-p");
            args.push(p);
        }
        args.push("-m");
        args.push(message);
        Ok(self.run(&args)?.trim().to_owned())
    }

    /// The working tree where `branch` (a full ref) is checked out, if any: the main one,
    /// or a linked worktree of the user's. Entries a harness could have forged (git takes
    /// a linked worktree's path and branch from its admin directory, which a step's harness
    /// may write) are ignored: anything under the common directory, where forge keeps its
    /// worktrees and the harnesses' scratch space, and anything without a `.git` file.
    pub fn worktree_of_branch(&self, branch: &str) -> Result<Option<PathBuf>> {
        let common = self.run(&["rev-parse", "--path-format=absolute", "--git-common-dir"])?;
        let common = PathBuf::from(common.trim());
        let listing = self.run(&["worktree", "list", "--porcelain"])?;
        let mut current: Option<PathBuf> = None;
        let mut first = true;
        for line in listing.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                let path = PathBuf::from(p);
                let linked_ok = !path.starts_with(&common)
                    && std::fs::symlink_metadata(path.join(".git")).is_ok_and(|m| m.is_file());
                current = (first || linked_ok).then_some(path);
                first = false;
            } else if line.strip_prefix("branch ") == Some(branch)
                && let Some(dir) = current.take()
            {
                return Ok(Some(dir));
            }
        }
        Ok(None)
    }

    /// Paths with uncommitted changes (staged, unstaged or untracked), and whether anything
    /// is staged.
    pub fn dirty_paths(&self) -> Result<(Vec<String>, bool)> {
        let out = self.run(&["status", "--porcelain=v1", "-z", "--untracked-files=all"])?;
        let mut paths = Vec::new();
        let mut staged = false;
        let mut entries = out.split('\0').filter(|e| !e.is_empty());
        while let Some(entry) = entries.next() {
            let (code, path) = entry.split_at(3.min(entry.len()));
            let x = code.as_bytes().first().copied().unwrap_or(b' ');
            if x != b' ' && x != b'?' {
                staged = true;
            }
            paths.push(path.to_owned());
            if x == b'R' || x == b'C' {
                // Renames carry the old path as a second entry.
                if let Some(old) = entries.next() {
                    paths.push(old.to_owned());
                }
            }
        }
        Ok((paths, staged))
    }

    /// `git merge --no-ff` of `commit` into the branch checked out here, with the user's own
    /// configuration (identity, signing, hooks).
    pub fn merge_no_ff(&self, commit: &str, message: &str) -> Result<()> {
        self.run(&[
            "merge",
            "--no-ff",
            "--no-edit",
            "--quiet",
            "-m",
            message,
            commit,
        ])?;
        Ok(())
    }

    /// `git revert -m 1` of a merge commit into the branch checked out here.
    pub fn revert_merge(&self, merge: &str, message: &str) -> Result<()> {
        self.run(&["revert", "--no-commit", "-m", "1", merge])?;
        self.run(&["commit", "--quiet", "-m", message])?;
        Ok(())
    }
}

/// What `git diff --cached --name-status` says happened to a staged path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagedChange {
    Added,
    Modified,
    Deleted,
    /// Type changes and anything else git may report.
    Other,
}

/// One entry of `git ls-files -u`: a path with unmerged stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmergedEntry {
    /// 1 base, 2 ours, 3 theirs.
    pub stage: u8,
    pub oid: String,
    pub path: String,
}

/// One entry of `git worktree list --porcelain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeEntry {
    pub path: PathBuf,
    /// git's own judgement that the directory is gone.
    pub prunable: bool,
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

    /// Staged changes under `pathspec` compared with HEAD (with every staged file as added
    /// before the first commit), without rename detection.
    pub fn staged_changes(&self, pathspec: &str) -> Result<Vec<(StagedChange, String)>> {
        let out = self.run(&[
            "diff",
            "--cached",
            "--name-status",
            "--no-renames",
            "-z",
            "--",
            pathspec,
        ])?;
        let mut fields = out.split('\0').filter(|s| !s.is_empty());
        let mut changes = Vec::new();
        while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
            let change = match status.as_bytes().first() {
                Some(b'A') => StagedChange::Added,
                Some(b'M') => StagedChange::Modified,
                Some(b'D') => StagedChange::Deleted,
                _ => StagedChange::Other,
            };
            changes.push((change, path.to_owned()));
        }
        Ok(changes)
    }

    /// The contents of several objects in one `git cat-file --batch`: `:path` for the
    /// index, `HEAD:path`, a blob id. None for an object that does not exist.
    pub fn cat_file_batch(&self, specs: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        use std::io::{Read, Write};
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let mut child = self
            .command(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("git", e))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input: String = specs.iter().map(|s| format!("{s}\n")).collect();
        // Written from a thread: git answers while it reads, and a large answer would fill
        // the stdout pipe while we were still writing.
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut out = Vec::new();
        child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_to_end(&mut out)
            .map_err(|e| Error::io("git", e))?;
        let status = child.wait().map_err(|e| Error::io("git", e))?;
        let _ = writer.join();
        if !status.success() {
            return Err(Error::GitCommand {
                command: "git cat-file --batch".into(),
                message: format!("exited with {status}"),
            });
        }
        let mut result = Vec::with_capacity(specs.len());
        let mut rest = &out[..];
        for spec in specs {
            let nl = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
            rest = rest.get(nl + 1..).unwrap_or_default();
            if header.ends_with(" missing") || header.ends_with(" ambiguous") {
                result.push(None);
                continue;
            }
            let size: usize = header
                .rsplit(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::GitCommand {
                    command: "git cat-file --batch".into(),
                    message: format!("unexpected answer for {spec}: {header}"),
                })?;
            let body = rest.get(..size).unwrap_or(rest).to_vec();
            rest = rest.get(size + 1..).unwrap_or_default();
            result.push(Some(body));
        }
        Ok(result)
    }

    /// The full id and the trailers (`Key: value` lines, unfolded) of a commit's message.
    pub fn commit_trailers(&self, rev: &str) -> Result<(String, Vec<(String, String)>)> {
        let out = self.run(&[
            "show",
            "-s",
            "--format=%H%x00%(trailers:only,unfold)",
            rev,
            "--",
        ])?;
        let (id, trailers) = out.split_once('\0').unwrap_or((out.as_str(), ""));
        let trailers = trailers
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok((id.trim().to_owned(), trailers))
    }

    /// Unmerged index entries under `pathspec`.
    pub fn unmerged(&self, pathspec: &str) -> Result<Vec<UnmergedEntry>> {
        let out = self.run(&["ls-files", "-u", "-z", "--", pathspec])?;
        Ok(out
            .split('\0')
            .filter_map(|entry| {
                let (meta, path) = entry.split_once('\t')?;
                let mut parts = meta.split(' ');
                let _mode = parts.next()?;
                let oid = parts.next()?.to_owned();
                let stage = parts.next()?.parse().ok()?;
                Some(UnmergedEntry {
                    stage,
                    oid,
                    path: path.to_owned(),
                })
            })
            .collect())
    }

    /// Whether `ancestor` is reachable from `descendant` (or is it).
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        self.succeeds(&["merge-base", "--is-ancestor", ancestor, descendant])
    }

    /// The best common ancestor of two commits, if they have one.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>> {
        let out = self
            .command(["merge-base", a, b])
            .output()
            .map_err(|e| Error::io("git", e))?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    }

    /// Every registered worktree, with git's judgement of whether it is gone.
    pub fn worktree_entries(&self) -> Result<Vec<WorktreeEntry>> {
        let mut entries: Vec<WorktreeEntry> = Vec::new();
        for line in self.run(&["worktree", "list", "--porcelain"])?.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                entries.push(WorktreeEntry {
                    path: PathBuf::from(p),
                    prunable: false,
                });
            } else if line.starts_with("prunable")
                && let Some(last) = entries.last_mut()
            {
                last.prunable = true;
            }
        }
        Ok(entries)
    }

    /// `git worktree prune`: forgets worktrees whose directory is gone.
    pub fn worktree_prune(&self) -> Result<()> {
        self.run(&["worktree", "prune"])?;
        Ok(())
    }

    /// `git verify-commit`: whether `commit` carries a signature that is good by the
    /// user's own gpg/ssh configuration (allowed signers, trust levels), and what git said
    /// about it ("" for an unsigned commit).
    pub fn verify_commit(&self, commit: &str) -> Result<(bool, String)> {
        let out = self
            .command(["verify-commit", commit])
            .output()
            .map_err(|e| Error::io("git", e))?;
        let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Ok((out.status.success(), said))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_refs_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let git = Git::new(dir.path());
        git.run(&["init", "-q"]).unwrap();
        let tree = git.run(&["write-tree"]).unwrap();
        let a = git
            .clone()
            .with_env("GIT_AUTHOR_NAME", "t")
            .with_env("GIT_AUTHOR_EMAIL", "t@t")
            .with_env("GIT_COMMITTER_NAME", "t")
            .with_env("GIT_COMMITTER_EMAIL", "t@t")
            .commit_tree(tree.trim(), &[], "a")
            .unwrap();
        git.update_ref("refs/heads/x", &a, None).unwrap();
        // The second update's expected old value is wrong: neither happens.
        let wrong = "1111111111111111111111111111111111111111";
        assert!(
            git.update_refs(&[("refs/y", &a, None), ("refs/heads/x", &a, Some(wrong))])
                .is_err()
        );
        assert!(git.rev_parse("refs/y").is_err());
        git.update_refs(&[("refs/y", &a, None), ("refs/heads/x", &a, Some(&a))])
            .unwrap();
        assert_eq!(git.rev_parse("refs/y").unwrap(), a);
    }
}
