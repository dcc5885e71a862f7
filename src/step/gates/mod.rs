//! The checks a step's commit must pass before anyone is asked to approve it: built-in
//! policy (no `.forge/` edits, protected paths, diff size, secrets in the diff and in the
//! printable strings of binary files, symbolic links out of the tree) and the configured
//! gate commands, run in the step's worktree.
//!
//! Everything here reads the step's commits from git's object store (modes, blobs, link
//! targets), never the worktree's files or the repository's attributes, which the agent
//! controls.

mod command;
mod diff;
mod links;
mod policy;
mod risk;
mod secrets;

use std::path::Path;
use std::time::Instant;

use super::checkpoint::GateResult;
use crate::config::Config;
use crate::error::Result;
use crate::git::cli::Git;
use crate::redact::Redactor;

pub use command::{bounded_tail, command, log_path};
pub use diff::{Change, DiffFacts, diff_facts, is_binary};
pub use links::symlinks;
pub use policy::{conflict_markers, diff_size, forge_untouched, new_file_kinds, protected_paths};
pub use risk::{risk_assessment, risk_tier};
pub use secrets::secrets;

pub struct GateContext<'a> {
    pub git: &'a Git,
    pub base: &'a str,
    pub head: &'a str,
    pub config: &'a Config,
    pub redactor: &'a Redactor,
    /// Environment for gate commands (the same allowlist the harness gets).
    pub env: &'a [(String, String)],
    /// Directory for gate logs.
    pub log_dir: &'a Path,
    /// Gate commands run the agent's code: they get the harness's sandbox.
    pub sandbox: Option<&'a crate::sandbox::Policy>,
    /// Files a replay onto the base left in conflict for the agent to resolve.
    pub conflicts: &'a [String],
}

fn result(name: &str, ok: bool, detail: String, started: Instant) -> GateResult {
    GateResult {
        name: name.to_owned(),
        ok,
        detail,
        duration_ms: started.elapsed().as_millis() as u64,
        output: String::new(),
        log: String::new(),
    }
}

/// Text from the agent, shown safely: control characters escaped.
fn escaped(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Every gate, in order: policy first, then the configured commands.
pub fn run_all(ctx: &GateContext<'_>, facts: &DiffFacts) -> Result<Vec<GateResult>> {
    let mut out = vec![
        forge_untouched(facts),
        protected_paths(ctx, facts),
        diff_size(ctx, facts),
        secrets(ctx, facts)?,
    ];
    out.extend(symlinks(ctx, facts)?);
    out.extend(conflict_markers(ctx)?);
    out.extend(new_file_kinds(facts));
    for gate in &ctx.config.gates {
        out.push(command(ctx, &gate.name, &gate.run, gate.timeout)?);
    }
    Ok(out)
}
