//! The one integration-test binary: runs the real `forge` binary against real temporary git
//! repositories, with a clean environment, a private HOME and pinned dates.

// Tests read the real environment and time freely: they set up what forge then reads
// through its one snapshot (see clippy.toml).
#![allow(clippy::disallowed_methods)]

mod env;

mod acp;
mod approval_integrity;
mod approve;
mod assume;
mod bad_input;
mod beads;
mod cache;
mod concurrency;
mod conflicts;
mod containment;
mod crash;
mod docs;
mod doctor;
mod first_hour;
mod first_hour_more;
mod gate_output;
mod gates_containment;
mod harnesses;
mod hooks;
mod import;
mod init;
mod ledger;
mod merge;
mod next_steps;
mod overlap;
mod plan;
mod queue;
mod ready;
mod review;
mod scale;
mod secrets;
mod step;
mod tick;
mod tick_jobs;
mod transcript;
mod transcripts;
mod verify_range;
mod watch;
