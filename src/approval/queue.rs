//! The merge queue (`[policy] merge = "queue"`): approved steps reach their base one at a
//! time, and the base only ever holds merges whose gates passed (the "not rocket science"
//! rule).
//!
//! An approval enqueues the step (its checkpoint becomes `approved`). A queue run, under
//! the approval lock (so two processes never merge anything twice), takes the entries in
//! order; for each it merges the approved head onto the base's current tip in memory
//! (`git merge-tree`, `commit-tree`), runs the gates on that merged commit in a fresh
//! sandboxed worktree ([`crate::step::rederive`]), and only then advances the base: by
//! compare-and-swap from the tip it merged onto, or, when the base is checked out, by the
//! same merge in the user's checkout (see [`super::merge::merge_tested`]). A tip that moved
//! meanwhile retries the entry on the new tip. A conflict or a failing gate sends the step
//! back to its agent: it fails with the conflict or the failure as its reason, and `forge
//! revise STEP` runs the agent on the new base with it in the prompt; the approval of the
//! old head does not carry over.
//!
//! The queue file (`merge-queue.json` under the runtime dir) only says the order; the truth
//! is each step's checkpoint. It is replaced atomically under its own lock. A killed run
//! leaves the merge and its bookkeeping or neither: a merge that reached the base is
//! finished by [`super::reconcile`] at the start of the next run, an entry whose step is no
//! longer `approved` is dropped, and an `approved` step missing from the file is added back.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Approved, How, merge, reconcile, short};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::ledger::Payload;
use crate::ledger::event::{self, StepAt};
use crate::step::checkpoint::{self, Checkpoint, State, load_step, transition};
use crate::store::{Layout, StoreLock, atomic_write};
use crate::workspace::Workspace;

/// What the reason of a step the queue sent back begins with; `forge revise` then needs no
/// feedback of its own (the reason is the feedback).
pub const SENT_BACK: &str = "sent back by the merge queue:";

/// How many times one entry is retried on a base tip that moved under it, in one run.
const RETRIES: usize = 5;

/// Lines of a failing gate's output put in the reason (and so in the agent's prompt).
const TAIL_LINES: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub step: String,
    pub bead: String,
    /// The approved head; an approval covers this commit only.
    pub head: String,
    pub enqueued: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct QueueFile {
    #[serde(default)]
    entries: Vec<Entry>,
}

/// What a queue run did with one entry.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Its merged result passed the gates and the base advanced to it.
    Merged(Approved),
    /// It conflicted with the base tip, or its merged result failed a gate.
    SentBack {
        step: String,
        reason: String,
        conflicts: Vec<String>,
    },
    /// Its step is no longer an approved head (merged, reverted to waiting, another head).
    Dropped { step: String, why: String },
    /// It could not be merged now (the user's checkout has conflicting changes, ...); it
    /// stays first in the queue and the run stops.
    Blocked { step: String, error: String },
}

fn path(layout: &Layout) -> PathBuf {
    layout.runtime.join("merge-queue.json")
}

fn lock_path(layout: &Layout) -> PathBuf {
    layout.runtime.join("merge-queue.lock")
}

fn load_file(layout: &Layout) -> Result<QueueFile> {
    let p = path(layout);
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
            path: p.clone(),
            message: format!("not a valid merge queue: {e}"),
            hint: format!(
                "inspect it, or delete {}: approved steps are added back from their checkpoints",
                p.display()
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(QueueFile::default()),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// Applies `change` to the queue as it is on disk now, under the queue's lock, and writes
/// it back atomically; returns what `change` returned.
fn update<T>(layout: &Layout, change: impl FnOnce(&mut QueueFile) -> T) -> Result<T> {
    std::fs::create_dir_all(&layout.runtime).map_err(|e| Error::io(&layout.runtime, e))?;
    let _lock = StoreLock::acquire(&lock_path(layout))?;
    let mut q = load_file(layout)?;
    let before = q.clone();
    let out = change(&mut q);
    if q != before {
        let text = serde_json::to_vec_pretty(&q).expect("the queue serialises");
        atomic_write(&path(layout), &text)?;
    }
    Ok(out)
}

/// The queue, in order.
pub fn entries(layout: &Layout) -> Result<Vec<Entry>> {
    Ok(load_file(layout)?.entries)
}

/// Puts the approved `cp` at the end of the queue and marks it approved. The caller holds
/// the approval lock and has recorded the approval (`step.approved`).
pub fn enqueue(ws: &mut Workspace, cp: &mut Checkpoint) -> Result<usize> {
    let entry = Entry {
        step: cp.step.clone(),
        bead: cp.bead.clone(),
        head: cp.head.clone(),
        enqueued: ws.clock.now(),
    };
    // The file first: a kill before the checkpoint says `approved` leaves an entry the next
    // run drops (the step still waits for approval).
    let position = update(&ws.layout, |q| {
        q.entries.retain(|e| e.step != entry.step);
        q.entries.push(entry);
        q.entries.len()
    })?;
    let head = cp.head.clone();
    transition(
        ws,
        cp,
        State::Approved,
        |at| Payload::QueueEnqueued { at, head, position },
        &mut (),
    )?;
    Ok(position)
}

/// Runs the queue under the approval lock (waiting for it).
pub fn run(ws: &mut Workspace) -> Result<Vec<Outcome>> {
    std::fs::create_dir_all(&ws.layout.runtime).map_err(|e| Error::io(&ws.layout.runtime, e))?;
    let _lock = StoreLock::acquire(&ws.layout.approval_lock())?;
    run_locked(ws)
}

/// Runs the queue until it is empty or its first entry cannot be merged now. The caller
/// holds the approval lock.
pub fn run_locked(ws: &mut Workspace) -> Result<Vec<Outcome>> {
    adopt_orphans(ws)?;
    let mut out = Vec::new();
    while let Some(entry) = entries(&ws.layout)?.into_iter().next() {
        let outcome = match load_step(&ws.layout, &entry.step) {
            Ok(mut cp) => {
                // A merge a killed run made is finished, not made again.
                reconcile::reconcile(ws, &mut cp)?;
                if cp.state != State::Approved || cp.head != entry.head {
                    Outcome::Dropped {
                        step: entry.step.clone(),
                        why: format!("it is {} at {}", cp.state, short(&cp.head)),
                    }
                } else {
                    process(ws, cp)?
                }
            }
            Err(e) => Outcome::Dropped {
                step: entry.step.clone(),
                why: e.to_string(),
            },
        };
        if matches!(outcome, Outcome::Blocked { .. }) {
            out.push(outcome);
            break;
        }
        update(&ws.layout, |q| q.entries.retain(|e| e.step != entry.step))?;
        out.push(outcome);
    }
    Ok(out)
}

/// Approved steps missing from the queue file (a kill between the two writes, a deleted
/// file) are added back at its end, oldest first.
fn adopt_orphans(ws: &mut Workspace) -> Result<()> {
    let mut approved: Vec<Checkpoint> = checkpoint::load_all(&ws.layout)?
        .into_iter()
        .filter(|c| c.state == State::Approved && !c.head.is_empty())
        .collect();
    if approved.is_empty() {
        return Ok(());
    }
    approved.sort_by(|a, b| a.updated.cmp(&b.updated).then_with(|| a.step.cmp(&b.step)));
    let now = ws.clock.now();
    update(&ws.layout, |q| {
        for cp in approved {
            if !q.entries.iter().any(|e| e.step == cp.step) {
                q.entries.push(Entry {
                    step: cp.step.clone(),
                    bead: cp.bead.clone(),
                    head: cp.head.clone(),
                    enqueued: now.clone(),
                });
            }
        }
    })
}

/// Merges one approved step onto the base tip, tests the result and advances the base, or
/// sends the step back.
fn process(ws: &mut Workspace, cp: Checkpoint) -> Result<Outcome> {
    let main = Git::new(&ws.layout.root);
    let how = cp.approved_how.unwrap_or(How::Flag);
    let msg = merge::message(ws, &cp, &cp.approved_by, how);
    for _ in 0..RETRIES {
        let tip = main.rev_parse(&cp.base_ref)?;
        let merged = main.merge_tree(&tip, &cp.head, None)?;
        if !merged.conflicts.is_empty() {
            let reason = format!(
                "{SENT_BACK} merging {} onto {} ({}) conflicts in: {}",
                short(&cp.head),
                crate::step::overlap::base_name(&cp.base_ref),
                short(&tip),
                merged.conflicts.join(", ")
            );
            return send_back(ws, cp, &tip, reason, merged.conflicts);
        }
        let commit = main.commit_tree(&merged.tree, &[&tip, &cp.head], &msg)?;
        let mut probe = cp.clone();
        probe.head = commit.clone();
        let (gates, _risk) = crate::step::rederive(ws, &probe, &tip)?;
        let failed: Vec<&checkpoint::GateResult> = gates.iter().filter(|g| !g.ok).collect();
        ws.record(Payload::QueueTested {
            at: StepAt::new(&cp.step, &cp.bead),
            head: cp.head.clone(),
            base: tip.clone(),
            merge_commit: commit.clone(),
            gates: event::json(&gates),
            ok: failed.is_empty(),
        })?;
        if !failed.is_empty() {
            let what: Vec<String> = failed
                .iter()
                .map(|g| format!("gate {} failed:\n{}", g.name, tail(&g.detail)))
                .collect();
            let reason = format!(
                "{SENT_BACK} the merge of {} onto {} ({}) fails its gates, although the head \
                 alone passed them; make the work correct on the new base.\n{}",
                short(&cp.head),
                crate::step::overlap::base_name(&cp.base_ref),
                short(&tip),
                what.join("\n")
            );
            return send_back(ws, cp, &tip, reason, Vec::new());
        }
        match merge::merge_tested(ws, &cp, &tip, &commit) {
            Ok(Some(m)) => return Ok(Outcome::Merged(super::record_merged(ws, cp, m)?)),
            // The base moved after the merge was made: again, on the new tip.
            Ok(None) => continue,
            Err(e) => {
                ws.record(Payload::StepMergeRefused {
                    at: StepAt::new(&cp.step, &cp.bead),
                    head: cp.head.clone(),
                    reason: e.to_string(),
                })?;
                return Ok(Outcome::Blocked {
                    step: cp.step.clone(),
                    error: e.to_string(),
                });
            }
        }
    }
    Ok(Outcome::Blocked {
        step: cp.step.clone(),
        error: format!("{} kept moving while the queue merged onto it", cp.base_ref),
    })
}

fn tail(detail: &str) -> String {
    let lines: Vec<&str> = detail.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// Records why the step goes back, and fails it with that reason: the approval is spent,
/// `forge revise STEP` replays it on the new base with the reason as feedback.
fn send_back(
    ws: &mut Workspace,
    mut cp: Checkpoint,
    tip: &str,
    reason: String,
    conflicts: Vec<String>,
) -> Result<Outcome> {
    ws.record(Payload::QueueSentBack {
        at: StepAt::new(&cp.step, &cp.bead),
        head: cp.head.clone(),
        base: tip.to_owned(),
        reason: reason.clone(),
        conflicts: conflicts.clone(),
    })?;
    cp.approved_by.clear();
    cp.approved_how = None;
    checkpoint::fail(ws, &mut cp, reason.clone(), &mut ())?;
    Ok(Outcome::SentBack {
        step: cp.step,
        reason,
        conflicts,
    })
}

/// Moves `step` to place `to` (1-based; past the end is the end).
pub fn move_to(ws: &mut Workspace, step: &str, to: usize) -> Result<Vec<Entry>> {
    if to == 0 {
        return Err(Error::usage("places in the queue start at 1"));
    }
    let moved = update(&ws.layout, |q| {
        let from = q.entries.iter().position(|e| e.step == step)?;
        let entry = q.entries.remove(from);
        let to = to.min(q.entries.len() + 1);
        q.entries.insert(to - 1, entry.clone());
        Some((entry, from + 1, to))
    })?;
    let Some((entry, from, to)) = moved else {
        return Err(not_queued(step));
    };
    ws.record(Payload::QueueMoved {
        at: StepAt::new(&entry.step, &entry.bead),
        from,
        to,
        by: ws.actor.clone(),
    })?;
    entries(&ws.layout)
}

/// Takes `step` out of the queue: it waits for approval again. Under the approval lock, so
/// never while a run merges it.
pub fn remove(ws: &mut Workspace, step: &str) -> Result<Vec<Entry>> {
    std::fs::create_dir_all(&ws.layout.runtime).map_err(|e| Error::io(&ws.layout.runtime, e))?;
    let _lock = StoreLock::acquire(&ws.layout.approval_lock())?;
    let removed = update(&ws.layout, |q| {
        let at = q.entries.iter().position(|e| e.step == step)?;
        Some(q.entries.remove(at))
    })?;
    let Some(entry) = removed else {
        return Err(not_queued(step));
    };
    let mut cp = load_step(&ws.layout, &entry.step)?;
    let by = ws.actor.clone();
    if cp.state == State::Approved {
        cp.approved_by.clear();
        cp.approved_how = None;
        let head = cp.head.clone();
        transition(
            ws,
            &mut cp,
            State::AwaitingApproval,
            |at| Payload::QueueRemoved { at, head, by },
            &mut (),
        )?;
    } else {
        ws.record(Payload::QueueRemoved {
            at: StepAt::new(&entry.step, &entry.bead),
            head: entry.head.clone(),
            by,
        })?;
    }
    entries(&ws.layout)
}

fn not_queued(step: &str) -> Error {
    Error::Refused {
        message: format!("{step} is not in the merge queue"),
        hint: "see `forge queue`".into(),
    }
}
