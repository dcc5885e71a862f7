//! What a step (or a revision, or a replay) produced, and how it ended.

use std::collections::BTreeMap;

use serde::Serialize;

use super::checkpoint::Checkpoint;
use super::gates::DiffFacts;

/// How a step ended. The checkpoint's state says where it stands (waiting, failed,
/// interrupted); this says why, for the exit code and for `forge tick`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The gates passed: the step waits for approval.
    Waiting,
    /// A gate failed.
    GatesFailed,
    /// The harness (or its gates) changed something outside the step, or the step branch
    /// moved under forge: see the checkpoint's reason.
    Violation,
    /// A revision whose harness changed nothing: the step was checked again at its head,
    /// and `checked` is how that ended.
    Unchanged { checked: Checked },
    /// A first run whose harness changed nothing.
    NoChange,
    /// The harness failed, or could not be started.
    HarnessFailed,
    /// The harness hit a rate limit or quota; `reset_at` is when it lifts, if it said.
    RateLimited { reset_at: Option<i64> },
    /// forge was asked to stop (Ctrl-C, SIGTERM) while the harness ran.
    Interrupted,
    /// The worktree could not be prepared (adopted, its files copied, its setup run).
    SetupFailed,
}

/// How checking a step's head (its gates, what they changed) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Waiting,
    GatesFailed,
    Violation,
}

impl From<Checked> for Ended {
    fn from(checked: Checked) -> Ended {
        match checked {
            Checked::Waiting => Ended::Waiting,
            Checked::GatesFailed => Ended::GatesFailed,
            Checked::Violation => Ended::Violation,
        }
    }
}

impl Ended {
    /// The step ended in its harness: it failed, hit a limit or was stopped (exit 4, not
    /// 1, unless interrupted).
    pub fn harness_failed(self) -> bool {
        matches!(
            self,
            Ended::HarnessFailed | Ended::RateLimited { .. } | Ended::Interrupted
        )
    }

    pub fn interrupted(self) -> bool {
        self == Ended::Interrupted
    }

    pub fn rate_limited(self) -> bool {
        matches!(self, Ended::RateLimited { .. })
    }

    /// When a rate limit lifts, if the harness said.
    pub fn rate_limit_reset(self) -> Option<i64> {
        match self {
            Ended::RateLimited { reset_at } => reset_at,
            _ => None,
        }
    }

    /// A revision whose harness changed nothing.
    pub fn unchanged(self) -> bool {
        matches!(self, Ended::Unchanged { .. })
    }

    /// `ended` in `forge step --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Waiting => "waiting",
            Ended::GatesFailed => "gates-failed",
            Ended::Violation => "violation",
            Ended::Unchanged { .. } => "unchanged",
            Ended::NoChange => "no-change",
            Ended::HarnessFailed => "harness-failed",
            Ended::RateLimited { .. } => "rate-limited",
            Ended::Interrupted => "interrupted",
            Ended::SetupFailed => "setup-failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub checkpoint: Checkpoint,
    /// Files the step changed.
    pub files: Vec<String>,
    pub diffstat: String,
    pub ended: Ended,
    /// Connections forge's egress proxy refused, by `host:port`.
    pub egress_denied: BTreeMap<String, u64>,
}

/// What a step's commits change against its base: read once, after the commit, for the
/// gates, the risk tier and the report.
pub struct StepDiff {
    pub facts: DiffFacts,
    pub stat: String,
}

impl StepDiff {
    pub fn of(git: &crate::git::cli::Git, base: &str, head: &str) -> crate::Result<StepDiff> {
        Ok(StepDiff {
            facts: super::gates::diff_facts(git, base, head)?,
            stat: git.diffstat(base, head)?,
        })
    }
}

impl StepOutcome {
    /// The outcome of `checkpoint`, with the files `diff` changes (none without one).
    pub fn new(checkpoint: &Checkpoint, diff: Option<&StepDiff>, ended: Ended) -> StepOutcome {
        StepOutcome {
            checkpoint: checkpoint.clone(),
            files: diff.map(|d| d.facts.files.clone()).unwrap_or_default(),
            diffstat: diff.map(|d| d.stat.clone()).unwrap_or_default(),
            ended,
            egress_denied: BTreeMap::new(),
        }
    }

    pub fn with_egress_denied(mut self, denied: BTreeMap<String, u64>) -> StepOutcome {
        self.egress_denied = denied;
        self
    }
}

/// `forge step --json`: `ended`, and the flags consumers read before it existed, derived
/// from it.
#[derive(Serialize)]
struct Shown<'a> {
    checkpoint: &'a Checkpoint,
    files: &'a [String],
    diffstat: &'a str,
    ended: &'static str,
    harness_failed: bool,
    interrupted: bool,
    rate_limited: bool,
    rate_limit_reset: Option<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    egress_denied: &'a BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    unchanged: bool,
}

impl Serialize for StepOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Shown {
            checkpoint: &self.checkpoint,
            files: &self.files,
            diffstat: &self.diffstat,
            ended: self.ended.as_str(),
            harness_failed: self.ended.harness_failed(),
            interrupted: self.ended.interrupted(),
            rate_limited: self.ended.rate_limited(),
            rate_limit_reset: self.ended.rate_limit_reset(),
            egress_denied: &self.egress_denied,
            unchanged: self.ended.unchanged(),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (harness_failed, interrupted, rate_limited, rate_limit_reset, unchanged) as the
    /// booleans of `StepOutcome` were set before `Ended`.
    fn flags(e: Ended) -> (bool, bool, bool, Option<i64>, bool) {
        (
            e.harness_failed(),
            e.interrupted(),
            e.rate_limited(),
            e.rate_limit_reset(),
            e.unchanged(),
        )
    }

    #[test]
    fn each_ending_gives_the_flags_it_always_gave() {
        let no = (false, false, false, None, false);
        for e in [
            Ended::Waiting,
            Ended::GatesFailed,
            Ended::Violation,
            Ended::NoChange,
            Ended::SetupFailed,
        ] {
            assert_eq!(flags(e), no, "{e:?}");
        }
        assert_eq!(
            flags(Ended::HarnessFailed),
            (true, false, false, None, false)
        );
        // An interrupted harness counted as a failed one too.
        assert_eq!(flags(Ended::Interrupted), (true, true, false, None, false));
        assert_eq!(
            flags(Ended::RateLimited { reset_at: Some(42) }),
            (true, false, true, Some(42), false)
        );
        assert_eq!(
            flags(Ended::RateLimited { reset_at: None }),
            (true, false, true, None, false)
        );
        for checked in [Checked::Waiting, Checked::GatesFailed, Checked::Violation] {
            assert_eq!(
                flags(Ended::Unchanged { checked }),
                (false, false, false, None, true)
            );
        }
    }

    #[test]
    fn a_check_ends_the_step_the_same_way() {
        assert_eq!(Ended::from(Checked::Waiting), Ended::Waiting);
        assert_eq!(Ended::from(Checked::GatesFailed), Ended::GatesFailed);
        assert_eq!(Ended::from(Checked::Violation), Ended::Violation);
    }

    #[test]
    fn the_json_keeps_the_old_fields_beside_ended() {
        let cp: Checkpoint = serde_json::from_value(serde_json::json!({
            "schema": 1, "step": "fg-a.1", "bead": "fg-a", "attempt": 1, "state": "failed",
            "harness": "h", "preset": "command", "base_ref": "refs/heads/main",
            "base_commit": "0123", "branch": "forge/fg-a/1", "worktree": "worktrees/fg-a.1",
            "owner_pid": 1, "started": "t", "updated": "t",
        }))
        .unwrap();
        let out = StepOutcome::new(&cp, None, Ended::RateLimited { reset_at: Some(7) });
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(json["ended"], "rate-limited");
        assert_eq!(json["harness_failed"], true);
        assert_eq!(json["interrupted"], false);
        assert_eq!(json["rate_limited"], true);
        assert_eq!(json["rate_limit_reset"], 7);
        assert_eq!(json["files"], serde_json::json!([]));
        assert_eq!(json["diffstat"], "");
        assert_eq!(json["checkpoint"]["step"], "fg-a.1");
        // Left out when empty or false, as before.
        assert!(json.get("egress_denied").is_none() && json.get("unchanged").is_none());

        let mut denied = BTreeMap::new();
        denied.insert("evil.example:443".to_owned(), 2);
        let out = StepOutcome::new(
            &cp,
            None,
            Ended::Unchanged {
                checked: Checked::GatesFailed,
            },
        )
        .with_egress_denied(denied);
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(json["ended"], "unchanged");
        assert_eq!(json["unchanged"], true);
        assert_eq!(json["rate_limit_reset"], serde_json::Value::Null);
        assert_eq!(json["egress_denied"]["evil.example:443"], 2);
    }
}
