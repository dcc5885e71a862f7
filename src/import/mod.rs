//! Importing work items from other trackers. Each source has its own module; all of them
//! check everything first and then create beads in one batch, or none.

pub mod beads;
