//! The kinds of file under `.forge/`, told from their path, and the one check of each
//! kind's contents. Loading a file, the pre-commit hook (on what is staged) and `forge
//! resolve` (on what a repair would write) all check a file through [`validate`], so a file
//! one of them accepts, the others accept too.

use std::path::Path;

use super::document;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `.forge/config.toml`
    Config,
    /// `.forge/beads/<id>.toml`
    Bead,
    /// `.forge/assumptions/<id>.toml`
    Assumption,
    /// `.forge/checkpoints/<step>.toml`
    Checkpoint,
    /// `.forge/ledger/**/*.jsonl`: append-only, checked line by line (`ledger::verify`).
    Ledger,
    /// Anything else (`.gitignore`, `.gitattributes`, files of a newer forge).
    Other,
}

impl FileKind {
    /// The kind of `path`, relative to the working tree with `/` between its parts (as git
    /// names it).
    pub fn of(path: &str) -> FileKind {
        let Some(rest) = path.strip_prefix(".forge/") else {
            return FileKind::Other;
        };
        let dir = rest.split('/').next().unwrap_or("");
        let depth = rest.matches('/').count();
        match (dir, depth) {
            ("config.toml", 0) => FileKind::Config,
            ("beads", 1) if rest.ends_with(".toml") => FileKind::Bead,
            ("assumptions", 1) if rest.ends_with(".toml") => FileKind::Assumption,
            ("checkpoints", 1) if rest.ends_with(".toml") => FileKind::Checkpoint,
            ("ledger", _) if rest.ends_with(".jsonl") => FileKind::Ledger,
            _ => FileKind::Other,
        }
    }

    /// One TOML document per item, named after its id: merged field by field.
    pub fn is_item(self) -> bool {
        matches!(
            self,
            FileKind::Bead | FileKind::Assumption | FileKind::Checkpoint
        )
    }
}

/// Checks `text` as the contents of a file of `kind` at `path` (which names it in errors
/// and, for items, must be named after the id): it parses, its schema version is one this
/// forge knows, a bead's fields are in range, and a config passes every check loading makes. The ledger and other files pass here.
pub fn validate(kind: FileKind, path: &Path, text: &str) -> Result<()> {
    match kind {
        FileKind::Config => crate::config::Config::parse(path, text).map(drop),
        FileKind::Bead => crate::bead::Bead::parse(path, text).map(drop),
        FileKind::Assumption => {
            document::parse::<crate::assumption::Assumption>(path, text).map(drop)
        }
        FileKind::Checkpoint => document::parse::<crate::step::Checkpoint>(path, text).map(drop),
        FileKind::Ledger | FileKind::Other => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_gets_every_check_loading_makes() {
        let path = Path::new(".forge/config.toml");
        assert!(validate(FileKind::Config, path, "schema = 1\n").is_ok());
        for bad in [
            "schema = 1\n[worktree]\ncopy = [\"/etc/passwd\"]\n",
            "schema = 1\n[policy]\nprotected_paths = [\"src/{a,b\"]\n",
            "schema = 1\n[prices.m]\ninput = -1\noutput = 1\n",
            "schema = 99\n",
        ] {
            assert!(validate(FileKind::Config, path, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_by_path() {
        let cases = [
            (".forge/config.toml", FileKind::Config),
            (".forge/beads/fg-1.toml", FileKind::Bead),
            (".forge/assumptions/as-1.toml", FileKind::Assumption),
            (".forge/checkpoints/fg-1.1.toml", FileKind::Checkpoint),
            (".forge/ledger/2026-11/r.jsonl", FileKind::Ledger),
            (".forge/beads/sub/x.toml", FileKind::Other),
            (".forge/.gitignore", FileKind::Other),
            ("src/beads/x.toml", FileKind::Other),
        ];
        for (path, kind) in cases {
            assert_eq!(FileKind::of(path), kind, "{path}");
        }
    }
}
