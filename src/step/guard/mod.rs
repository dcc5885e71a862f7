//! Detection, the second line of containment (DESIGN.md §7.3): what a harness could change
//! outside its step is recorded before it runs and compared after. Any difference is a
//! named policy violation; forge restores nothing, it says what changed and how to undo it.
//!
//! Always compared (a sandboxed harness may write these, or they are cheap): the step
//! worktree's `.git` file and its admin directory's `HEAD`, `commondir`, `gitdir` and
//! `config.worktree`; the common directory's `config`, `hooks/` and `info/`. Without the
//! sandbox, also every ref outside forge's own namespaces and the user's checkout (status,
//! index and the contents of every changed file), which the sandbox otherwise makes
//! unwritable: comparing them then only adds cost and false alarms from the user's own work.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Result;
use crate::git::cli::Git;
use crate::ledger::line::sha256_hex as digest;

/// Where to look.
pub struct Watched<'a> {
    /// The user's working tree.
    pub root: &'a Path,
    pub common_dir: &'a Path,
    pub worktree: &'a Path,
    pub admin_dir: &'a Path,
    /// The step's own branch (`refs/heads/forge/<bead>/<n>`), which forge moves itself.
    pub branch_ref: &'a str,
    /// Refs and the user's checkout too (the sandbox is off).
    pub full: bool,
}

/// What was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Label (as shown in a violation) to content digest; None: absent.
    files: BTreeMap<String, Option<String>>,
    /// `key=value` lines of the common config, to name the keys that changed, and its text,
    /// to name them as written (git lowercases them).
    config: Vec<String>,
    config_text: String,
    refs: BTreeMap<String, String>,
    /// The user's checkout: path (or `index`) to digest.
    checkout: BTreeMap<String, String>,
}

/// One thing the harness changed outside its step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// "the harness changed refs/heads/main"
    pub what: String,
    /// How to undo it, when forge knows.
    pub undo: String,
    /// It concerns the common directory's config, hooks or info: forge then runs no git of
    /// its own in the worktree.
    #[serde(skip)]
    pub touches_config: bool,
}

/// Files larger than this are not read (see `file_digest`).
const MAX_READ: u64 = 4 << 20;

/// A file's digest, or None when absent. Symlinks are read as links, never followed.
fn file_digest(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).ok()?;
        return Some(format!("symlink:{}", target.display()));
    }
    if !meta.is_file() {
        return Some("not a file".into());
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // A harness must not be able to make forge read (or allocate) gigabytes: a big file is
    // known by its size, inode and times, which any rewrite changes.
    if meta.len() > MAX_READ {
        return Some(format!(
            "large:{}:{}:{:o}:{}.{}",
            meta.len(),
            meta.ino(),
            meta.permissions().mode(),
            meta.mtime(),
            meta.mtime_nsec()
        ));
    }
    let bytes = std::fs::read(path).ok()?;
    Some(format!(
        "{:o}:{}",
        meta.permissions().mode(),
        digest(&bytes)
    ))
}

/// Every file under `dir` (recursively, links not followed), labelled `prefix/relative`.
fn tree_digests(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Option<String>>) {
    for entry in walkdir::WalkDir::new(dir).follow_links(false).min_depth(1) {
        let Ok(entry) = entry else { continue };
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        out.insert(
            format!("{prefix}/{}", rel.display()),
            file_digest(entry.path()),
        );
    }
}

/// How a path inside the common dir is named in messages: `.git/config` when the common
/// dir is the usual `.git` of the checkout, else its full path.
fn label(w: &Watched<'_>, path: &Path) -> String {
    match path.strip_prefix(w.root) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

pub fn take(w: &Watched<'_>) -> Result<Snapshot> {
    let mut files = BTreeMap::new();
    files.insert(
        "the worktree's .git file".to_owned(),
        file_digest(&w.worktree.join(".git")),
    );
    for name in ["HEAD", "commondir", "gitdir", "config.worktree"] {
        files.insert(
            format!("the worktree's {name}"),
            file_digest(&w.admin_dir.join(name)),
        );
    }
    for name in ["config", "config.worktree", "commondir"] {
        let path = w.common_dir.join(name);
        files.insert(label(w, &path), file_digest(&path));
    }
    for name in ["hooks", "info"] {
        let path = w.common_dir.join(name);
        tree_digests(&path, &label(w, &path), &mut files);
    }
    let config_path = w.common_dir.join("config");
    let readable =
        std::fs::symlink_metadata(&config_path).is_ok_and(|m| m.is_file() && m.len() <= MAX_READ);
    let (config, config_text) = if readable {
        (
            config_lines(&config_path),
            std::fs::read_to_string(&config_path).unwrap_or_default(),
        )
    } else {
        (Vec::new(), String::new())
    };
    let mut refs = BTreeMap::new();
    let mut checkout = BTreeMap::new();
    if w.full {
        // One hardened git for both: making it lists the configured filter drivers.
        let git = Git::checkout(w.common_dir, w.root);
        refs = list_refs(w, &git)?;
        checkout = checkout_state(w, &git)?;
    }
    Ok(Snapshot {
        files,
        config,
        config_text,
        refs,
        checkout,
    })
}

fn config_lines(path: &Path) -> Vec<String> {
    // `--file` reads just that file; listing runs nothing the file names.
    let Some(parent) = path.parent() else {
        return Vec::new();
    };
    let git = Git::new(parent);
    let mut lines: Vec<String> = git
        .run(&["config", "--file", &path.to_string_lossy(), "--list", "-z"])
        .unwrap_or_default()
        .split('\0')
        .filter(|l| !l.is_empty())
        .map(|l| l.replacen('\n', "=", 1))
        .collect();
    lines.sort();
    lines
}

/// Every ref but forge's own: the step's branch, other steps' branches (their owners move
/// them; an approval binds to a recorded head, never to a branch) and `refs/forge/`.
fn list_refs(w: &Watched<'_>, git: &Git) -> Result<BTreeMap<String, String>> {
    let out = git.run(&["for-each-ref", "--format=%(refname) %(objectname)"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(r, _)| {
            *r != w.branch_ref
                && !r.starts_with("refs/heads/forge/")
                && !r.starts_with("refs/forge/")
        })
        .map(|(r, o)| (r.to_owned(), o.to_owned()))
        .chain(head_of(w.common_dir))
        .collect())
}

/// The checkout's HEAD (symbolic or detached), as a pseudo-ref.
fn head_of(common_dir: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(common_dir.join("HEAD")).ok()?;
    Some(("HEAD".to_owned(), text.trim().to_owned()))
}

/// The user's checkout: the index file, and every path git reports as changed or
/// untracked with its content. forge's ledger and checkpoints are left out: other forge
/// processes write them while the harness runs.
fn checkout_state(w: &Watched<'_>, git: &Git) -> Result<BTreeMap<String, String>> {
    let status = git.run(&[
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--no-renames",
    ])?;
    let mut out = BTreeMap::new();
    for entry in status.split('\0').filter(|e| e.len() > 3) {
        let path = &entry[3..];
        if path.starts_with(".forge/ledger/") || path.starts_with(".forge/checkpoints/") {
            continue;
        }
        let state = format!(
            "{}:{}",
            &entry[..2],
            file_digest(&w.root.join(path)).unwrap_or_default()
        );
        out.insert(path.to_owned(), state);
    }
    if let Some(index) = file_digest(&w.common_dir.join("index")) {
        out.insert("the checkout's index".to_owned(), index);
    }
    Ok(out)
}

/// What changed between `before` and `after`, named.
pub fn compare(w: &Watched<'_>, before: &Snapshot, after: &Snapshot) -> Vec<Violation> {
    let mut out = Vec::new();
    let config_label = label(w, &w.common_dir.join("config"));
    for (name, old) in &before.files {
        let new = after.files.get(name).cloned().flatten();
        if *old != new {
            if *name == config_label {
                continue; // named key by key below
            }
            out.push(changed(name, old.is_some(), new.is_some()));
        }
    }
    for (name, new) in &after.files {
        if !before.files.contains_key(name) && new.is_some() {
            out.push(Violation {
                what: format!("the harness created {name}"),
                undo: format!("inspect and remove {name}"),
                touches_config: false,
            });
        }
    }
    let keys = |lines: &[String], other: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| !other.contains(l))
            .map(|l| l.split_once('=').map_or(l.as_str(), |(k, _)| k).to_owned())
            .collect()
    };
    let mut changed_keys = keys(&after.config, &before.config);
    changed_keys.extend(keys(&before.config, &after.config));
    let changed_keys: Vec<String> = changed_keys
        .iter()
        .map(|k| {
            as_written(k, &after.config_text)
                .unwrap_or_else(|| as_written(k, &before.config_text).unwrap_or_else(|| k.clone()))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !changed_keys.is_empty() {
        out.push(Violation {
            what: format!(
                "the harness changed {config_label}: {}",
                changed_keys.join(", ")
            ),
            undo: format!(
                "check {config_label} (`git config --local --list`) and unset what you did \
                 not set"
            ),
            touches_config: false,
        });
    } else if before.files.get(&config_label) != after.files.get(&config_label) {
        out.push(changed(&config_label, true, true));
    }
    for (r, old) in &before.refs {
        match after.refs.get(r) {
            Some(new) if new == old => {}
            Some(new) => out.push(Violation {
                what: format!("the harness (or someone else while it ran) changed {r}"),
                undo: undo_ref(r, Some(old), new),
                touches_config: false,
            }),
            None => out.push(Violation {
                what: format!("the harness (or someone else while it ran) deleted {r}"),
                undo: undo_ref(r, Some(old), ""),
                touches_config: false,
            }),
        }
    }
    for (r, new) in &after.refs {
        if !before.refs.contains_key(r) {
            out.push(Violation {
                what: format!("the harness (or someone else while it ran) created {r}"),
                undo: undo_ref(r, None, new),
                touches_config: false,
            });
        }
    }
    let mut paths: Vec<&String> = before
        .checkout
        .iter()
        .filter(|(p, d)| after.checkout.get(*p) != Some(d))
        .map(|(p, _)| p)
        .chain(
            after
                .checkout
                .keys()
                .filter(|p| !before.checkout.contains_key(*p)),
        )
        .collect();
    paths.sort();
    paths.dedup();
    if !paths.is_empty() {
        let list: Vec<&str> = paths.iter().map(|p| p.as_str()).collect();
        out.push(Violation {
            what: format!(
                "the harness (or someone else while it ran) changed the checkout: {}",
                list.join(", ")
            ),
            undo: "review `git status` and `git diff` in your checkout".into(),
            touches_config: false,
        });
    }
    let common: Vec<String> = ["config", "config.worktree", "hooks", "info"]
        .iter()
        .map(|n| label(w, &w.common_dir.join(n)))
        .collect();
    for v in &mut out {
        v.touches_config = common.iter().any(|l| v.what.contains(l.as_str()));
    }
    out
}

/// `core.hookspath` as the config file spells it: `core.hooksPath`. The variable's name is
/// found in the file's text; sections stay as git reports them.
fn as_written(key: &str, text: &str) -> Option<String> {
    let (section, var) = key.rsplit_once('.')?;
    text.lines()
        .map(|l| l.trim_start())
        .filter_map(|l| l.split(['=', ' ', '\t']).next())
        .find(|name| name.eq_ignore_ascii_case(var))
        .map(|name| format!("{section}.{name}"))
}

fn changed(name: &str, existed: bool, exists: bool) -> Violation {
    let verb = match (existed, exists) {
        (true, false) => "deleted",
        (false, true) => "created",
        _ => "changed",
    };
    Violation {
        what: format!("the harness {verb} {name}"),
        undo: format!("inspect {name}; forge does not use it for its own work"),
        touches_config: false,
    }
}

fn undo_ref(r: &str, old: Option<&String>, new: &str) -> String {
    if r == "HEAD" {
        return "check out your branch again (`git checkout <branch>`)".into();
    }
    match old {
        Some(old) if new.is_empty() => format!("git update-ref {r} {old}"),
        Some(old) => format!("git update-ref {r} {old} {new}"),
        None => format!("git update-ref -d {r} {new}"),
    }
}

/// The admin directory git made for a worktree at `path`: the `.git` file's target, read
/// right after `git worktree add` (before any harness ran), and checked to be where git
/// puts it.
pub fn admin_dir(common_dir: &Path, worktree: &Path) -> Result<PathBuf> {
    let gitfile = worktree.join(".git");
    let text = std::fs::read_to_string(&gitfile).map_err(|e| crate::Error::io(&gitfile, e))?;
    let dir = PathBuf::from(text.trim().strip_prefix("gitdir: ").unwrap_or_default());
    if !dir.starts_with(common_dir.join("worktrees")) {
        return Err(crate::Error::Refused {
            message: format!(
                "{} points outside {}",
                gitfile.display(),
                common_dir.join("worktrees").display()
            ),
            hint: "remove the worktree (`git worktree remove --force`) and run the step again"
                .into(),
        });
    }
    Ok(dir)
}

#[cfg(test)]
mod tests;
