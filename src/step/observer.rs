//! Progress reporting of a step or a planner run: the CLI draws it, tests ignore it.

use super::checkpoint::State;
use crate::harness::adapter::{Event, RunSummary};

/// What a step (or a planner round) reports as it goes.
pub trait Observer {
    fn phase(&mut self, _step: &str, _state: State, _detail: &str) {}
    fn harness_event(&mut self, _event: &Event, _summary: &RunSummary) {}
}

impl Observer for () {}
