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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::approval::How;
use crate::assumption::AssumptionStatus;
use crate::bead::{DepKind, Kind, Risk, Status};
use crate::step::checkpoint::State;
use crate::tick::Stopped;
use crate::tick::state::Pause;

/// The event schema version new lines are written with.
pub const EVENT_VERSION: u32 = 1;

/// The step an event is about: in every `step.*`, `harness.*` and `gate.*` event. `state`
/// is there when the event is a transition of the step (see `step::run::transition`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepAt {
    #[serde(default)]
    pub step: String,
    #[serde(default)]
    pub bead: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
}

impl StepAt {
    pub fn new(step: &str, bead: &str) -> StepAt {
        StepAt {
            step: step.to_owned(),
            bead: bead.to_owned(),
            state: None,
        }
    }
}

/// A dependency as `bead.created` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepRef {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: Option<DepKind>,
}

/// One field `bead.updated` changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub old: Value,
    #[serde(default)]
    pub new: Value,
}

/// Tokens as a harness run or a plan recorded them. A count missing is 0; `reported`
/// missing means "some count is not 0" (see `cost::RunUsage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedTokens {
    #[serde(default)]
    pub input: u64,
    #[serde(default)]
    pub output: u64,
    #[serde(default)]
    pub cache_read: u64,
    #[serde(default)]
    pub cache_write: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<bool>,
}

impl From<crate::harness::adapter::Tokens> for RecordedTokens {
    fn from(t: crate::harness::adapter::Tokens) -> Self {
        RecordedTokens {
            input: t.input,
            output: t.output,
            cache_read: t.cache_read,
            cache_write: t.cache_write,
            reported: Some(t.reported),
        }
    }
}

/// Any value as JSON, for the nested details events keep untyped.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).expect("event details always serialise")
}

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

    /// A kind this version does not know, or data that does not fit its kind: kept as it
    /// was read, and written back the same.
    #[serde(skip)]
    Unknown { kind: String, data: Value },
}

impl Payload {
    /// Reads a line's kind and data; never fails (see [`Payload::Unknown`]).
    pub fn from_parts(kind: &str, data: &Value) -> Payload {
        let tagged = serde_json::json!({ "kind": kind, "data": data });
        serde_json::from_value(tagged).unwrap_or_else(|_| Payload::Unknown {
            kind: kind.to_owned(),
            data: data.clone(),
        })
    }

    /// The kind and data a line carries for this event.
    pub fn to_parts(&self) -> (String, Value) {
        if let Payload::Unknown { kind, data } = self {
            return (kind.clone(), data.clone());
        }
        let Value::Object(mut tagged) = json(self) else {
            unreachable!("an adjacently tagged enum serialises to an object")
        };
        let kind = match tagged.remove("kind") {
            Some(Value::String(k)) => k,
            _ => unreachable!("every known kind has a name"),
        };
        (kind, tagged.remove("data").unwrap_or(Value::Null))
    }

    /// The step an event is about, for the `step.*`, `harness.*` and `gate.*` kinds.
    pub fn step_at(&self) -> Option<&StepAt> {
        use Payload::*;
        match self {
            StepClaimed { at, .. }
            | StepWorktree { at, .. }
            | HarnessStarted { at, .. }
            | HarnessFinished { at, .. }
            | StepAssumptions { at, .. }
            | StepCommitted { at, .. }
            | StepUnchanged { at, .. }
            | StepInterrupted { at, .. }
            | StepViolation { at, .. }
            | GateResult { at, .. }
            | StepFailed { at, .. }
            | StepAwaitingApproval { at, .. }
            | StepQuarantined { at, .. }
            | StepRederived { at, .. }
            | StepApproved { at, .. }
            | StepMergeRefused { at, .. }
            | StepMerged { at, .. }
            | StepRejected { at, .. }
            | StepDiscarded { at, .. }
            | StepRollback { at, .. }
            | StepRolledBack { at, .. }
            | StepReclaimed { at, .. }
            | StepRevise { at, .. }
            | StepRebased { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The step the event names, if any (empty is none). An unknown kind is taken to name
    /// one in a `step` field, as every kind forge writes does.
    pub fn step(&self) -> Option<&str> {
        let step = match self {
            Payload::BeadWaiting { step, .. } | Payload::AssumptionResolved { step, .. } => {
                Some(step.as_str())
            }
            Payload::AssumptionRaised { step, .. } => step.as_deref(),
            Payload::Unknown { data, .. } => data.get("step").and_then(Value::as_str),
            other => other.step_at().map(|at| at.step.as_str()),
        };
        step.filter(|s| !s.is_empty())
    }

    /// The bead the event names, if any (empty is none); for an unknown kind, its `bead`
    /// field.
    pub fn bead(&self) -> Option<&str> {
        use Payload::*;
        let bead = match self {
            BeadCreated { bead, .. }
            | BeadUpdated { bead, .. }
            | BeadClosed { bead, .. }
            | BeadReopened { bead, .. }
            | BeadDeferred { bead, .. }
            | BeadLinked { bead, .. }
            | BeadWaiting { bead, .. }
            | DepAdded { bead, .. }
            | DepRemoved { bead, .. }
            | AssumptionRaised { bead, .. }
            | AssumptionMitigated { bead, .. }
            | AssumptionResolved { bead, .. } => Some(bead.as_str()),
            Unknown { data, .. } => data.get("bead").and_then(Value::as_str),
            other => other.step_at().map(|at| at.bead.as_str()),
        };
        bead.filter(|b| !b.is_empty())
    }

    /// The bead a `dep.*` event adds or removes a dependency on.
    pub fn dep(&self) -> Option<&str> {
        match self {
            Payload::DepAdded { dep, .. } | Payload::DepRemoved { dep, .. } => Some(dep),
            Payload::Unknown { data, .. } => data.get("dep").and_then(Value::as_str),
            _ => None,
        }
    }

    /// The state a transition left its step in.
    pub fn state(&self) -> Option<State> {
        match self {
            Payload::Unknown { data, .. } => data
                .get("state")
                .and_then(|s| serde_json::from_value(s.clone()).ok()),
            other => other.step_at().and_then(|at| at.state),
        }
    }

    /// The head commit the event names (`step.awaiting_approval`, `step.approved`,
    /// `step.merged`, ...).
    pub fn head(&self) -> Option<&str> {
        use Payload::*;
        let head = match self {
            StepCommitted { head, .. }
            | StepUnchanged { head, .. }
            | StepAwaitingApproval { head, .. }
            | StepQuarantined { head, .. }
            | StepRederived { head, .. }
            | StepApproved { head, .. }
            | StepMergeRefused { head, .. }
            | StepMerged { head, .. }
            | StepRejected { head, .. }
            | StepRebased { head, .. } => Some(head.as_str()),
            Unknown { data, .. } => data.get("head").and_then(Value::as_str),
            _ => None,
        };
        head.filter(|h| !h.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::line::{self, Event, decode, encode};
    use serde_json::json;

    fn at(state: Option<State>) -> StepAt {
        StepAt {
            step: "fg-abcd.1".into(),
            bead: "fg-abcd".into(),
            state,
        }
    }

    fn s(x: &str) -> String {
        x.to_owned()
    }

    /// One of every kind, with every optional field set one way or the other.
    fn every_variant() -> Vec<Payload> {
        use Payload::*;
        let tokens = RecordedTokens {
            input: 1,
            output: 2,
            cache_read: 3,
            cache_write: 4,
            reported: Some(true),
        };
        vec![
            ForgeInitialised {
                created: vec![s(".forge")],
            },
            ForgePaused {
                reason: s("lunch"),
                by: s("Ada"),
            },
            ForgeResumed {
                was: Some(Pause {
                    reason: s("lunch"),
                    by: s("Ada"),
                    at: s("2026-11-21T09:00:00Z"),
                }),
                by: s("Ada"),
            },
            MergeResolved {
                file: s(".forge/beads/fg-abcd.toml"),
                source: s("beads"),
                decisions: json!([{"key": "title"}]),
            },
            BeadCreated {
                bead: s("fg-abcd"),
                title: s("t"),
                kind: Some(Kind::Task),
                priority: Some(2),
                value: Some(50),
                risk: Some(Risk::Low),
                labels: vec![s("x")],
                deps: vec![DepRef {
                    id: s("fg-0000"),
                    kind: Some(DepKind::Blocks),
                }],
                plan: Some(s("fg-epic")),
                beads: None,
            },
            BeadUpdated {
                bead: s("fg-abcd"),
                changes: vec![Change {
                    field: s("title"),
                    old: json!("a"),
                    new: json!("b"),
                }],
            },
            BeadClosed {
                bead: s("fg-abcd"),
                from: Some(Status::Open),
                reason: s("done"),
            },
            BeadReopened {
                bead: s("fg-abcd"),
                from: Some(Status::Closed),
                reason: s("again"),
            },
            BeadDeferred {
                bead: s("fg-abcd"),
                from: Some(Status::Open),
                reason: s("later"),
            },
            BeadLinked {
                bead: s("fg-abcd"),
                commit: s("abc"),
                trailer: s("Forge-Bead"),
            },
            BeadWaiting {
                bead: s("fg-abcd"),
                step: s("fg-abcd.1"),
                until: s("2026-11-21T10:00:00Z"),
                reason: s("rate limited"),
            },
            DepAdded {
                bead: s("fg-abcd"),
                dep: s("fg-0000"),
                kind: Some(DepKind::Parent),
            },
            DepRemoved {
                bead: s("fg-abcd"),
                dep: s("fg-0000"),
                kind: None,
            },
            BeadsImported {
                file: s("issues.jsonl"),
                created: 1,
                existing: 2,
                deleted: 0,
                skipped_lines: vec![3],
                mapping: [(s("bd-1"), s("fg-abcd"))].into_iter().collect(),
            },
            AssumptionRaised {
                assumption: s("as-abcd"),
                text: s("t"),
                risk: Some(Risk::Medium),
                bead: s("fg-abcd"),
                step: Some(s("")),
                beads: None,
                plan: None,
            },
            AssumptionMitigated {
                assumption: s("as-abcd"),
                bead: s("fg-0000"),
            },
            AssumptionResolved {
                assumption: s("as-abcd"),
                status: Some(AssumptionStatus::Invalidated),
                note: s("no"),
                bead: s("fg-abcd"),
                step: s(""),
            },
            PlanRun {
                goal: s("g"),
                harness: s("claude"),
                rounds: 2,
                repaired: json!([]),
                items: 3,
                tokens,
                cost_usd: Some(0.5),
                model: None,
            },
            PlanViolation {
                goal: s("g"),
                harness: s("claude"),
                violations: json!([{"what": "x", "undo": "y"}]),
            },
            PlanAccepted {
                goal: s("g"),
                epic: s("fg-epic"),
                source: json!({"file": "plan.json"}),
                items: json!([]),
                assumptions: json!([]),
            },
            BudgetExhausted {
                reason: s("money"),
                spent: json!({"money": 5.5}),
            },
            BreakerTripped {
                failures: 3,
                reason: s("breaker"),
            },
            Tick {
                stopped: Some(Stopped::Budget),
                reason: s("r"),
                ran: 1,
                reclaimed: 0,
                awaiting_approval: 1,
            },
            Notify {
                kind: s("budget_exhausted"),
                message: s("m"),
                ok: true,
            },
            BranchesPush {
                remote: s("origin"),
                refs: vec![s("refs/heads/forge/x")],
            },
            StepClaimed {
                at: at(Some(State::Claimed)),
                attempt: 1,
                harness: s("claude"),
                preset: s("claude"),
            },
            StepWorktree {
                at: at(Some(State::Preparing)),
                branch: s("forge/fg-abcd/1"),
                base_ref: s("refs/heads/main"),
                base_commit: s("abc"),
            },
            HarnessStarted {
                at: at(Some(State::Running)),
                harness: s("claude"),
                preset: s("claude"),
                program: s("claude"),
                sandbox: json!("landlock"),
                policy: Value::Null,
            },
            HarnessFinished {
                at: at(Some(State::Checking)),
                verdict: json!({"outcome": "succeeded"}),
                exit_code: Some(0),
                signal: None,
                ended_by: json!("exited"),
                duration_ms: Some(90),
                session_id: Some(s("sess")),
                model: Some(s("m")),
                tokens,
                cost_usd: None,
                tool_calls: 3,
                permission_denials: vec![],
                escaped_killed: 0,
                egress: json!({"allowed": 0}),
                limits: json!({"oom_kills": 0}),
            },
            StepAssumptions {
                at: at(None),
                raised: 1,
                skipped: 0,
            },
            StepCommitted {
                at: at(None),
                head: s("h"),
                files: 2,
            },
            StepUnchanged {
                at: at(None),
                head: s("h"),
            },
            StepInterrupted {
                at: at(Some(State::Interrupted)),
                reason: s("r"),
            },
            StepViolation {
                at: at(None),
                violations: json!([]),
            },
            GateResult {
                at: at(None),
                gate: s("tests"),
                ok: false,
                detail: s("1 failed"),
                duration_ms: 40,
            },
            StepFailed {
                at: at(Some(State::Failed)),
                reason: s("r"),
            },
            StepAwaitingApproval {
                at: at(Some(State::AwaitingApproval)),
                head: s("h"),
                risk: Some(Risk::High),
                files: 2,
            },
            StepQuarantined {
                at: at(None),
                head: s("h"),
                attic: s("refs/forge/attic/x"),
                branch_reset_to: s("p"),
            },
            StepRederived {
                at: at(None),
                head: s("h"),
                base: s("b"),
                gates: json!([]),
                risk: Some(Risk::Low),
                why: s("w"),
            },
            StepApproved {
                at: at(None),
                head: s("h"),
                approved_by: s("Ada"),
                how: Some(How::Flag),
                invoked_by: s("Ada"),
            },
            StepMergeRefused {
                at: at(None),
                head: s("h"),
                reason: s("r"),
            },
            StepMerged {
                at: at(Some(State::Merged)),
                head: s("h"),
                merge_commit: s("m"),
                base_ref: s("refs/heads/main"),
                reconciled: Some(true),
            },
            StepRejected {
                at: at(None),
                head: s("h"),
                reason: s("r"),
                by: s("Ada"),
            },
            StepDiscarded {
                at: at(Some(State::Rejected)),
                attic: s("a"),
            },
            StepRollback {
                at: at(None),
                merge_commit: Some(s("m")),
                reason: s("r"),
                by: s("Ada"),
            },
            StepRolledBack {
                at: at(Some(State::RolledBack)),
                revert_commit: None,
                attic: Some(s("a")),
            },
            StepReclaimed {
                at: at(Some(State::Interrupted)),
                owner_pid: 42,
                attic: None,
                killed: vec![43],
                was: Some(State::Running),
            },
            StepRevise {
                at: at(None),
                feedback: s("more"),
                by: s("Ada"),
                resume_session: None,
                conflicts: vec![s("a.rs")],
            },
            StepRebased {
                at: at(None),
                from: s("a"),
                onto: s("b"),
                head: s("h"),
                conflicts: vec![],
            },
        ]
    }

    fn line_of(kind: &str, data: Value, v: u32) -> String {
        encode(&Event {
            ts: s("2026-11-21T09:00:00Z"),
            run: s("r1"),
            seq: 0,
            actor: s("Ada Tester <ada@example.com>"),
            v,
            kind: s(kind),
            data,
            prev: String::new(),
            hash: String::new(),
        })
        .0
    }

    #[test]
    fn every_variant_round_trips_through_a_line() {
        let all = every_variant();
        let mut kinds = std::collections::HashSet::new();
        for p in all {
            let (kind, data) = p.to_parts();
            assert!(kinds.insert(kind.clone()), "{kind} twice");
            assert!(data.is_object(), "{kind}: {data}");
            let text = line_of(&kind, data, EVENT_VERSION);
            let e = decode(&text).unwrap();
            assert_eq!(e.v, EVENT_VERSION);
            assert_eq!(e.payload(), p, "{text}");
            // And the same line again.
            assert_eq!(encode(&e).0, text);
        }
        assert_eq!(kinds.len(), 49, "one of every kind");
    }

    #[test]
    fn an_unknown_kind_round_trips_byte_for_byte_and_verifies() {
        let text = line_of(
            "step.teleported",
            json!({"step": "fg-abcd.1", "bead": "fg-abcd", "to": {"planet": "mars"}, "n": 1.5}),
            7,
        );
        let e = decode(&text).unwrap();
        let p = e.payload();
        assert!(matches!(&p, Payload::Unknown { kind, .. } if kind == "step.teleported"));
        assert_eq!(p.step(), Some("fg-abcd.1"));
        assert_eq!(p.bead(), Some("fg-abcd"));
        let (kind, data) = p.to_parts();
        let again = Event {
            kind,
            data,
            ..e.clone()
        };
        assert_eq!(encode(&again).0, text);
        assert!(line::check(&text).is_ok());
        // A known kind whose data does not fit is kept the same way.
        let odd = line_of("step.claimed", json!({"attempt": "first"}), 0);
        let e = decode(&odd).unwrap();
        assert!(matches!(e.payload(), Payload::Unknown { .. }));
        let (kind, data) = e.payload().to_parts();
        assert_eq!(encode(&Event { kind, data, ..e }).0, odd);
    }

    #[test]
    fn a_version_is_written_and_hashed_and_old_lines_have_none() {
        let new = line_of("tick", json!({}), EVENT_VERSION);
        assert!(new.contains(r#""actor":"Ada Tester <ada@example.com>","v":1,"kind":"tick""#));
        let tampered = new.replace(r#""v":1"#, r#""v":2"#);
        assert_eq!(decode(&tampered), Err(line::LineError::HashMismatch));
        let old = line_of("tick", json!({}), 0);
        assert!(!old.contains("\"v\""), "{old}");
        assert_eq!(decode(&old).unwrap().v, 0);
    }

    /// Lines written before events were typed (see fixtures/ledger/README.md): every one
    /// still verifies, reads as a known kind, and encodes back to the same bytes.
    #[test]
    fn old_lines_decode_verify_and_read_as_known_kinds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ledger/v0");
        let mut problems = Vec::new();
        let mut lines = 0;
        let mut kinds = std::collections::BTreeSet::new();
        for path in crate::ledger::ledger_files(&dir) {
            crate::ledger::verify::verify_file(&path, &mut problems).unwrap();
            for text in std::fs::read_to_string(&path).unwrap().lines() {
                lines += 1;
                let e = decode(text).unwrap();
                assert_eq!(e.v, 0);
                assert_eq!(encode(&e).0, text);
                let p = e.payload();
                assert!(
                    !matches!(p, Payload::Unknown { .. }),
                    "{} did not read as a known kind: {text}",
                    e.kind
                );
                // Known kinds write their data back as it was.
                assert_eq!(p.to_parts(), (e.kind.clone(), e.data.clone()), "{text}");
                kinds.insert(e.kind);
            }
        }
        assert!(problems.is_empty(), "{problems:?}");
        assert!(lines > 50 && kinds.len() > 20, "{lines} lines, {kinds:?}");
    }
}
