//! `forge plan`: a goal becomes a reviewed graph of beads, with the assumptions it rests on.

pub mod apply;
pub mod format;
pub mod planner;
pub mod validate;

pub use format::Plan;
