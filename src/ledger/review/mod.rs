//! What the ledger gained in a range of commits, arranged for a reviewer: totals, then per
//! bead and step the harness, model, time, tokens, cost, gates, approvals, rejections,
//! rollbacks and failures, and the assumption, budget and breaker events beside them.

use std::collections::BTreeMap;

use git2::Repository;
use serde::Serialize;

use super::cost::Usage;
use super::history::{self, Range};

mod build;
mod gained;

pub use build::build;
pub use gained::{Gained, GainedFile, gained};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub beads: usize,
    pub steps: usize,
    pub merged: usize,
    pub failed: usize,
    pub rejected: usize,
    pub rolled_back: usize,
    /// Steps whose last recorded state is waiting for approval.
    pub waiting: usize,
    /// Harness runs, summed.
    pub duration_ms: u64,
    #[serde(flatten)]
    pub usage: Usage,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub name: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub ts: String,
    pub by: String,
    /// prompt, flag or policy.
    pub how: String,
    /// The commit approved.
    pub head: String,
    /// The merge it led to, if it was merged.
    pub merge_commit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub ts: String,
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StepReview {
    pub step: String,
    pub attempt: Option<u64>,
    pub harness: Option<String>,
    pub model: Option<String>,
    /// Harness runs (a revision runs the harness again).
    pub runs: usize,
    pub duration_ms: u64,
    #[serde(flatten)]
    pub usage: Usage,
    /// The latest result of each gate.
    pub gates: Vec<Gate>,
    /// The last state the ledger recorded.
    pub state: Option<String>,
    pub head: Option<String>,
    pub approvals: Vec<Approval>,
    pub merge_commit: Option<String>,
    pub rejected: Option<Decision>,
    pub rolled_back: Option<Decision>,
    pub revert_commit: Option<String>,
    pub failures: Vec<String>,
    /// An ACP agent's permission requests and forge's answers, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<crate::harness::presets::acp::policy::Decision>,
}

/// One line of a bead's story, in time order.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub ts: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BeadReview {
    pub bead: String,
    pub title: Option<String>,
    pub steps: Vec<StepReview>,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub range: Range,
    pub commits: usize,
    /// Ledger files that gained events.
    pub files: usize,
    pub events: usize,
    pub totals: Totals,
    pub beads: Vec<BeadReview>,
    /// Assumption events not about a bead.
    pub assumptions: Vec<Note>,
    /// `budget.*` and `breaker.*` events.
    pub budget: Vec<Note>,
    /// Counts of the other kinds of events, by kind.
    pub other: BTreeMap<String, usize>,
    pub warnings: Vec<String>,
}

/// The first 12 characters of a commit id.
pub fn short(commit: &str) -> &str {
    &commit[..12.min(commit.len())]
}

/// A bead's title from its file at `commit`, if it has one there.
pub fn title_at(repo: &Repository, commit: git2::Oid, bead: &str) -> Option<String> {
    let bytes = history::file_at(repo, commit, &format!(".forge/beads/{bead}.toml")).ok()??;
    let table: toml::Table = toml::from_str(std::str::from_utf8(&bytes).ok()?).ok()?;
    table.get("title")?.as_str().map(str::to_owned)
}
