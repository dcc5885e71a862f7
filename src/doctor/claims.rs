//! With `[tick] remote`: the remote's claims that need attention (`crate::remote::audit`).
//! `--fix` settles what forge can settle alone: a claim whose step this clone saw end, and
//! a released claim that keeps its bead for a step the remote does not have (as failed, so
//! any clone may take the bead with the next generation). An expired lease is left to the
//! next tick on any clone, which takes the bead over.

use super::{DoctorReport, Severity};
use crate::config::Config;
use crate::error::Result;
use crate::remote::audit::{self, Problem};
use crate::step::State;
use crate::store::Layout;
use crate::workspace::Workspace;

pub fn check(
    layout: &Layout,
    config: &Config,
    now: i64,
    mut ws: Option<&mut Workspace>,
    report: &mut DoctorReport,
) -> Result<()> {
    let Some(remote) = config.tick.remote.as_deref() else {
        return Ok(());
    };
    let checkpoints = crate::step::checkpoint::load_all(layout).unwrap_or_default();
    let problems = match audit::audit(layout, remote, config.tick.claim_lease, now, &checkpoints) {
        Ok(p) => p,
        Err(e) => {
            report.push(
                "claims",
                Severity::Warning,
                format!("could not read the claims on '{remote}' ([tick] remote): {e}"),
                Some(format!(
                    "check that `git fetch {remote}` works from this clone; see docs/scale-out.md"
                )),
            );
            return Ok(());
        }
    };
    if problems.is_empty() {
        report.ok(
            "claims",
            format!("no claim on '{remote}' is stale or without its step"),
        );
    }
    for p in problems {
        match p {
            Problem::Expired {
                bead,
                claim,
                overdue,
            } => report.push(
                "claims",
                Severity::Warning,
                format!(
                    "the claim on {bead} ({}, generation {}) held by {} ran out of its lease \
                     {overdue} s ago: its holder is gone or cut off",
                    claim.step, claim.generation, claim.holder
                ),
                Some(format!(
                    "nothing to do: the next `forge tick` on any clone takes {bead} over with \
                     generation {}; on the holder's clone, its next tick gives the claim up",
                    claim.generation + 1
                )),
            ),
            Problem::Unreadable { bead, commit, why } => report.push(
                "claims",
                Severity::Error,
                format!(
                    "the claim ref refs/forge/claims/{bead} on '{remote}' (at {}) cannot be \
                     read: {why}; every tick skips the bead",
                    &commit[..commit.len().min(12)]
                ),
                Some(format!(
                    "look at it with `git fetch {remote} refs/forge/claims/{bead} && git log \
                     -1 FETCH_HEAD`; if no forge wrote it, delete it on the remote (`git push \
                     {remote} :refs/forge/claims/{bead}`) and the bead is free again"
                )),
            ),
            Problem::Unsettled { bead, claim, local } => {
                let message = format!(
                    "the claim on {bead} on '{remote}' says {} is {}, but here it is {local}: \
                     the remote missed it, so the bead stays held there",
                    claim.step,
                    claim.outcome.map_or("-", State::as_str)
                );
                settle_or_push(
                    ws.as_deref_mut(),
                    report,
                    remote,
                    (&bead, &claim.step, claim.outcome, local),
                    message,
                    "forge doctor --fix (or the next `forge tick` here) settles it".into(),
                )?;
            }
            Problem::NoStep {
                bead,
                claim,
                missing,
            } => {
                let message = format!(
                    "the claim on {bead} on '{remote}' keeps the bead for {} ({}, generation \
                     {}, {}), but the remote lacks {}: nobody can approve it, so the bead \
                     stays held",
                    claim.step,
                    claim.outcome.map_or("-", State::as_str),
                    claim.generation,
                    claim.holder,
                    missing.join(" and ")
                );
                settle_or_push(
                    ws.as_deref_mut(),
                    report,
                    remote,
                    (&bead, &claim.step, claim.outcome, State::Failed),
                    message,
                    format!(
                        "on the holder's clone, `forge tick` publishes it; or `forge doctor \
                         --fix` gives the claim up as failed (any clone may then take {bead})"
                    ),
                )?;
            }
        }
    }
    Ok(())
}

fn settle_or_push(
    ws: Option<&mut Workspace>,
    report: &mut DoctorReport,
    remote: &str,
    (bead, step, from, outcome): (&str, &str, Option<State>, State),
    message: String,
    fix: String,
) -> Result<()> {
    // From the outcome the audit read: a claim that moved since is left to the next look.
    if let Some(ws) = ws
        && let Some(from) = from
        && crate::remote::settle_as(ws, remote, bead, step, from, outcome)?.is_some()
    {
        report.fixed(
            "claims",
            Severity::Error,
            format!("{message}; settled it as {outcome}"),
        );
        return Ok(());
    }
    report.push("claims", Severity::Error, message, Some(fix));
    Ok(())
}
