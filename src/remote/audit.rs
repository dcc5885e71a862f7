//! What `forge doctor` finds wrong with the remote's claims: leases that ran out (their
//! holder is gone or cut off), released claims that keep a bead for a step the remote does
//! not have (no branch, no checkpoint on a state ref), and released claims whose step this
//! clone saw end while the remote missed it.

use serde::Serialize;

use super::{Claim, ClaimState, Claims};
use crate::error::Result;
use crate::step::State;
use crate::store::Layout;

/// One claim that needs attention.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// Held, and its lease ran out `overdue` seconds ago.
    Expired {
        bead: String,
        claim: ClaimSummary,
        overdue: i64,
    },
    /// Released with a step waiting for approval that the remote does not have: `missing`
    /// says what (its branch, its checkpoint).
    NoStep {
        bead: String,
        claim: ClaimSummary,
        missing: Vec<String>,
    },
    /// A claim ref that holds no claim forge can read (see `claims::Unreadable`): its
    /// bead is skipped by every tick until someone looks.
    Unreadable {
        bead: String,
        commit: String,
        why: String,
    },
    /// Released, but this clone's checkpoint of its step says it ended since (`local`).
    Unsettled {
        bead: String,
        claim: ClaimSummary,
        local: State,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ClaimSummary {
    pub step: String,
    pub generation: u64,
    pub holder: String,
    pub outcome: Option<State>,
    pub commit: String,
}

impl From<&Claim> for ClaimSummary {
    fn from(c: &Claim) -> ClaimSummary {
        ClaimSummary {
            step: c.record.step.clone(),
            generation: c.record.generation,
            holder: c.record.holder.to_string(),
            outcome: c.record.outcome,
            commit: c.commit.clone(),
        }
    }
}

/// The remote's claims (fetched first) that need attention at `now`; `checkpoints` are
/// this clone's steps.
pub fn audit(
    layout: &Layout,
    remote: &str,
    lease: u64,
    now: i64,
    checkpoints: &[crate::step::Checkpoint],
) -> Result<Vec<Problem>> {
    let claims = Claims::new(layout, remote, lease)?;
    claims.fetch()?;
    let all = claims.read()?;
    let mut out: Vec<Problem> = claims
        .unreadable()?
        .into_iter()
        .map(|u| Problem::Unreadable {
            bead: u.bead,
            commit: u.commit,
            why: u.why,
        })
        .collect();
    let waiting = |c: &Claim| {
        c.record.state == ClaimState::Released
            && c.record
                .outcome
                .is_some_and(|o| matches!(o, State::AwaitingApproval | State::Approved))
    };
    let branches = if all.values().any(waiting) {
        claims.remote_branches()?
    } else {
        Default::default()
    };
    for (bead, c) in &all {
        let r = &c.record;
        if r.expired(now) {
            out.push(Problem::Expired {
                bead: bead.clone(),
                claim: c.into(),
                overdue: now - r.expires,
            });
            continue;
        }
        if let Some(cp) = checkpoints.iter().find(|s| s.step == r.step)
            && r.state == ClaimState::Released
            && r.outcome.is_some_and(|o| super::settles(o, cp.state))
        {
            out.push(Problem::Unsettled {
                bead: bead.clone(),
                claim: c.into(),
                local: cp.state,
            });
            continue;
        }
        if waiting(c) {
            let mut missing = Vec::new();
            // The branch the release pushed (as `forge/<bead>/<attempt>`, see step::prepare).
            let branch = format!("refs/heads/forge/{bead}/{}", r.attempt);
            if r.head.is_empty() || branches.get(&branch) != Some(&r.head) {
                missing.push(format!("its branch {branch} at {}", short(&r.head)));
            }
            let checkpoint = format!(".forge/checkpoints/{}.toml", r.step);
            if !claims.in_state(&checkpoint)? {
                missing.push(format!("its checkpoint {checkpoint} on {}*", super::STATE));
            }
            if !missing.is_empty() {
                out.push(Problem::NoStep {
                    bead: bead.clone(),
                    claim: c.into(),
                    missing,
                });
            }
        }
    }
    Ok(out)
}

fn short(oid: &str) -> &str {
    if oid.is_empty() {
        "(none)"
    } else {
        &oid[..oid.len().min(12)]
    }
}
