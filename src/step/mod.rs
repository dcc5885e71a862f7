//! `forge step`: one bead, one harness run, on its own worktree branch. See DESIGN.md §2.

pub mod busy;
mod check;
pub mod checkpoint;
pub(crate) mod choose;
pub mod contain;
mod execute;
pub mod gates;
pub mod gc;
pub mod guard;
pub mod launch;
pub mod lease;
pub mod observer;
pub mod outcome;
pub mod overlap;
mod prepare;
pub mod prompt;
pub mod revise;
pub mod run;
pub mod worktreeinclude;

pub use check::rederive;
pub use checkpoint::{Checkpoint, State};
pub use observer::Observer;
pub use outcome::{Checked, Ended, StepOutcome};
pub use run::{StepOptions, run_step};

use std::path::PathBuf;

use crate::store::Layout;

pub fn worktrees_dir(layout: &Layout) -> PathBuf {
    layout.worktrees()
}

/// Where worktrees go for a harness that will not edit below a `.git` directory (Claude
/// Code outside bypass mode): a directory forge owns beside the repository,
/// `<repo>.forge-worktrees` for a common dir `<repo>/.git` (else `<common dir>.forge-worktrees`).
/// Found from the common dir, so a step's own worktree finds the same one.
pub fn worktrees_beside(layout: &Layout) -> Option<PathBuf> {
    let common = layout.common_dir();
    let owner = match common.file_name() {
        Some(n) if n == ".git" => common.parent()?.to_owned(),
        _ => common,
    };
    let mut name = owner.file_name()?.to_os_string();
    name.push(".forge-worktrees");
    Some(owner.parent()?.join(name))
}

/// Both places forge puts step worktrees: nothing elsewhere is ever forge's to remove.
pub fn worktree_dirs(layout: &Layout) -> Vec<PathBuf> {
    let mut dirs = vec![worktrees_dir(layout)];
    dirs.extend(worktrees_beside(layout));
    dirs
}

/// The value that marks the processes of `step`'s runs (`FORGE_RUN`, see
/// [`crate::harness::process::RUN_MARKER`]): the step and the repository's common dir,
/// unique on the machine (one step of a repository runs at a time, under its bead's
/// lease) and computable again by a tick reclaiming a dead owner's step.
pub fn run_marker(layout: &Layout, step: &str) -> String {
    format!("{step}@{}", layout.common_dir().display())
}

/// Scratch HOME, logs and temp files of one step, never committed.
pub fn step_dir(layout: &Layout, step: &str) -> PathBuf {
    layout.step_dir(step)
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
