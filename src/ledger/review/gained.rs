//! What a range of commits added to the ledger files: each file's new events, read from
//! history, and what looked wrong while reading them.

use git2::Repository;

use crate::error::Result;
use crate::ledger::history::{self, Range};
use crate::ledger::line::{Event, decode};

/// Events a range added to one ledger file.
#[derive(Debug, Clone)]
pub struct GainedFile {
    pub path: String,
    pub events: Vec<Event>,
}

/// Everything a range added to the ledger, and what looked wrong while reading it.
#[derive(Debug, Clone, Default)]
pub struct Gained {
    pub commits: usize,
    pub files: Vec<GainedFile>,
    pub warnings: Vec<String>,
}

/// Reads the lines each ledger file gained between the range's base and head. A file that
/// did not only grow is read whole and named in a warning (`forge ledger verify --range`
/// says exactly what happened); lines that do not verify are skipped and counted.
pub fn gained(repo: &Repository, range: &Range) -> Result<Gained> {
    let commits = history::commits(repo, range)?.len();
    let base = range
        .base_oid()
        .map(|b| history::ledger_tree(repo, b))
        .transpose()?
        .flatten();
    let head = history::ledger_tree(repo, range.head_oid())?;
    let mut out = Gained {
        commits,
        ..Gained::default()
    };
    for change in history::changes(repo, base.as_ref(), head.as_ref())? {
        let Some(new) = change.new else {
            out.warnings.push(format!(
                "{} was deleted in this range; run `forge ledger verify --range`",
                change.path
            ));
            continue;
        };
        let bytes = history::blob(repo, new)?;
        let old = change.old.map(|o| history::blob(repo, o)).transpose()?;
        let start = match &old {
            Some(old) if bytes.starts_with(old) => {
                // Resume after the base's last complete line: a torn line the base had
                // committed is whole now, and counts as gained.
                old.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
            }
            Some(_) => {
                out.warnings.push(format!(
                    "{} was rewritten in this range, not only appended to; run `forge ledger verify --range`",
                    change.path
                ));
                0
            }
            None => 0,
        };
        let (lines, _torn) = history::split_lines(&bytes[start..]);
        let mut events = Vec::with_capacity(lines.len());
        let mut bad = 0;
        for line in lines {
            match decode(&String::from_utf8_lossy(line)) {
                Ok(e) => events.push(e),
                Err(_) => bad += 1,
            }
        }
        if bad > 0 {
            out.warnings.push(format!(
                "{bad} line(s) of {} do not verify and are left out; run `forge ledger verify --range`",
                change.path
            ));
        }
        out.files.push(GainedFile {
            path: change.path,
            events,
        });
    }
    Ok(out)
}
