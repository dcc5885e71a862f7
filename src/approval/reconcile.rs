//! Finishing what a killed approval left half-done. An approval changes two things, the
//! base branch and forge's bookkeeping (ledger, checkpoint, bead); a `kill -9` can land
//! between them. Run under the approval lock on entry to `approve`, by `tick` and by
//! `doctor --fix`, this finds steps whose approved head already reached their base and
//! completes the rest exactly once: one `step.merged`, the checkpoint merged, the bead
//! closed.

use crate::ledger::Payload;
use crate::ledger::event::StepAt;
use serde::Serialize;

use super::short;
use crate::bead::repo::BeadRepo;
use crate::bead::{Status, ops};
use crate::error::Result;
use crate::git::cli::Git;
use crate::ledger::line::decode;
use crate::ledger::{ledger_files, read_file};
use crate::step::checkpoint::{self, Checkpoint, State};
use crate::workspace::Workspace;

#[derive(Debug, Clone, Serialize)]
pub struct Reconciled {
    pub step: String,
    pub bead: String,
    pub merge_commit: String,
    /// What was finished: "merge recorded", "checkpoint", "bead closed".
    pub finished: Vec<&'static str>,
}

/// Every ledger event about `step` or its `bead`, in ledger order (files by name, lines in
/// order).
pub fn events_about(ws: &Workspace, step: &str, bead: &str) -> Result<Vec<Payload>> {
    let mut out = Vec::new();
    for path in ledger_files(&ws.layout.ledger()) {
        let file = read_file(&path)?;
        for line in &file.lines {
            if !line.contains(step) && !line.contains(bead) {
                continue;
            }
            let Ok(e) = decode(line) else { continue };
            let payload = e.payload();
            let bead_event = matches!(
                payload,
                Payload::BeadCreated { .. }
                    | Payload::BeadUpdated { .. }
                    | Payload::BeadClosed { .. }
                    | Payload::BeadReopened { .. }
                    | Payload::BeadDeferred { .. }
                    | Payload::BeadLinked { .. }
                    | Payload::BeadWaiting { .. }
            );
            if payload.step() == Some(step) || (bead_event && payload.bead() == Some(bead)) {
                out.push(payload);
            }
        }
    }
    Ok(out)
}

/// The merge commit on `base`'s first-parent line whose second parent is `head`, if any
/// among the most recent `LOOK_BACK` merges.
fn find_merge(git: &Git, base_tip: &str, head: &str) -> Result<Option<String>> {
    const LOOK_BACK: &str = "5000";
    let out = git.run(&[
        "rev-list",
        "--first-parent",
        "--merges",
        "--parents",
        "-n",
        LOOK_BACK,
        base_tip,
    ])?;
    Ok(out.lines().find_map(|l| {
        let mut ids = l.split_whitespace();
        let merge = ids.next()?;
        let _first = ids.next()?;
        (ids.next()? == head).then(|| merge.to_owned())
    }))
}

/// Reconciles every step that may be half-approved. The caller holds the approval lock.
pub fn reconcile_all(ws: &mut Workspace) -> Result<Vec<Reconciled>> {
    let mut out = Vec::new();
    for mut cp in checkpoint::load_all(&ws.layout)? {
        if let Some(r) = reconcile(ws, &mut cp)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Finishes `cp`'s approval if its approved head reached the base. The caller holds the
/// approval lock.
pub fn reconcile(ws: &mut Workspace, cp: &mut Checkpoint) -> Result<Option<Reconciled>> {
    let pending = matches!(cp.state, State::AwaitingApproval | State::Approved);
    if !(pending || cp.state == State::Merged) || cp.head.is_empty() {
        return Ok(None);
    }
    // Cheap checks first: most steps need nothing, and the ledger scan is not free.
    let git = Git::new(&ws.layout.root);
    let base_tip = if pending {
        let Ok(tip) = git.rev_parse(&cp.base_ref) else {
            return Ok(None);
        };
        if !git.is_ancestor(&cp.head, &tip)? {
            return Ok(None);
        }
        tip
    } else {
        let bead = BeadRepo::new(&ws.layout).load(&cp.bead)?;
        if bead.status == Status::Closed {
            return Ok(None);
        }
        String::new()
    };
    let events = events_about(ws, &cp.step, &cp.bead)?;
    let approved = events.iter().rev().find_map(|e| match e {
        Payload::StepApproved {
            head,
            approved_by,
            how,
            ..
        } if *head == cp.head => Some((approved_by.clone(), *how)),
        _ => None,
    });
    let Some((by, how)) = approved else {
        return Ok(None);
    };
    let merged_at = events
        .iter()
        .position(|e| matches!(e, Payload::StepMerged { head, .. } if *head == cp.head));
    let mut finished = Vec::new();
    let mut merge_commit = cp.merge_commit.clone();
    if pending {
        merge_commit = match merged_at.map(|i| &events[i]) {
            Some(Payload::StepMerged { merge_commit, .. }) => merge_commit.clone(),
            Some(_) => unreachable!("merged_at is a step.merged"),
            None => find_merge(&git, &base_tip, &cp.head)?.unwrap_or_else(|| cp.head.clone()),
        };
        if merged_at.is_none() {
            ws.record(Payload::StepMerged {
                at: StepAt {
                    state: Some(State::Merged),
                    ..StepAt::new(&cp.step, &cp.bead)
                },
                head: cp.head.clone(),
                merge_commit: merge_commit.clone(),
                base_ref: cp.base_ref.clone(),
                reconciled: Some(true),
            })?;
            finished.push("merge recorded");
        }
        cp.state = State::Merged;
        cp.approved_by = by;
        cp.approved_how = how;
        cp.merge_commit = merge_commit.clone();
        cp.finished = ws.clock.now();
        cp.updated = cp.finished.clone();
        {
            let _lock = ws.lock()?;
            cp.save(&ws.layout, &ws.redactor)?;
        }
        finished.push("checkpoint");
    }
    // The bead is closed after the merge, unless a person reopened or deferred it since.
    // (A `bead.closed` event is no proof: it is recorded before the bead file is written,
    // and a kill can fall between the two.)
    let changed_since = merged_at.is_some_and(|i| {
        events[i..].iter().any(|e| {
            matches!(
                e,
                Payload::BeadReopened { .. } | Payload::BeadDeferred { .. }
            )
        })
    });
    let bead = BeadRepo::new(&ws.layout).load(&cp.bead)?;
    if !changed_since && bead.status != Status::Closed {
        ops::set_status(
            ws,
            &cp.bead,
            Status::Closed,
            &format!("merged in {} ({})", short(&merge_commit), cp.step),
        )?;
        finished.push("bead closed");
    }
    if finished.is_empty() {
        return Ok(None);
    }
    Ok(Some(Reconciled {
        step: cp.step.clone(),
        bead: cp.bead.clone(),
        merge_commit,
        finished,
    }))
}
