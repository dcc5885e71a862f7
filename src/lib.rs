//! forge orchestrates AI coding agents on a git repository.
//!
//! # Architecture
//!
//! ```text
//! cli/               the only layer that prints, prompts or reads the environment
//! workspace.rs       a loaded repository: layout, config, clock, redactor, ledger writer
//! config/            .forge/config.toml: the settings people write, parsed and checked
//! config_reference/  every config key with type, default and meaning (man forge-config)
//! init.rs            forge init: .forge/, the runtime directory, the merge driver
//! store/             .forge files: atomic writes, journals, locks, TOML parsing with lines
//! bead/              the bead model, ids, cache, dependency graph (ready, blocked, cycles)
//! assumption/        the assumptions registry and the outbox a harness posts to
//! plan/              forge plan: a goal becomes a validated graph of beads and assumptions
//! import/            other trackers' exports (beads issues.jsonl) turned into beads
//! step/              forge step: one bead, one harness run on its own worktree, gates
//! approval/          approvals bound to the exact commit, the merge, evidence and seals
//! tick/              forge tick: unattended rounds for cron, budget, breaker, notify
//! watch/             forge watch: a live snapshot of steps, queues, spend (model) and its view
//! harness/           the agent CLIs: adapter contract, presets, the process supervisor
//! sandbox/           Landlock, resource limits, network proxy and namespaces for harnesses
//! ledger/            the append-only hash-chained run ledger: writer, reader, verifier
//! merge/             field-wise three-way merge of .forge files (merge driver, resolve)
//! hooks/             forge's blocks in git hooks: pre-commit checks, post-commit links
//! doctor/            forge doctor: findings about this repository and machine, with fixes
//! remote/            claims on a shared git remote: several machines, one repository
//! git/               repository access: libgit2 for reading, the git CLI for the rest
//! clock.rs           wall-clock time as forge records it (UTC, RFC 3339 strings)
//! randomness.rs      where ids come from: the OS, or FORGE_SEED for tests
//! redact.rs          the secret redactor every write to .forge/ goes through
//! shell.rs           quoting words for sh (hook blocks, the merge driver, crontab lines)
//! error.rs           the library error type and its stable exit codes
//! ```
//!
//! Domain modules never print; every command returns a serialisable report that the CLI
//! renders as text or JSON. Clippy holds this: `print_stdout` and `print_stderr` are denied
//! everywhere but `cli`.

#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod approval;
pub mod assumption;
pub mod bead;
// The one layer that talks to the terminal (and the sandbox trampoline's last words).
#[allow(clippy::print_stdout, clippy::print_stderr)]
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
pub mod randomness;
pub mod redact;
pub mod remote;
pub mod sandbox;
pub mod shell;
pub mod step;
pub mod store;
pub mod tick;
pub mod watch;
pub mod workspace;

pub use error::{Error, Result};
