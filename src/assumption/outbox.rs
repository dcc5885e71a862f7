//! Assumptions raised by a harness from inside its step. The sandbox keeps the harness away
//! from the user's checkout, so `forge assume` run by it appends to the step's outbox (a
//! file in its scratch directory, `FORGE_OUTBOX`), and forge imports the entries into the
//! registry when the harness is done, attributed to the step.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Assumption;
use super::ops::{NewAssumption, raise};
use crate::bead::Risk;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// More than this is not read: a harness cannot make forge load an unbounded file.
const MAX_BYTES: u64 = 1 << 20;
const MAX_ENTRIES: usize = 100;

/// One `forge assume` from inside a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Posted {
    pub text: String,
    #[serde(default)]
    pub bead: Option<String>,
    #[serde(default)]
    pub risk: Option<Risk>,
    #[serde(default)]
    pub mitigation: Option<String>,
    #[serde(default)]
    pub mitigate: bool,
}

pub fn file(outbox: &Path) -> PathBuf {
    outbox.join("assumptions.jsonl")
}

/// Appends one entry (called by `forge assume` inside a step).
pub fn post(outbox: &Path, entry: &Posted) -> Result<()> {
    if entry.text.trim().is_empty() {
        return Err(Error::usage("an assumption needs text"));
    }
    let path = file(outbox);
    let mut line = serde_json::to_string(entry).expect("serialises");
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| Error::io(&path, e))
}

/// Imports what the harness posted into the registry, for `step` of `bead`, and empties the
/// outbox. Lines that do not parse are skipped and counted.
pub fn import(
    ws: &mut Workspace,
    outbox: &Path,
    step: &str,
    bead: &str,
) -> Result<(Vec<Assumption>, usize)> {
    let path = file(outbox);
    let Ok(meta) = std::fs::symlink_metadata(&path) else {
        return Ok((Vec::new(), 0));
    };
    let text = if meta.is_file() && meta.len() <= MAX_BYTES {
        std::fs::read_to_string(&path).unwrap_or_default()
    } else {
        String::new()
    };
    let _ = std::fs::remove_file(&path);
    let mut raised = Vec::new();
    let mut skipped = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(p) = serde_json::from_str::<Posted>(line) else {
            skipped += 1;
            continue;
        };
        if raised.len() >= MAX_ENTRIES {
            skipped += 1;
            continue;
        }
        match raise(
            ws,
            NewAssumption {
                text: p.text,
                bead: Some(p.bead.unwrap_or_else(|| bead.to_owned())),
                risk: p.risk,
                mitigation: p.mitigation,
                mitigate: p.mitigate,
                step: Some(step.to_owned()),
            },
        ) {
            Ok(a) => raised.push(a),
            Err(_) => skipped += 1,
        }
    }
    Ok((raised, skipped))
}
