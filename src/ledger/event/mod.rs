//! What a ledger event says: one variant per kind, with typed fields.
//!
//! A line's `kind` and `data` (see [`super::line`]) are the adjacently tagged form of a
//! [`Payload`]: `"kind":"step.claimed","data":{...}`. Writers build a `Payload` and
//! [`Payload::to_parts`] turns it into that kind and data; readers call
//! [`super::line::Event::payload`] and match on the variant.
//!
//! Reading is lenient, because the ledger outlives the code that wrote it:
//! - a field not every version wrote is an `Option` or has a default, so an old line reads;
//! - a kind this version does not know (a newer forge wrote it), or a known kind whose data
//!   does not fit its variant, reads as [`Payload::Unknown`], holding the kind and data as
//!   they were: nothing is rejected and nothing is lost, and the line's hash, checked on
//!   its text, is unaffected.
//!
//! Nested details no reader interprets (a verdict, an egress summary, violations, ...) are
//! kept as JSON values.
//!
//! The data object's keys are written sorted (serde_json's map), exactly as the `json!`
//! literals this replaced wrote them; a field that some writers leave out is skipped when
//! `None`, so every kind's data is byte for byte what it was.
//!
//! Versions: each new line carries `"v":` [`EVENT_VERSION`] in its envelope (see
//! [`super::line`]); lines written before versions existed read as version 0, whose kinds
//! and fields are those of version 1.
//!
//! This file holds the enum; `fields.rs` the typed values its variants hold, `accessors.rs`
//! the kind and data of a line and what any event names (step, bead, head).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::approval::How;
use crate::assumption::AssumptionStatus;
use crate::bead::{DepKind, Kind, Risk, Status};
use crate::harness::presets::acp::policy::Decision;
use crate::step::checkpoint::State;
use crate::tick::Stopped;
use crate::tick::state::Pause;

mod accessors;
mod fields;

pub use fields::{Change, DepRef, RecordedTokens, StepAt, json};

/// The event schema version new lines are written with.
pub const EVENT_VERSION: u32 = 1;

/// Every kind of event forge writes, with its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
pub enum Payload {
    #[serde(rename = "forge.initialised")]
    ForgeInitialised {
        #[serde(default)]
        created: Vec<String>,
    },
    #[serde(rename = "forge.paused")]
    ForgePaused {
        #[serde(default)]
        reason: String,
        #[serde(default)]
        by: String,
    },
    #[serde(rename = "forge.resumed")]
    ForgeResumed {
        #[serde(default)]
        was: Option<Pause>,
        #[serde(default)]
        by: String,
    },
    #[serde(rename = "merge.resolved")]
    MergeResolved {
        #[serde(default)]
        file: String,
        #[serde(default)]
        source: String,
        #[serde(default)]
        decisions: Value,
    },

    #[serde(rename = "bead.created")]
    BeadCreated {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        title: String,
        #[serde(default)]
        kind: Option<Kind>,
        #[serde(default)]
        priority: Option<u8>,
        #[serde(default)]
        value: Option<u8>,
        #[serde(default)]
        risk: Option<Risk>,
        #[serde(default)]
        labels: Vec<String>,
        #[serde(default)]
        deps: Vec<DepRef>,
        /// The plan's epic, when a plan created it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan: Option<String>,
        /// The beads issue it was imported from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        beads: Option<String>,
    },
    #[serde(rename = "bead.updated")]
    BeadUpdated {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        changes: Vec<Change>,
    },
    #[serde(rename = "bead.closed")]
    BeadClosed {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        from: Option<Status>,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "bead.reopened")]
    BeadReopened {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        from: Option<Status>,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "bead.deferred")]
    BeadDeferred {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        from: Option<Status>,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "bead.linked")]
    BeadLinked {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        commit: String,
        #[serde(default)]
        trailer: String,
    },
    /// A rate-limited harness: the bead waits for the reset instead of failing.
    #[serde(rename = "bead.waiting")]
    BeadWaiting {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        step: String,
        #[serde(default)]
        until: String,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "dep.added")]
    DepAdded {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        dep: String,
        #[serde(rename = "type", default)]
        kind: Option<DepKind>,
    },
    #[serde(rename = "dep.removed")]
    DepRemoved {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        dep: String,
        /// `None`: every kind of dependency on `dep`.
        #[serde(rename = "type", default)]
        kind: Option<DepKind>,
    },
    #[serde(rename = "beads.imported")]
    BeadsImported {
        #[serde(default)]
        file: String,
        #[serde(default)]
        created: usize,
        #[serde(default)]
        existing: usize,
        #[serde(default)]
        deleted: usize,
        #[serde(default)]
        skipped_lines: Vec<usize>,
        /// beads issue id → forge bead id.
        #[serde(default)]
        mapping: BTreeMap<String, String>,
    },

    #[serde(rename = "assumption.raised")]
    AssumptionRaised {
        #[serde(default, alias = "id")]
        assumption: String,
        #[serde(default)]
        text: String,
        #[serde(default)]
        risk: Option<Risk>,
        #[serde(default)]
        bead: String,
        /// Raised by hand or from a step (not by a plan).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        /// Raised by a plan: every bead that rests on it, and the plan's epic.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        beads: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan: Option<String>,
    },
    #[serde(rename = "assumption.mitigated")]
    AssumptionMitigated {
        #[serde(default, alias = "id")]
        assumption: String,
        /// The bead that checks it.
        #[serde(default)]
        bead: String,
    },
    #[serde(rename = "assumption.resolved")]
    AssumptionResolved {
        #[serde(default, alias = "id")]
        assumption: String,
        #[serde(default)]
        status: Option<AssumptionStatus>,
        #[serde(default)]
        note: String,
        #[serde(default)]
        bead: String,
        #[serde(default)]
        step: String,
    },

    #[serde(rename = "plan.run")]
    PlanRun {
        #[serde(default)]
        goal: String,
        #[serde(default)]
        harness: String,
        #[serde(default)]
        rounds: u32,
        #[serde(default)]
        repaired: Value,
        #[serde(default)]
        items: usize,
        #[serde(default)]
        tokens: RecordedTokens,
        #[serde(default)]
        cost_usd: Option<f64>,
        #[serde(default)]
        model: Option<String>,
    },
    #[serde(rename = "plan.violation")]
    PlanViolation {
        #[serde(default)]
        goal: String,
        #[serde(default)]
        harness: String,
        #[serde(default)]
        violations: Value,
    },
    #[serde(rename = "plan.accepted")]
    PlanAccepted {
        #[serde(default)]
        goal: String,
        #[serde(default)]
        epic: String,
        #[serde(default)]
        source: Value,
        #[serde(default)]
        items: Value,
        #[serde(default)]
        assumptions: Value,
    },

    #[serde(rename = "budget.exhausted")]
    BudgetExhausted {
        #[serde(default)]
        reason: String,
        #[serde(default)]
        spent: Value,
    },
    #[serde(rename = "breaker.tripped")]
    BreakerTripped {
        #[serde(default)]
        failures: u32,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "tick")]
    Tick {
        #[serde(default)]
        stopped: Option<Stopped>,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        ran: usize,
        #[serde(default)]
        reclaimed: usize,
        #[serde(default)]
        awaiting_approval: usize,
    },
    #[serde(rename = "notify")]
    Notify {
        /// What was notified (`budget_exhausted`, ...).
        #[serde(default)]
        kind: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        ok: bool,
    },
    #[serde(rename = "branches.push")]
    BranchesPush {
        #[serde(default)]
        remote: String,
        #[serde(default)]
        refs: Vec<String>,
    },

    #[serde(rename = "step.claimed")]
    StepClaimed {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        attempt: u32,
        #[serde(default)]
        harness: String,
        #[serde(default)]
        preset: String,
    },
    #[serde(rename = "step.worktree")]
    StepWorktree {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        branch: String,
        #[serde(default)]
        base_ref: String,
        #[serde(default)]
        base_commit: String,
    },
    #[serde(rename = "harness.started")]
    HarnessStarted {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        harness: String,
        #[serde(default)]
        preset: String,
        #[serde(default)]
        program: String,
        #[serde(default)]
        sandbox: Value,
        #[serde(default)]
        policy: Value,
    },
    #[serde(rename = "harness.finished")]
    HarnessFinished {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        verdict: Value,
        #[serde(default)]
        exit_code: Option<i32>,
        #[serde(default)]
        signal: Option<i32>,
        #[serde(default)]
        ended_by: Value,
        #[serde(default)]
        duration_ms: Option<u64>,
        #[serde(default)]
        session_id: Option<String>,
        #[serde(default)]
        model: Option<String>,
        #[serde(default)]
        tokens: RecordedTokens,
        #[serde(default)]
        cost_usd: Option<f64>,
        #[serde(default)]
        tool_calls: u32,
        #[serde(default)]
        permission_denials: Vec<String>,
        #[serde(default)]
        escaped_killed: usize,
        #[serde(default)]
        egress: Value,
        #[serde(default)]
        limits: Value,
    },
    /// An ACP agent's permission request and forge's answer (see
    /// `harness::presets::acp::policy`).
    #[serde(rename = "harness.permission")]
    HarnessPermission {
        #[serde(flatten)]
        at: StepAt,
        #[serde(flatten)]
        decision: Decision,
    },
    /// A file forge wrote for an ACP agent (`fs/write_text_file`), relative to the worktree.
    #[serde(rename = "harness.wrote")]
    HarnessWrote {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        path: String,
        #[serde(default)]
        bytes: u64,
    },
    #[serde(rename = "step.assumptions")]
    StepAssumptions {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        raised: usize,
        #[serde(default)]
        skipped: usize,
    },
    #[serde(rename = "step.committed")]
    StepCommitted {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        files: usize,
    },
    #[serde(rename = "step.unchanged")]
    StepUnchanged {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
    },
    #[serde(rename = "step.interrupted")]
    StepInterrupted {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "step.violation")]
    StepViolation {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        violations: Value,
    },
    #[serde(rename = "gate.result")]
    GateResult {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        gate: String,
        #[serde(default)]
        ok: bool,
        #[serde(default)]
        detail: String,
        #[serde(default)]
        duration_ms: u64,
    },
    #[serde(rename = "step.failed")]
    StepFailed {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "step.awaiting_approval")]
    StepAwaitingApproval {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        risk: Option<Risk>,
        #[serde(default)]
        files: usize,
    },
    #[serde(rename = "step.quarantined")]
    StepQuarantined {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        attic: String,
        #[serde(default)]
        branch_reset_to: String,
    },
    #[serde(rename = "step.rederived")]
    StepRederived {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        base: String,
        #[serde(default)]
        gates: Value,
        #[serde(default)]
        risk: Option<Risk>,
        #[serde(default)]
        why: String,
    },
    #[serde(rename = "step.approved")]
    StepApproved {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        approved_by: String,
        #[serde(default)]
        how: Option<How>,
        #[serde(default)]
        invoked_by: String,
    },
    #[serde(rename = "step.merge_refused")]
    StepMergeRefused {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "step.merged")]
    StepMerged {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        merge_commit: String,
        #[serde(default)]
        base_ref: String,
        /// Recorded by reconciliation after a killed approval.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reconciled: Option<bool>,
    },
    #[serde(rename = "step.rejected")]
    StepRejected {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        by: String,
    },
    #[serde(rename = "step.discarded")]
    StepDiscarded {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        attic: String,
    },
    #[serde(rename = "step.rollback")]
    StepRollback {
        #[serde(flatten)]
        at: StepAt,
        /// Only when the step was merged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merge_commit: Option<String>,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        by: String,
    },
    #[serde(rename = "step.rolled_back")]
    StepRolledBack {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        revert_commit: Option<String>,
        #[serde(default)]
        attic: Option<String>,
    },
    #[serde(rename = "step.reclaimed")]
    StepReclaimed {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        owner_pid: u32,
        #[serde(default)]
        attic: Option<String>,
        #[serde(default)]
        killed: Vec<u32>,
        #[serde(default)]
        was: Option<State>,
    },
    #[serde(rename = "step.revise")]
    StepRevise {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        feedback: String,
        #[serde(default)]
        by: String,
        #[serde(default)]
        resume_session: Option<String>,
        #[serde(default)]
        conflicts: Vec<String>,
    },
    #[serde(rename = "step.rebased")]
    StepRebased {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        from: String,
        #[serde(default)]
        onto: String,
        #[serde(default)]
        head: String,
        #[serde(default)]
        conflicts: Vec<String>,
    },
    /// An approved head joined the merge queue (`[policy] merge = "queue"`).
    #[serde(rename = "queue.enqueued")]
    QueueEnqueued {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        /// 1-based place in the queue.
        #[serde(default)]
        position: usize,
    },
    /// The queue merged an approved head onto the base tip in memory and ran the gates on
    /// that merged commit in a scratch worktree.
    #[serde(rename = "queue.tested")]
    QueueTested {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        /// The base tip the head was merged onto.
        #[serde(default)]
        base: String,
        /// The merged commit the gates ran on (what the base advances to if they pass).
        #[serde(default)]
        merge_commit: String,
        #[serde(default)]
        gates: Value,
        #[serde(default)]
        ok: bool,
    },
    /// The merge of an approved head onto the base tip conflicted or failed a gate: the
    /// step goes back to its agent, and the approval does not carry over.
    #[serde(rename = "queue.sent_back")]
    QueueSentBack {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        base: String,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        conflicts: Vec<String>,
    },
    /// A person moved a step within the queue (`forge queue move`).
    #[serde(rename = "queue.moved")]
    QueueMoved {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        from: usize,
        #[serde(default)]
        to: usize,
        #[serde(default)]
        by: String,
    },
    /// A person took a step out of the queue (`forge queue remove`); it waits for approval
    /// again.
    #[serde(rename = "queue.removed")]
    QueueRemoved {
        #[serde(flatten)]
        at: StepAt,
        #[serde(default)]
        head: String,
        #[serde(default)]
        by: String,
    },

    /// A tick took the claim on a bead on the shared remote (`refs/forge/claims/<bead>`),
    /// creating it or taking over one whose lease ran out.
    #[serde(rename = "claim.taken")]
    ClaimTaken {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        step: String,
        #[serde(default)]
        remote: String,
        #[serde(default)]
        generation: u64,
        #[serde(default)]
        holder: String,
        #[serde(default)]
        expires: String,
        #[serde(default)]
        base: String,
        /// The claim commit on the remote.
        #[serde(default)]
        commit: String,
        /// When taken over: the holder whose lease ran out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        took_over: Option<String>,
        /// The claim commit it replaced (the previous generation's last), if any: with
        /// `commit`, how `ledger verify` orders claim events without trusting clocks.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        parent: String,
    },
    /// The claim went back with its step's result, in one atomic push with the step
    /// branch and the step's `.forge/` files.
    #[serde(rename = "claim.released")]
    ClaimReleased {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        step: String,
        #[serde(default)]
        remote: String,
        #[serde(default)]
        generation: u64,
        #[serde(default)]
        outcome: Option<State>,
        #[serde(default)]
        head: String,
        #[serde(default)]
        commit: String,
        /// The claim commit this one replaced (see `claim.taken`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        parent: String,
    },
    /// The claim was taken over while its step ran (a renewal or the release found a
    /// newer generation): the step's result is refused and kept in the attic.
    #[serde(rename = "claim.lost")]
    ClaimLost {
        #[serde(default)]
        bead: String,
        #[serde(default)]
        step: String,
        #[serde(default)]
        remote: String,
        #[serde(default)]
        generation: u64,
        /// The generation that holds the bead now, and its holder.
        #[serde(default)]
        by_generation: Option<u64>,
        #[serde(default)]
        by: String,
        #[serde(default)]
        attic: Option<String>,
    },

    /// A kind this version does not know, or data that does not fit its kind: kept as it
    /// was read, and written back the same.
    #[serde(skip)]
    Unknown { kind: String, data: Value },
}

#[cfg(test)]
mod tests;
