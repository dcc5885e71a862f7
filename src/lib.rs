//! forge orchestrates AI coding agents on a git repository.
//!
//! # Architecture
//!
//! ```text
//! cli/            the only layer that prints, prompts or reads the environment
//!   commands/     one file per command, one folder per command group
//!   ui.rs         --json / human rendering, colour, stdout vs stderr
//! workspace.rs    a loaded repository: layout, config, clock, redactor, ledger writer
//! store/          .forge files: atomic writes, locks, TOML parsing with located errors, cache
//! bead/           the bead model, ids, dependency graph (ready, blocked, cycles)
//! import/         other trackers' exports (beads issues.jsonl) turned into beads
//! ledger/         the append-only hash-chained run ledger: writer, reader, verifier
//! git/            repository discovery and git configuration
//! redact.rs       the secret redactor every write to .forge/ goes through
//! error.rs        the library error type and its stable exit codes
//! ```
//!
//! Domain modules never print; every command returns a serialisable report that the CLI
//! renders as text or JSON.

#![forbid(unsafe_code)]

pub mod approval;
pub mod assumption;
pub mod bead;
pub mod cli;
pub mod clock;
pub mod config;
pub mod config_reference;
pub mod doctor;
pub mod error;
pub mod git;
pub mod harness;
pub mod hooks;
pub mod import;
pub mod init;
pub mod ledger;
pub mod merge;
pub mod plan;
pub mod redact;
pub mod sandbox;
pub mod step;
pub mod store;
pub mod tick;
pub mod workspace;

pub use error::{Error, Result};
