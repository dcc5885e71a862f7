//! Harnesses: the agent CLIs forge drives. `adapter` is the contract every preset meets,
//! `presets/` holds one adapter per CLI, `process` runs a harness under forge's control
//! (allowlisted environment, its own HOME, process group, timeouts that kill the whole tree).

pub mod adapter;
pub mod config;
pub mod env;
pub mod presets;
pub mod process;
pub mod run;
