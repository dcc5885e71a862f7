//! What a [`Payload`] is read and written as (a line's kind and data), and what any event
//! names: its step, bead, dependency, state and head commit.

use serde_json::Value;

use super::{Payload, StepAt, json};
use crate::step::checkpoint::State;

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
            | HarnessPermission { at, .. }
            | HarnessWrote { at, .. }
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
            | StepRebased { at, .. }
            | QueueEnqueued { at, .. }
            | QueueTested { at, .. }
            | QueueSentBack { at, .. }
            | QueueMoved { at, .. }
            | QueueRemoved { at, .. } => Some(at),
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
            Payload::ClaimTaken { step, .. }
            | Payload::ClaimReleased { step, .. }
            | Payload::ClaimLost { step, .. } => Some(step.as_str()),
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
            | AssumptionResolved { bead, .. }
            | ClaimTaken { bead, .. }
            | ClaimReleased { bead, .. }
            | ClaimLost { bead, .. } => Some(bead.as_str()),
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
            | StepRebased { head, .. }
            | QueueEnqueued { head, .. }
            | QueueTested { head, .. }
            | QueueSentBack { head, .. }
            | QueueRemoved { head, .. } => Some(head.as_str()),
            Unknown { data, .. } => data.get("head").and_then(Value::as_str),
            _ => None,
        };
        head.filter(|h| !h.is_empty())
    }
}
