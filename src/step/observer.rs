//! Progress reporting of a step or a planner run: the CLI draws it, tests ignore it.

use super::checkpoint::State;
use crate::harness::adapter::{Event, RunSummary};

/// What a step (or a planner round) reports as it goes.
pub trait Observer {
    fn phase(&mut self, _step: &str, _state: State, _detail: &str) {}
    fn harness_event(&mut self, _event: &Event, _summary: &RunSummary) {}
    /// A flag that, once set, stops the harness as forge's own interruption does (the step
    /// ends interrupted, its work kept): how a tick running several steps ends them on its
    /// wall time or a pause. None: only forge's interruption stops it.
    fn stop_flag(&self) -> Option<std::sync::Arc<std::sync::atomic::AtomicBool>> {
        None
    }
    /// Who answers an ACP agent's permission request when a rule says `ask`: the person at
    /// the terminal of an interactive step. None: nobody (the request is denied, and the
    /// record says a human was needed).
    fn asker(&self) -> Option<std::sync::Arc<dyn crate::harness::presets::acp::policy::Ask>> {
        None
    }
}

impl Observer for () {}

/// An observer whose harness runs also stop when `stop` is set (a tick's halt, a claim
/// another machine took over); everything else goes to `inner` (a `&mut dyn Observer` or
/// a `Box` of one).
pub struct Stopping<O> {
    pub inner: O,
    pub stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<O, T> Observer for Stopping<O>
where
    O: std::ops::DerefMut<Target = T>,
    T: Observer + ?Sized,
{
    fn phase(&mut self, step: &str, state: State, detail: &str) {
        self.inner.phase(step, state, detail);
    }
    fn harness_event(&mut self, event: &Event, summary: &RunSummary) {
        self.inner.harness_event(event, summary);
    }
    fn stop_flag(&self) -> Option<std::sync::Arc<std::sync::atomic::AtomicBool>> {
        Some(self.stop.clone())
    }
    fn asker(&self) -> Option<std::sync::Arc<dyn crate::harness::presets::acp::policy::Ask>> {
        self.inner.asker()
    }
}
