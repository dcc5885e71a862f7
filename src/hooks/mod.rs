//! Git hooks: forge's part of each hook is a small `#!/bin/sh` block between two marker
//! lines inside the hook file, so installing, reinstalling and uninstalling never touch
//! the user's own lines (after the model of git-branchless).
//!
//! - The hooks directory is whatever git uses (`git rev-parse --git-path hooks`): it
//!   honours `core.hooksPath`, and linked worktrees share the common directory's hooks.
//! - The block calls the forge that installed it by absolute path, falls back to `forge` on
//!   PATH, and without either prints a warning and lets the commit through.
//! - The block goes right after the `#!` line, so it runs even if the user's lines end with
//!   `exit`. Uninstall removes exactly the lines it added (and the file, if forge created
//!   it and nobody added lines since), so the user's file is byte-identical afterwards.
//!
//! `precommit` and `postcommit` are what the blocks run.

pub mod postcommit;
pub mod precommit;

use std::fs;
use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::store::marked::{self, Markers};

/// The hooks forge installs, and what each runs.
pub const HOOKS: &[&str] = &["pre-commit", "post-commit"];

const START: &str = "# >>> forge >>>";
const END: &str = "# <<< forge <<<";
/// Inside the block: forge created the file (uninstall may delete it).
const FLAG_CREATED: &str = "# forge: created this file";
/// Inside the block: forge ended the user's last line with a newline to add the block.
const FLAG_NEWLINE: &str = "# forge: added a newline to the line above";
const CREATED_HEADER: &str = "#!/bin/sh\n";

/// The shells whose syntax the block is valid in.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox"];

fn block_body(hook: &str, forge_exe: &Path) -> String {
    let exe = crate::shell::quote(&forge_exe.to_string_lossy());
    // pre-commit may refuse the commit; any other hook only ever warns.
    let (call, what) = match hook {
        "pre-commit" => (
            format!("\"$forge_hook_bin\" hook {hook} \"$@\" || exit $?"),
            "checks of staged .forge/ files",
        ),
        _ => (
            format!("\"$forge_hook_bin\" hook {hook} \"$@\" || true"),
            "bead links and closes from commit trailers",
        ),
    };
    format!(
        "forge_hook_bin={exe}
[ -x \"$forge_hook_bin\" ] || forge_hook_bin=$(command -v forge 2>/dev/null) || forge_hook_bin=
if [ -n \"$forge_hook_bin\" ]; then
  {call}
else
  echo \"forge: not found at \"{exe}\" or on PATH; skipping forge's {what} (reinstall forge, or run 'forge hooks uninstall')\" >&2
fi
unset forge_hook_bin
"
    )
}

fn block(hook: &str, forge_exe: &Path, flags: &[&str]) -> String {
    let mut out =
        format!("{START} added by `forge hooks install`; `forge hooks uninstall` removes it\n");
    for f in flags {
        out.push_str(f);
        out.push('\n');
    }
    out.push_str(&block_body(hook, forge_exe));
    out.push_str(END);
    out.push('\n');
    out
}

const MARKERS: Markers = Markers {
    begin: START,
    end: END,
};

/// Where forge's block sits in a hook file.
struct Found {
    /// Byte range of the block's lines, newlines included.
    range: Range<usize>,
    flags: Vec<String>,
}

fn find_block(text: &str) -> Option<Found> {
    let range = marked::find(text, MARKERS)?;
    let flags = marked::inner_lines(text, range.clone())
        .filter(|l| *l == FLAG_CREATED || *l == FLAG_NEWLINE)
        .map(str::to_owned)
        .collect();
    Some(Found { range, flags })
}

/// The interpreter a `#!` line names (`/usr/bin/env bash` gives `bash`).
fn interpreter(shebang: &str) -> String {
    let mut words = shebang.trim_start_matches("#!").split_whitespace();
    let first = words.next().unwrap_or("");
    let name = first.rsplit('/').next().unwrap_or(first);
    if name == "env" {
        words.find(|w| !w.starts_with('-')).unwrap_or("").to_owned()
    } else {
        name.to_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookState {
    /// forge's block is there and current.
    Installed,
    /// forge's block is there but calls another forge binary or an older block.
    Outdated,
    /// No forge block; the user may have a hook of their own.
    Missing,
}

#[derive(Debug, Clone, Serialize)]
pub struct HookStatus {
    pub hook: String,
    pub path: String,
    pub state: HookState,
    /// The file has lines that are not forge's.
    pub user_lines: bool,
    /// git only runs executable hooks.
    pub executable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HooksReport {
    pub hooks_dir: String,
    /// `core.hooksPath`, if set.
    pub hooks_path: Option<String>,
    pub hooks: Vec<HookStatus>,
    /// What install or uninstall changed ("created", "updated", "removed", "unchanged").
    pub actions: Vec<(String, String)>,
    pub notes: Vec<String>,
}

/// The directory git runs hooks from, and `core.hooksPath` if it is set.
pub fn hooks_dir(git: &Git) -> Result<(PathBuf, Option<String>)> {
    Ok((git.git_path("hooks")?, git.config_get("core.hooksPath")?))
}

fn is_executable(meta: &fs::Metadata) -> bool {
    meta.permissions().mode() & 0o111 != 0
}

fn status_of(dir: &Path, hook: &str, forge_exe: &Path) -> HookStatus {
    let path = dir.join(hook);
    let text = fs::read_to_string(&path).unwrap_or_default();
    let executable = fs::metadata(&path).is_ok_and(|m| is_executable(&m));
    let (state, user_lines) = match find_block(&text) {
        Some(found) => {
            let flags: Vec<&str> = found.flags.iter().map(String::as_str).collect();
            let current = text[found.range.clone()] == block(hook, forge_exe, &flags);
            let rest = marked::replace(&text, found.range, "");
            let created = flags.contains(&FLAG_CREATED);
            let user = !(rest.is_empty() || created && rest == CREATED_HEADER);
            (
                if current {
                    HookState::Installed
                } else {
                    HookState::Outdated
                },
                user,
            )
        }
        None => (HookState::Missing, !text.is_empty()),
    };
    HookStatus {
        hook: hook.to_owned(),
        path: path.display().to_string(),
        state,
        user_lines,
        executable,
    }
}

fn report(git: &Git, forge_exe: &Path) -> Result<HooksReport> {
    let (dir, hooks_path) = hooks_dir(git)?;
    Ok(HooksReport {
        hooks_dir: dir.display().to_string(),
        hooks_path,
        hooks: HOOKS
            .iter()
            .map(|h| status_of(&dir, h, forge_exe))
            .collect(),
        actions: Vec::new(),
        notes: Vec::new(),
    })
}

pub fn status(git: &Git, forge_exe: &Path) -> Result<HooksReport> {
    report(git, forge_exe)
}

/// Replaces `path` atomically with `contents`, keeping `mode`.
fn write_hook(path: &Path, contents: &str, mode: u32) -> Result<()> {
    crate::store::atomic::atomic_write_mode(path, contents.as_bytes(), Some(mode))
}

/// Refuses hook files forge must not edit: symlinks (the target may be shared or tracked)
/// and scripts in a language the block is not written in.
fn check_editable(path: &Path, text: &str, hook: &str) -> Result<()> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::Refused {
            message: format!(
                "{} is a symbolic link; forge does not edit through links",
                path.display()
            ),
            hint: format!(
                "add `forge hook {hook}` to the script it points to yourself (see docs/hooks.md)"
            ),
        });
    }
    if let Some(first) = text.lines().next().filter(|l| l.starts_with("#!")) {
        let shell = interpreter(first);
        if !SHELLS.contains(&shell.as_str()) {
            return Err(Error::Refused {
                message: format!(
                    "{} is a {shell} script; forge can only add its lines to shell hooks",
                    path.display()
                ),
                hint: format!("call `forge hook {hook}` from it yourself (see docs/hooks.md)"),
            });
        }
    }
    Ok(())
}

/// Adds or refreshes forge's block in each hook.
pub fn install(git: &Git, forge_exe: &Path) -> Result<HooksReport> {
    let (dir, _) = hooks_dir(git)?;
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    // Check every hook before changing any, so that a refusal leaves nothing half done.
    let mut plans = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let existing = match fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&path, e)),
        };
        if let Some(text) = &existing {
            check_editable(&path, text, hook)?;
        }
        plans.push((hook, path, existing));
    }
    let mut actions = Vec::new();
    for (hook, path, existing) in plans {
        let (new, mode, action) = match existing {
            None => (
                format!(
                    "{CREATED_HEADER}{}",
                    block(hook, forge_exe, &[FLAG_CREATED])
                ),
                0o755,
                "created",
            ),
            Some(text) => {
                let mode = fs::metadata(&path)
                    .map_err(|e| Error::io(&path, e))?
                    .permissions()
                    .mode()
                    & 0o7777;
                match find_block(&text) {
                    Some(found) => {
                        let flags: Vec<&str> = found.flags.iter().map(String::as_str).collect();
                        let new =
                            marked::replace(&text, found.range, &block(hook, forge_exe, &flags));
                        let action = if new == text { "unchanged" } else { "updated" };
                        (new, mode, action)
                    }
                    None => {
                        let shebang_end = if text.starts_with("#!") {
                            text.find('\n').map_or(text.len(), |i| i + 1)
                        } else {
                            0
                        };
                        let (head, tail) = text.split_at(shebang_end);
                        let new = if !head.is_empty() && !head.ends_with('\n') {
                            format!("{head}\n{}{tail}", block(hook, forge_exe, &[FLAG_NEWLINE]))
                        } else {
                            format!("{head}{}{tail}", block(hook, forge_exe, &[]))
                        };
                        (new, mode, "added to the existing hook")
                    }
                }
            }
        };
        if action != "unchanged" {
            write_hook(&path, &new, mode)?;
        }
        actions.push((hook.to_string(), action.to_owned()));
    }
    let mut out = report(git, forge_exe)?;
    out.actions = actions;
    out.notes = notes(git, &out)?;
    Ok(out)
}

fn notes(git: &Git, report: &HooksReport) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for h in &report.hooks {
        if h.state != HookState::Missing && !h.executable {
            notes.push(format!(
                "{} is not executable, so git does not run it (nor forge's block in it): `chmod +x {}` if it should run",
                h.path, h.path
            ));
        }
    }
    let inside_tree = Path::new(&report.hooks_dir)
        .strip_prefix(git.dir())
        .is_ok_and(|rel| {
            rel.components()
                .next()
                .is_some_and(|c| c.as_os_str() != ".git")
        });
    if report.hooks_path.is_some() && inside_tree {
        notes.push(format!(
            "core.hooksPath points into the working tree ({}): these hook files may be tracked or generated by a tool such as husky; see docs/hooks.md",
            report.hooks_dir
        ));
    }
    Ok(notes)
}

/// Removes forge's block from each hook, leaving the user's lines byte-identical, and
/// deletes files forge created if nothing else was added to them.
pub fn uninstall(git: &Git, forge_exe: &Path) -> Result<HooksReport> {
    let (dir, _) = hooks_dir(git)?;
    let mut actions = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let Ok(text) = fs::read_to_string(&path) else {
            actions.push((hook.to_string(), "not installed".to_owned()));
            continue;
        };
        let Some(found) = find_block(&text) else {
            actions.push((hook.to_string(), "not installed".to_owned()));
            continue;
        };
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::Refused {
                message: format!(
                    "{} is a symbolic link; forge does not edit through links",
                    path.display()
                ),
                hint: "remove the lines between the forge markers from the file it points to"
                    .into(),
            });
        }
        let mut rest = marked::replace(&text, found.range.clone(), "");
        // Take back the newline install added to end the user's last line.
        let start = found.range.start;
        if found.flags.iter().any(|f| f == FLAG_NEWLINE) && text[..start].ends_with('\n') {
            rest.remove(start - 1);
        }
        if found.flags.iter().any(|f| f == FLAG_CREATED) && rest == CREATED_HEADER {
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            actions.push((hook.to_string(), "removed (forge created it)".to_owned()));
        } else {
            let mode = fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .permissions()
                .mode()
                & 0o7777;
            write_hook(&path, &rest, mode)?;
            actions.push((hook.to_string(), "removed forge's lines".to_owned()));
        }
    }
    let mut out = report(git, forge_exe)?;
    out.actions = actions;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreters_from_shebangs() {
        assert_eq!(interpreter("#!/bin/sh"), "sh");
        assert_eq!(interpreter("#!/bin/sh -e"), "sh");
        assert_eq!(interpreter("#!/usr/bin/env bash"), "bash");
        assert_eq!(interpreter("#!/usr/bin/env -S python3 -u"), "python3");
    }

    #[test]
    fn the_block_is_found_with_its_flags() {
        let b = block("pre-commit", Path::new("/x/forge"), &[FLAG_NEWLINE]);
        let text = format!("#!/bin/sh\n{b}echo user\n");
        let found = find_block(&text).unwrap();
        assert_eq!(&text[found.range], b);
        assert_eq!(found.flags, [FLAG_NEWLINE]);
    }

    #[test]
    fn the_block_is_valid_sh() {
        let b = block("pre-commit", Path::new("/no/such/forge"), &[]);
        let out = std::process::Command::new("sh")
            .args(["-n", "-c", &b])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
