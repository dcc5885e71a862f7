//! `forge step`: one bead, one harness run, on its own worktree branch. See DESIGN.md §2.

pub mod checkpoint;
pub mod contain;
pub mod gates;
pub mod gc;
pub mod guard;
pub mod lease;
pub mod prompt;
pub mod revise;
pub mod run;

pub use checkpoint::{Checkpoint, State};
pub use run::{Observer, StepOptions, StepOutcome, run_step};

use std::path::PathBuf;

use crate::store::Layout;

pub fn worktrees_dir(layout: &Layout) -> PathBuf {
    layout.runtime.join("worktrees")
}

/// Scratch HOME, logs and temp files of one step, never committed.
pub fn step_dir(layout: &Layout, step: &str) -> PathBuf {
    layout.runtime.join("steps").join(step)
}

/// For an active step whose owner died (nobody holds its bead's lease): how to reclaim it.
pub fn owner_gone_hint(layout: &Layout, cp: &Checkpoint) -> Option<String> {
    (cp.state.is_active() && !lease::is_held(layout, &cp.bead)).then(|| {
        format!(
            "{} is {} but the process running it ({}) is gone: reclaim it with `forge doctor \
             --fix` (or the next `forge tick`); its work goes to the attic",
            cp.step, cp.state, cp.owner_pid
        )
    })
}

/// forge's own index for a step's worktree: outside everything the harness may write.
pub fn index_path(layout: &Layout, step: &str) -> PathBuf {
    step_dir(layout, step).join("forge.index")
}

pub fn log_path(layout: &Layout, step: &str) -> PathBuf {
    step_dir(layout, step).join("harness.log")
}
