//! `forge import beads`: the issues of a beads (`bd`) or beads_rust (`br`) `issues.jsonl`
//! export become beads, all at once or not at all.
//!
//! Everything is checked before anything is written: each line on its own ([`parse`]), then
//! the issues against each other and against the beads already here ([`resolve`]). The new
//! beads are then recorded in the ledger as `forge bead create` records them and written in
//! one batch through [`crate::store::journal`], under the store lock. An issue imported
//! before carries the label `beads:<id>` and is left alone, so importing a file again
//! changes nothing.

pub mod map;
pub mod parse;
pub mod resolve;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use self::map::{Fate, ID_LABEL};
use self::parse::{Issue, Problem};
use self::resolve::{Batch, Plan};
use crate::bead::ops;
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::bead::{Bead, BeadSummary, Dep, Kind, Risk, Status, id};
use crate::error::{Error, Result};
use crate::ledger::Payload;
use crate::store::{SCHEMA_VERSION, journal};
use crate::workspace::Workspace;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Import the valid issues and list the invalid ones, instead of importing nothing.
    pub skip_invalid: bool,
    /// Check and report, write nothing.
    pub dry_run: bool,
}

/// What an import did (or, refused or dry, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    pub dry_run: bool,
    /// Beads were written (false for a dry run, a refusal, or nothing new).
    pub written: bool,
    /// Some lines are invalid and `--skip-invalid` was not given: nothing was imported.
    pub refused: bool,
    /// beads id -> bead id, for every issue of the file that is in forge now.
    pub mapping: BTreeMap<String, String>,
    pub created: Vec<Imported>,
    /// Imported before (found by their `beads:<id>` label): left alone.
    pub existing: Vec<Imported>,
    /// Deleted in beads (`tombstone`): not imported.
    pub deleted: Vec<Skipped>,
    /// Lines not imported, and why.
    pub invalid: Vec<Problem>,
    /// Dependencies dropped because their target was deleted in beads.
    pub notes: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub line: usize,
    pub beads: String,
    pub bead: String,
    pub title: String,
    pub kind: Kind,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub line: usize,
    pub beads: String,
    pub title: String,
}

impl Report {
    /// The error to fail with when the import was refused.
    pub fn refusal(&self) -> Option<Error> {
        if !self.refused {
            return None;
        }
        let lines: Vec<String> = self
            .invalid
            .iter()
            .map(|p| format!("{}:{}: {}", self.file, p.line, p.message))
            .collect();
        Some(Error::InvalidFile {
            path: self.file.clone().into(),
            message: format!(
                "{} invalid line(s); nothing was imported:\n  {}",
                lines.len(),
                lines.join("\n  ")
            ),
            hint: "fix those lines, or pass --skip-invalid to import the other issues (an \
                   issue that depends on a skipped one is skipped too)"
                .into(),
        })
    }
}

/// Imports the export `bytes`, read from `file` (named in messages and the ledger as given).
pub fn import(ws: &mut Workspace, file: &Path, bytes: &[u8], opts: Options) -> Result<Report> {
    let (issues, mut unreadable): (Vec<Issue>, Vec<Problem>) = parse::parse(bytes)
        .into_iter()
        .fold((Vec::new(), Vec::new()), |(mut ok, mut bad), line| {
            match line {
                Ok(issue) => ok.push(issue),
                Err(problem) => bad.push(problem),
            }
            (ok, bad)
        });
    let _lock = ws.lock()?;
    let repo = BeadRepo::new(&ws.layout);
    let mut buf = IndexBuf::default();
    let index = repo.index(&mut buf)?;
    let imported: HashMap<&str, &str> = index
        .iter()
        .flat_map(|b| {
            b.labels
                .iter()
                .filter_map(|l| l.strip_prefix(ID_LABEL))
                .map(move |orig| (orig, b.id))
        })
        .collect();
    let mut batch = Batch::new(&issues, &imported, &unreadable);

    // Ids for the new beads, then the beads, then the cycles they would make.
    let now = ws.clock.now();
    let mut taken = HashSet::new();
    let mut ids: HashMap<usize, String> = HashMap::new();
    for (i, plan) in batch.plans.iter().enumerate() {
        if *plan == Plan::New {
            let fresh = crate::plan::apply::fresh_id(
                &ws.randomness,
                &mut taken,
                |c| repo.exists(c),
                id::PREFIX,
            );
            ids.insert(i, fresh);
        }
    }
    let bead_of = |batch: &Batch, orig: &str| -> Option<String> {
        match batch.index_of(orig) {
            Some(j) => match &batch.plans[j] {
                Plan::New => ids.get(&j).cloned(),
                Plan::Existing(bead) => Some(bead.clone()),
                _ => None,
            },
            None => imported.get(orig).map(|b| (*b).to_owned()),
        }
    };
    let build = |batch: &Batch| -> Vec<(usize, Bead)> {
        (0..issues.len())
            .filter(|i| batch.plans[*i] == Plan::New)
            .map(|i| {
                let deps = issues[i]
                    .deps
                    .iter()
                    .filter_map(|d| dep(d, bead_of(batch, &d.target)?))
                    .collect();
                (i, bead(&issues[i], ids[&i].clone(), deps, &ws.actor, &now))
            })
            .collect()
    };
    let beads = build(&batch);
    let mut names: HashMap<&str, &str> = imported.iter().map(|(o, b)| (*b, *o)).collect();
    names.extend(
        ids.iter()
            .map(|(i, b)| (b.as_str(), issues[*i].id.as_str())),
    );
    let new: HashMap<&str, usize> = beads.iter().map(|(i, b)| (b.id.as_str(), *i)).collect();
    let mut all = index.clone();
    all.extend(beads.iter().map(|(_, b)| b.summary()));
    batch.refuse_cycles(&all, &new, &names);
    drop(all);
    // Without the issues the cycles made invalid (and those that depend on them).
    let beads = build(&batch);

    unreadable.extend(batch.problems());
    unreadable.sort_by_key(|p| p.line);
    let refused = !unreadable.is_empty() && !opts.skip_invalid;
    let mut report = Report {
        file: file.display().to_string(),
        dry_run: opts.dry_run,
        written: false,
        refused,
        mapping: BTreeMap::new(),
        created: Vec::new(),
        existing: Vec::new(),
        deleted: Vec::new(),
        invalid: unreadable,
        notes: batch.notes.clone(),
    };
    let summaries: HashMap<&str, &BeadSummary> = index.iter().map(|b| (b.id, b)).collect();
    for (issue, plan) in issues.iter().zip(&batch.plans) {
        match plan {
            Plan::Existing(bead) => {
                // As the bead is now, which may differ from the issue since.
                let b = summaries[bead.as_str()];
                report.existing.push(Imported {
                    line: issue.line,
                    beads: issue.id.clone(),
                    bead: bead.clone(),
                    title: b.title.to_owned(),
                    kind: b.kind,
                    status: b.status,
                });
            }
            Plan::Deleted => report.deleted.push(Skipped {
                line: issue.line,
                beads: issue.id.clone(),
                title: issue.title.clone(),
            }),
            Plan::New | Plan::Invalid(_) => {}
        }
    }
    if refused {
        return Ok(report);
    }
    report.created = beads
        .iter()
        .map(|(i, b)| Imported {
            line: issues[*i].line,
            beads: issues[*i].id.clone(),
            bead: b.id.clone(),
            title: b.title.clone(),
            kind: b.kind,
            status: b.status,
        })
        .collect();
    report.mapping = report
        .created
        .iter()
        .chain(&report.existing)
        .map(|e| (e.beads.clone(), e.bead.clone()))
        .collect();
    if opts.dry_run || beads.is_empty() {
        return Ok(report);
    }
    record(ws, &report, &beads, &issues)?;
    let files: Vec<(std::path::PathBuf, Vec<u8>)> = beads
        .iter()
        .map(|(_, b)| {
            (
                ws.layout.bead(&b.id),
                BeadRepo::text(b, &ws.redactor).into_bytes(),
            )
        })
        .collect();
    journal::write_all(&ws.layout, &files)?;
    report.written = true;
    Ok(report)
}

/// A forge dependency on `target` for a beads one; `None` for a type the checks refused.
fn dep(d: &parse::IssueDep, target: String) -> Option<Dep> {
    let (kind, lossy) = map::dep_kind(&d.kind)?;
    let mut extra = toml::Table::new();
    if lossy {
        // The beads type survives in the bead file, beside the forge type it became.
        extra.insert("beads_type".into(), toml::Value::String(d.kind.clone()));
    }
    Some(Dep {
        id: target,
        kind,
        extra,
    })
}

/// The bead for a checked issue: kind, status and body mapped (see [`map`]); value and risk
/// are forge's defaults, since beads has neither.
fn bead(issue: &Issue, id: String, deps: Vec<Dep>, actor: &str, now: &str) -> Bead {
    let (kind, type_label) = map::kind(&issue.issue_type);
    let status = match map::fate(&issue.status) {
        Ok(Fate::Bead(status)) => status,
        _ => unreachable!("only issues with a bead status are built"),
    };
    let reason = match status {
        Status::Open => String::new(),
        Status::Closed if !issue.close_reason.trim().is_empty() => {
            issue.close_reason.trim().to_owned()
        }
        _ => format!("{} in beads", issue.status),
    };
    Bead {
        schema: i64::from(SCHEMA_VERSION),
        id,
        title: issue.title.clone(),
        kind,
        status,
        reason,
        priority: issue.priority,
        value: 50,
        risk: Risk::Low,
        labels: map::labels(issue, type_label),
        author: actor.to_owned(),
        // The ready queue orders by age: the issue's own creation keeps its place.
        created: issue.created_at.clone().unwrap_or_else(|| now.to_owned()),
        updated: now.to_owned(),
        closed: (status == Status::Closed)
            .then(|| issue.closed_at.clone().unwrap_or_else(|| now.to_owned())),
        description: map::body(issue),
        acceptance: map::acceptance(&issue.acceptance_criteria),
        deps,
        extra: toml::Table::new(),
    }
}

/// The ledger events: the import, then each bead as `forge bead create` records it (and,
/// for a closed or deferred one, as `forge bead close`/`defer` records that).
fn record(
    ws: &mut Workspace,
    report: &Report,
    beads: &[(usize, Bead)],
    issues: &[Issue],
) -> Result<()> {
    let skipped: Vec<usize> = report.invalid.iter().map(|p| p.line).collect();
    ws.record(Payload::BeadsImported {
        file: report.file.clone(),
        created: report.created.len(),
        existing: report.existing.len(),
        deleted: report.deleted.len(),
        skipped_lines: skipped,
        mapping: report
            .created
            .iter()
            .map(|c| (c.beads.clone(), c.bead.clone()))
            .collect(),
    })?;
    for (i, b) in beads {
        ws.record(ops::created_event(b, None, Some(&issues[*i].id)))?;
        if b.status != Status::Open {
            ws.record(ops::status_event(&b.id, b.status, Status::Open, &b.reason))?;
        }
    }
    Ok(())
}
