//! Which beads a step may start on: ready by their dependencies, and not held by a step that
//! runs or waits for approval. The one place `ready`, `status`, `step` and `tick` ask.

use std::collections::{HashMap, HashSet};

use super::checkpoint::{self, Checkpoint, State};
use crate::bead::BeadSummary;
use crate::bead::graph::Graph;
use crate::error::Result;
use crate::store::Layout;

/// Whether a step in `state` keeps its bead from another step: running, waiting for
/// approval, or approved and not yet merged (in the merge queue, or an approval killed
/// before its bookkeeping).
pub fn holds_bead(state: State) -> bool {
    state.is_active() || matches!(state, State::AwaitingApproval | State::Approved)
}

/// What the steps say of each bead: which are held, and how many attempts each had.
#[derive(Debug, Default)]
pub struct Busy {
    held: HashSet<String>,
    attempts: HashMap<String, u32>,
}

impl Busy {
    /// From the checkpoints on disk, read quickly (bead and state only).
    pub fn load(layout: &Layout) -> Result<Busy> {
        Ok(Busy::from_states(checkpoint::bead_states(layout)?))
    }

    /// From checkpoints already loaded.
    pub fn of(checkpoints: &[Checkpoint]) -> Busy {
        Busy::from_states(checkpoints.iter().map(|c| (c.bead.clone(), c.state)))
    }

    fn from_states(states: impl IntoIterator<Item = (String, State)>) -> Busy {
        let mut busy = Busy::default();
        for (bead, state) in states {
            if holds_bead(state) {
                busy.held.insert(bead.clone());
            }
            *busy.attempts.entry(bead).or_default() += 1;
        }
        busy
    }

    /// Whether a step runs or waits on `bead`.
    pub fn holds(&self, bead: &str) -> bool {
        self.held.contains(bead)
    }

    /// How many steps `bead` had.
    pub fn attempts(&self, bead: &str) -> u32 {
        self.attempts.get(bead).copied().unwrap_or(0)
    }

    /// The beads a step may start on, in the ready queue's order.
    pub fn startable<'a>(&self, graph: &Graph<'a>) -> Vec<&'a BeadSummary<'a>> {
        graph
            .ready()
            .into_iter()
            .filter(|b| !self.holds(b.id))
            .collect()
    }
}

/// Whether `step` failed (or was interrupted) and needs a person: its bead is still open and
/// no later attempt of it exists in `all`. `forge status` and `forge watch` list these.
pub fn needs_retry(step: &Checkpoint, all: &[Checkpoint], graph: &Graph) -> bool {
    matches!(step.state, State::Failed | State::Interrupted)
        && graph
            .get(&step.bead)
            .is_some_and(|b| b.status == crate::bead::Status::Open)
        && !all
            .iter()
            .any(|o| o.bead == step.bead && o.attempt > step.attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_and_waiting_steps_hold_their_bead_and_every_attempt_counts() {
        let busy = Busy::from_states([
            ("fg-a".to_owned(), State::Running),
            ("fg-b".to_owned(), State::AwaitingApproval),
            ("fg-q".to_owned(), State::Approved),
            ("fg-c".to_owned(), State::Failed),
            ("fg-c".to_owned(), State::Rejected),
            ("fg-d".to_owned(), State::Merged),
        ]);
        assert!(busy.holds("fg-a") && busy.holds("fg-b") && busy.holds("fg-q"));
        assert!(!busy.holds("fg-c") && !busy.holds("fg-d") && !busy.holds("fg-e"));
        assert_eq!(busy.attempts("fg-c"), 2);
        assert_eq!(busy.attempts("fg-e"), 0);
    }
}
