//! Changes to beads. Each operation takes the store lock, checks its input against the
//! files, records one ledger event describing the change, then writes the file atomically.
//! Event first: a crash between the two can leave an event whose change never landed (the
//! event names the change, so a reviewer can tell), but never a change without its event.

use serde::Serialize;

use super::graph::Graph;
use super::repo::{BeadRepo, IndexBuf};
use super::{Bead, Dep, DepKind, Kind, MAX_PRIORITY, MAX_VALUE, Risk, Status};
use crate::error::{Error, Result};
use crate::ledger::Payload;
use crate::ledger::event::{Change, DepRef};
use crate::store::SCHEMA_VERSION;
use crate::workspace::Workspace;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct NewBead {
    pub title: String,
    pub description: String,
    pub acceptance: Vec<String>,
    pub kind: Kind,
    pub priority: u8,
    pub value: u8,
    pub risk: Risk,
    pub labels: Vec<String>,
    /// (target, kind); targets may be prefixes.
    pub deps: Vec<(String, DepKind)>,
}

impl Default for NewBead {
    fn default() -> Self {
        NewBead {
            title: String::new(),
            description: String::new(),
            acceptance: Vec::new(),
            kind: Kind::Task,
            priority: 2,
            value: 50,
            risk: Risk::Low,
            labels: Vec::new(),
            deps: Vec::new(),
        }
    }
}

/// Changes to apply with `forge bead update`; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct BeadChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub acceptance: Option<Vec<String>>,
    pub kind: Option<Kind>,
    pub priority: Option<u8>,
    pub value: Option<u8>,
    pub risk: Option<Risk>,
    pub add_labels: Vec<String>,
    pub remove_labels: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

fn check_ranges(priority: u8, value: u8) -> Result<()> {
    if priority > MAX_PRIORITY {
        return Err(Error::usage(format!(
            "priority {priority} is out of range: use 0 (most urgent) to {MAX_PRIORITY}"
        )));
    }
    if value > MAX_VALUE {
        return Err(Error::usage(format!(
            "value {value} is out of range: use 0 to {MAX_VALUE}"
        )));
    }
    Ok(())
}

fn check_title(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(Error::usage("a bead needs a title"));
    }
    Ok(())
}

/// Adds `dep` to `bead` after checking it exists, is not a second parent and closes no
/// cycle. `graph` must describe the beads as they are on disk.
fn add_dep(graph: &Graph<'_>, bead: &mut Bead, target: &str, kind: DepKind) -> Result<bool> {
    if graph.get(target).is_none() {
        return Err(Error::UnknownId {
            id: target.to_owned(),
            suggestion: None,
        });
    }
    if bead.deps.iter().any(|d| d.id == target && d.kind == kind) {
        return Ok(false);
    }
    if kind == DepKind::Parent
        && let Some(parent) = bead.parent()
    {
        return Err(Error::Refused {
            message: format!("{} already has parent {parent}", bead.id),
            hint: format!("remove it first: forge bead dep rm {} {parent}", bead.id),
        });
    }
    if let Some(cycle) = graph.cycle_with(&bead.id, target, kind) {
        return Err(Error::Cycle { cycle });
    }
    bead.deps.push(Dep {
        id: target.to_owned(),
        kind,
        extra: toml::Table::new(),
    });
    Ok(true)
}

pub fn create(ws: &mut Workspace, new: NewBead) -> Result<Bead> {
    check_title(&new.title)?;
    check_ranges(new.priority, new.value)?;
    let _lock = ws.lock()?;
    let repo = BeadRepo::new(&ws.layout);
    let targets = new
        .deps
        .iter()
        .map(|(t, k)| Ok((repo.resolve(t)?, *k)))
        .collect::<Result<Vec<_>>>()?;
    let now = ws.clock.now();
    let mut bead = Bead {
        schema: i64::from(SCHEMA_VERSION),
        id: repo.new_id(&ws.randomness)?,
        title: new.title.trim().to_owned(),
        kind: new.kind,
        status: Status::Open,
        reason: String::new(),
        priority: new.priority,
        value: new.value,
        risk: new.risk,
        labels: dedup(new.labels),
        author: ws.actor.clone(),
        created: now.clone(),
        updated: now,
        closed: None,
        description: new.description,
        acceptance: new.acceptance,
        deps: Vec::new(),
        extra: toml::Table::new(),
    };
    if !targets.is_empty() {
        // Only a bead with dependencies needs the graph; a plain create stays O(1).
        let mut buf = IndexBuf::default();
        let index = repo.index(&mut buf)?;
        let graph = Graph::new(&index);
        for (target, kind) in targets {
            add_dep(&graph, &mut bead, &target, kind)?;
        }
    }
    ws.record(created_event(&bead, None, None))?;
    repo.write(&bead, &ws.redactor)?;
    Ok(bead)
}

/// The `bead.created` event for `bead`; `plan` is the epic of the plan that created it,
/// `beads` the beads issue it was imported from.
pub fn created_event(bead: &Bead, plan: Option<&str>, beads: Option<&str>) -> Payload {
    Payload::BeadCreated {
        bead: bead.id.clone(),
        title: bead.title.clone(),
        kind: Some(bead.kind),
        priority: Some(bead.priority),
        value: Some(bead.value),
        risk: Some(bead.risk),
        labels: bead.labels.clone(),
        deps: bead
            .deps
            .iter()
            .map(|d| DepRef {
                id: d.id.clone(),
                kind: Some(d.kind),
            })
            .collect(),
        plan: plan.map(str::to_owned),
        beads: beads.map(str::to_owned),
    }
}

/// The event of a bead's status changing from `from` to `status`.
pub fn status_event(bead: &str, status: Status, from: Status, reason: &str) -> Payload {
    let (bead, from, reason) = (bead.to_owned(), Some(from), reason.to_owned());
    match status {
        Status::Closed => Payload::BeadClosed { bead, from, reason },
        Status::Open => Payload::BeadReopened { bead, from, reason },
        Status::Deferred => Payload::BeadDeferred { bead, from, reason },
    }
}

fn dedup(mut labels: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    labels.retain(|l| seen.insert(l.clone()));
    labels
}

fn change<T: Serialize + PartialEq>(
    out: &mut Vec<FieldChange>,
    field: &'static str,
    slot: &mut T,
    new: Option<T>,
) {
    if let Some(new) = new
        && *slot != new
    {
        out.push(FieldChange {
            field,
            old: json!(slot),
            new: json!(new),
        });
        *slot = new;
    }
}

/// Applies `changes`; returns the bead and what changed (nothing is written if nothing did).
pub fn update(
    ws: &mut Workspace,
    id: &str,
    changes: BeadChanges,
) -> Result<(Bead, Vec<FieldChange>)> {
    if let Some(t) = &changes.title {
        check_title(t)?;
    }
    check_ranges(changes.priority.unwrap_or(0), changes.value.unwrap_or(0))?;
    let _lock = ws.lock()?;
    let repo = BeadRepo::new(&ws.layout);
    let id = repo.resolve(id)?;
    let mut bead = repo.load(&id)?;
    let mut out = Vec::new();
    change(
        &mut out,
        "title",
        &mut bead.title,
        changes.title.map(|t| t.trim().to_owned()),
    );
    change(
        &mut out,
        "description",
        &mut bead.description,
        changes.description,
    );
    change(
        &mut out,
        "acceptance",
        &mut bead.acceptance,
        changes.acceptance,
    );
    change(&mut out, "kind", &mut bead.kind, changes.kind);
    change(&mut out, "priority", &mut bead.priority, changes.priority);
    change(&mut out, "value", &mut bead.value, changes.value);
    change(&mut out, "risk", &mut bead.risk, changes.risk);
    let mut labels = bead.labels.clone();
    labels.extend(changes.add_labels);
    labels.retain(|l| !changes.remove_labels.contains(l));
    change(&mut out, "labels", &mut bead.labels, Some(dedup(labels)));
    if out.is_empty() {
        return Ok((bead, out));
    }
    bead.updated = ws.clock.now();
    ws.record(Payload::BeadUpdated {
        bead: bead.id.clone(),
        changes: out
            .iter()
            .map(|c| Change {
                field: c.field.to_owned(),
                old: c.old.clone(),
                new: c.new.clone(),
            })
            .collect(),
    })?;
    repo.write(&bead, &ws.redactor)?;
    Ok((bead, out))
}

/// Closes, reopens or defers a bead, with the reason recorded in the file and the ledger.
/// Closing the last open child of an epic closes the epic too ([`set_status_with_epics`]).
pub fn set_status(
    ws: &mut Workspace,
    id: &str,
    status: Status,
    reason: &str,
) -> Result<(Bead, bool)> {
    let (bead, changed, _) = set_status_with_epics(ws, id, status, reason)?;
    Ok((bead, changed))
}

/// [`set_status`], also returning the epics that closed because `id` was the last of their
/// children still open (innermost first). Every status change goes through here, whichever
/// command makes it (`bead close`, an approval, a commit trailer), so every close of an
/// epic is recorded by the command that closed its last child.
pub fn set_status_with_epics(
    ws: &mut Workspace,
    id: &str,
    status: Status,
    reason: &str,
) -> Result<(Bead, bool, Vec<String>)> {
    let _lock = ws.lock()?;
    let repo = BeadRepo::new(&ws.layout);
    let id = repo.resolve(id)?;
    let mut bead = repo.load(&id)?;
    let changed = !(bead.status == status && bead.reason == reason);
    if changed {
        write_status(ws, &repo, &mut bead, status, reason)?;
    }
    // Also when the bead was closed already: an epic left open by an older forge closes.
    let epics = if bead.status == Status::Closed {
        close_finished_epics(ws, &repo, &bead)?
    } else {
        Vec::new()
    };
    Ok((bead, changed, epics))
}

/// Records the change, then writes the bead. Call under the store lock.
fn write_status(
    ws: &mut Workspace,
    repo: &BeadRepo,
    bead: &mut Bead,
    status: Status,
    reason: &str,
) -> Result<()> {
    let old = bead.status;
    let now = ws.clock.now();
    bead.status = status;
    bead.reason = reason.to_owned();
    bead.closed = (status == Status::Closed).then(|| now.clone());
    bead.updated = now;
    ws.record(status_event(&bead.id, status, old, reason))?;
    repo.write(bead, &ws.redactor)
}

/// Closes the open epic above `child` when every one of its children is closed, and so on up
/// the parent chain: an epic is done when its children are, and is never work for a harness
/// itself. Call under the store lock, after `child` is written. Beads that cannot be read
/// stop the climb without an error: the child's own change has been made, and the epic,
/// which is never ready, waits for the next close.
fn close_finished_epics(ws: &mut Workspace, repo: &BeadRepo, child: &Bead) -> Result<Vec<String>> {
    let mut closed: Vec<String> = Vec::new();
    let mut last = child.id.clone();
    let mut parent = child.parent().map(str::to_owned);
    while let Some(id) = parent.take() {
        // A parent chain edited by hand into a loop must not loop here.
        if id == child.id || closed.contains(&id) {
            break;
        }
        let done = {
            let mut buf = IndexBuf::default();
            let Ok(index) = repo.index(&mut buf) else {
                break;
            };
            let graph = Graph::new(&index);
            graph.get(&id).is_some_and(|epic| {
                epic.kind == Kind::Epic
                    && epic.status == Status::Open
                    && graph
                        .children(&id)
                        .iter()
                        .all(|c| c.status == Status::Closed)
            })
        };
        if !done {
            break;
        }
        let Ok(mut epic) = repo.load(&id) else {
            break;
        };
        let reason = format!("all its children are closed (the last: {last})");
        write_status(ws, repo, &mut epic, Status::Closed, &reason)?;
        parent = epic.parent().map(str::to_owned);
        closed.push(id.clone());
        last = id;
    }
    Ok(closed)
}

pub fn dep_add(ws: &mut Workspace, id: &str, target: &str, kind: DepKind) -> Result<(Bead, bool)> {
    let _lock = ws.lock()?;
    let repo = BeadRepo::new(&ws.layout);
    let id = repo.resolve(id)?;
    let target = repo.resolve(target)?;
    let mut bead = repo.load(&id)?;
    let mut buf = IndexBuf::default();
    let index = repo.index(&mut buf)?;
    let added = add_dep(&Graph::new(&index), &mut bead, &target, kind)?;
    if added {
        bead.updated = ws.clock.now();
        ws.record(Payload::DepAdded {
            bead: bead.id.clone(),
            dep: target.clone(),
            kind: Some(kind),
        })?;
        repo.write(&bead, &ws.redactor)?;
    }
    Ok((bead, added))
}

/// Removes every dependency of `id` on `target` (of `kind`, if given).
pub fn dep_rm(
    ws: &mut Workspace,
    id: &str,
    target: &str,
    kind: Option<DepKind>,
) -> Result<(Bead, bool)> {
    let _lock = ws.lock()?;
    let repo = BeadRepo::new(&ws.layout);
    let id = repo.resolve(id)?;
    let mut bead = repo.load(&id)?;
    // The target may have been deleted already, so match the stored ids before resolving.
    let wanted = super::id::normalise(target);
    let target = if bead.deps.iter().any(|d| d.id == wanted) {
        wanted
    } else {
        repo.resolve(target)?
    };
    let before = bead.deps.len();
    bead.deps
        .retain(|d| !(d.id == target && kind.is_none_or(|k| k == d.kind)));
    let removed = bead.deps.len() != before;
    if removed {
        bead.updated = ws.clock.now();
        ws.record(Payload::DepRemoved {
            bead: bead.id.clone(),
            dep: target.clone(),
            kind,
        })?;
        repo.write(&bead, &ws.redactor)?;
    }
    Ok((bead, removed))
}
