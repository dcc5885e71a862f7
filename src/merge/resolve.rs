//! Repairing `.forge/` files that a merge left with git conflict markers (a merge made where
//! the driver was not registered, or a field the driver could not settle). The sides come
//! from the index while git still has them (stages 1, 2, 3), else from the markers
//! themselves; they are merged field by field with the same rules as the driver, and a
//! field both sides changed is settled for one side (ours unless asked otherwise), with the
//! other side's value shown and recorded.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::table::{ConflictStyle, Decision, Side};
use super::{FileKind, markers, merge_toml};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::store::kind::{FileKind as StoreKind, validate};
use crate::store::parse::find_conflict_marker;
use crate::store::{Layout, atomic_write, is_temp_name};

/// A `.forge/` file that needs a person or `forge resolve`.
#[derive(Debug, Clone, Serialize)]
pub struct Conflicted {
    /// Relative to the working tree.
    pub path: String,
    /// First line with a conflict marker, if the file has one.
    pub marker_line: Option<usize>,
    /// git still lists the path as unmerged.
    pub unmerged: bool,
}

/// Every `.forge/` file with conflict markers or unmerged in the index, sorted.
pub fn find_conflicted(layout: &Layout, git: &Git) -> Result<Vec<Conflicted>> {
    let mut found: std::collections::BTreeMap<String, Conflicted> = Default::default();
    for entry in walkdir::WalkDir::new(&layout.forge).into_iter().flatten() {
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || is_temp_name(&name) || name.ends_with(".torn") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if let Some(line) = find_conflict_marker(&text) {
            let path = layout.display(entry.path()).into_owned();
            found.insert(
                path.clone(),
                Conflicted {
                    path,
                    marker_line: Some(line),
                    unmerged: false,
                },
            );
        }
    }
    for entry in git.unmerged(".forge")? {
        found
            .entry(entry.path.clone())
            .or_insert(Conflicted {
                path: entry.path,
                marker_line: None,
                unmerged: true,
            })
            .unmerged = true;
    }
    Ok(found.into_values().collect())
}

/// A repair, computed but not yet written.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    /// Relative to the working tree.
    pub path: String,
    /// Where the sides came from.
    pub source: String,
    pub decisions: Vec<Decision>,
    #[serde(skip)]
    pub text: String,
    #[serde(skip)]
    pub abs: PathBuf,
}

impl Resolution {
    /// Replaces the file atomically.
    pub fn write(&self) -> Result<()> {
        atomic_write(&self.abs, self.text.as_bytes())
    }
}

fn refuse(path: &str, message: &str, hint: &str) -> Error {
    Error::Refused {
        message: format!("{path}: {message}"),
        hint: hint.to_owned(),
    }
}

fn text_of(blob: Option<Vec<u8>>) -> Option<String> {
    blob.map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The three versions of a conflicted file and where they came from.
fn sides(git: &Git, rel: &str, text: &str) -> Result<(Option<String>, String, String, String)> {
    let stages = git.unmerged(rel)?;
    let oid = |n: u8| stages.iter().find(|e| e.stage == n).map(|e| e.oid.clone());
    if let (Some(o), Some(t)) = (oid(2), oid(3)) {
        let mut specs = vec![o, t];
        specs.extend(oid(1));
        let mut blobs = git.cat_file_batch(&specs)?.into_iter();
        let ours = text_of(blobs.next().flatten()).unwrap_or_default();
        let theirs = text_of(blobs.next().flatten()).unwrap_or_default();
        let base = text_of(blobs.next().flatten());
        return Ok((base, ours, theirs, "the index (git's stages 1-3)".into()));
    }
    if !stages.is_empty() {
        return Err(refuse(
            rel,
            "deleted on one side of the merge and changed on the other",
            &format!("keep it with `git add {rel}` or delete it with `git rm {rel}`"),
        ));
    }
    let split = markers::split(text).map_err(|e| {
        refuse(
            rel,
            &format!("line {}: {}", e.line, e.message),
            "edit the file by hand, keeping the right side of each conflict",
        )
    })?;
    if split.base.is_some() {
        return Ok((
            split.base,
            split.ours,
            split.theirs,
            "the conflict markers (with their base)".into(),
        ));
    }
    // Markers in git's default style carry no base; while the merge is still in progress,
    // the merge base has it.
    if let (Ok(head), Ok(merge_head)) = (git.rev_parse("HEAD"), git.rev_parse("MERGE_HEAD"))
        && let Some(mb) = git.merge_base(&head, &merge_head)?
    {
        let base = text_of(
            git.cat_file_batch(&[format!("{mb}:{rel}")])?
                .into_iter()
                .next()
                .flatten(),
        );
        return Ok((
            base,
            split.ours,
            split.theirs,
            "the conflict markers (base from the merge base)".into(),
        ));
    }
    Ok((
        None,
        split.ours,
        split.theirs,
        "the conflict markers (no base: lists keep every element)".into(),
    ))
}

/// Computes the repair of one conflicted file (`abs`, under `.forge/`).
pub fn prepare(layout: &Layout, git: &Git, abs: &Path, prefer: Side) -> Result<Resolution> {
    let rel = layout.display(abs).into_owned();
    let text = std::fs::read_to_string(abs).map_err(|e| Error::io(abs, e))?;
    let kind = match StoreKind::of(&rel) {
        StoreKind::Bead => Some((StoreKind::Bead, FileKind::Bead)),
        StoreKind::Assumption => Some((StoreKind::Assumption, FileKind::Assumption)),
        StoreKind::Checkpoint => Some((StoreKind::Checkpoint, FileKind::Other)),
        StoreKind::Ledger => {
            return Err(refuse(
                &rel,
                "a ledger file with conflict markers",
                "ledger files have one writer and are never merged: restore the longer side with `git checkout --ours` or `--theirs`, then check it with `forge ledger verify`",
            ));
        }
        StoreKind::Config => {
            return Err(refuse(
                &rel,
                "the config is written by people and keeps their comments",
                "edit it by hand, keeping the right side of each conflict",
            ));
        }
        StoreKind::Other => None,
    };
    let Some((stored, kind)) = kind else {
        return Err(refuse(
            &rel,
            "only bead, assumption and checkpoint files can be merged field by field",
            "edit the file by hand, keeping the right side of each conflict",
        ));
    };
    if find_conflict_marker(&text).is_none() {
        return Err(refuse(
            &rel,
            "no conflict markers: nothing to resolve",
            &format!("if git still lists it as unmerged, mark it resolved with `git add {rel}`"),
        ));
    }
    let (base, ours, theirs, source) = sides(git, &rel, &text)?;
    let outcome = merge_toml(
        kind,
        base.as_deref(),
        &ours,
        &theirs,
        ConflictStyle::Prefer(prefer),
    )
    .map_err(|e| {
        refuse(
            &rel,
            &format!("{} side does not parse: {}", e.side.as_str(), e.message),
            "edit the file by hand, keeping the right side of each conflict",
        )
    })?;
    validate(stored, abs, &outcome.text)?;
    Ok(Resolution {
        path: rel,
        source,
        decisions: outcome.decisions,
        text: outcome.text,
        abs: abs.to_owned(),
    })
}
