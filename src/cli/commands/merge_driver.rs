//! `forge merge-driver %O %A %B %P`: git's custom merge driver for bead and assumption
//! files (registered by `forge init` and `forge hooks install`). Hidden: git runs it.

use std::path::PathBuf;

use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::merge::{ConflictStyle, FileKind, merge_lines, merge_toml};

/// Merge three versions of a .forge/ file field by field (git merge driver)
///
/// Writes the result to OURS. Exits 0 on a clean merge, 1 when a field changed
/// differently on both sides and no rule settles it: that field is written as a conflict
/// hunk (the rest of the file is merged) and git marks the file conflicted. See
/// docs/merge.md for the rules.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The common ancestor's version (%O)
    pub base: PathBuf,
    /// Our version (%A); the result replaces it
    pub ours: PathBuf,
    /// Their version (%B)
    pub theirs: PathBuf,
    /// The path in the repository (%P)
    pub path: String,
}

fn read(path: &PathBuf) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    // git names the temp files relative to the top of the working tree, where it runs us.
    let ours_path = helper.cwd().join(&args.ours);
    let base = read(&args.base)?;
    let ours = read(&args.ours)?;
    let theirs = read(&args.theirs)?;
    // git passes an empty base when both sides added the file.
    let base = (!base.is_empty()).then_some(base.as_str());
    let kind = FileKind::of_path(&args.path);
    let say = |m: String| ui.status(&format!("forge merge-driver: {}: {m}", args.path));
    let (text, code) = match merge_toml(kind, base, &ours, &theirs, ConflictStyle::Markers) {
        Ok(outcome) => {
            for d in outcome
                .decisions
                .iter()
                .filter(|d| d.outcome.starts_with("changed on both sides"))
            {
                say(format!("{}: {}", d.field, d.outcome));
            }
            if !outcome.clean() {
                say(format!(
                    "edit the conflict in {} (or run `forge resolve {}`), then `git add` it",
                    outcome.conflicts.join(", "),
                    args.path
                ));
            }
            let code = if outcome.clean() {
                exit::OK
            } else {
                exit::FAILURE
            };
            (outcome.text, code)
        }
        Err(e) => {
            say(format!(
                "{} side does not parse ({}): merged line by line instead",
                e.side.as_str(),
                e.message
            ));
            let (text, _) = merge_lines(base, &ours, &theirs);
            (text, exit::FAILURE)
        }
    };
    crate::store::atomic_write(&ours_path, text.as_bytes())?;
    Ok(code)
}
