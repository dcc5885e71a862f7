//! Registering `forge merge-driver` with git: `merge.forge.name` and `merge.forge.driver`
//! in the repository's config (local, never committed) and `.forge/.gitattributes`
//! (committed, so every clone asks for the driver; a clone that has not registered it
//! merges these files as text, which is still safe).

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::store::{Layout, atomic_write};

pub const NAME_KEY: &str = "merge.forge.name";
pub const DRIVER_KEY: &str = "merge.forge.driver";
pub const NAME: &str = "forge: field-wise merge of .forge/ bead and assumption files";

/// The lines `.forge/.gitattributes` must hold (paths relative to `.forge/`).
pub const ATTRIBUTE_LINES: &[&str] =
    &["beads/*.toml merge=forge", "assumptions/*.toml merge=forge"];

const ATTRIBUTES_HEADER: &str =
    "# Written by forge: bead and assumption files merge field by field where the forge merge
# driver is registered (`forge init`, `forge hooks install`); elsewhere git merges them as
# text, which is safe too. See docs/merge.md.
";

pub fn attributes_path(layout: &Layout) -> std::path::PathBuf {
    layout.forge.join(".gitattributes")
}

/// The driver command git runs through sh. It prefers the forge that registered it, then
/// any forge on PATH; without one it falls back to git's own line merge, so a missing
/// binary gives an ordinary conflict instead of losing the other side.
pub fn driver_command(forge_exe: &Path) -> String {
    format!(
        "f={}; [ -x \"$f\" ] || f=$(command -v forge) || f=; if [ -n \"$f\" ]; then \"$f\" merge-driver %O %A %B %P; else git merge-file --diff3 -L ours -L base -L theirs %A %O %B; fi",
        crate::shell::quote(&forge_exe.to_string_lossy())
    )
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DriverStatus {
    /// `merge.forge.driver` is set to a forge merge-driver command.
    pub configured: bool,
    /// It names this forge binary.
    pub current: bool,
    /// `.forge/.gitattributes` routes beads and assumptions to it.
    pub attributes: bool,
    /// `merge.forge.name` is set without a driver: git then stops every merge of these
    /// files with "custom merge driver forge lacks command line".
    pub broken: bool,
}

impl DriverStatus {
    pub fn ok(&self) -> bool {
        self.configured && self.attributes
    }
}

pub fn status(git: &Git, layout: &Layout, forge_exe: &Path) -> Result<DriverStatus> {
    let driver = git.config_get(DRIVER_KEY)?;
    let name = git.config_get(NAME_KEY)?;
    let attributes = std::fs::read_to_string(attributes_path(layout)).unwrap_or_default();
    Ok(DriverStatus {
        configured: driver
            .as_deref()
            .is_some_and(|d| d.contains("merge-driver %O %A %B %P")),
        current: driver.as_deref() == Some(driver_command(forge_exe).as_str()),
        attributes: ATTRIBUTE_LINES
            .iter()
            .all(|l| attributes.lines().any(|have| have.trim() == *l)),
        broken: name.is_some() && driver.is_none(),
    })
}

/// Registers the driver idempotently; returns what changed, for the report.
pub fn register(git: &Git, layout: &Layout, forge_exe: &Path) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    if git.config_get(NAME_KEY)?.as_deref() != Some(NAME) {
        git.config_set(NAME_KEY, NAME)?;
        changed.push(format!("git config {NAME_KEY}"));
    }
    let command = driver_command(forge_exe);
    if git.config_get(DRIVER_KEY)?.as_deref() != Some(command.as_str()) {
        git.config_set(DRIVER_KEY, &command)?;
        changed.push(format!("git config {DRIVER_KEY}"));
    }
    let path = attributes_path(layout);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut text = existing
        .clone()
        .unwrap_or_else(|| ATTRIBUTES_HEADER.to_owned());
    for line in ATTRIBUTE_LINES {
        if !text.lines().any(|have| have.trim() == *line) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(line);
            text.push('\n');
        }
    }
    if existing.as_deref() != Some(text.as_str()) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        atomic_write(&path, text.as_bytes())?;
        changed.push(layout.display(&path).into_owned());
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_awkward_paths() {
        // The text a driver registered by an earlier forge has, so it still counts as current.
        assert!(driver_command(Path::new("/x/forge")).starts_with("f='/x/forge';"));
        let awkward = driver_command(Path::new("/a b/it's"));
        let word = awkward
            .strip_prefix("f=")
            .unwrap()
            .split_once("; [")
            .unwrap()
            .0;
        assert_eq!(shlex::split(word).unwrap(), ["/a b/it's"]);
    }
}
