//! Several machines, one repository: claims on the shared git remote (DESIGN.md §5).
//!
//! A tick with `[tick] remote = "origin"` claims a bead by creating or advancing
//! `refs/forge/claims/<bead>` on that remote with a compare-and-swap push
//! (`--force-with-lease=<ref>:<value this tick read>`, see `git::cli::remote`). There is no
//! server of forge's own: the remote every team already runs is the arbiter, and git's
//! ref update under the lease is the one atomic operation everything rests on.
//!
//! **The record.** A claim ref points at a commit whose tree is empty and whose message
//! carries the claim as one line of JSON ([`Record`]); its parent is the claim's previous
//! commit. So every change to a claim (taken, renewed, released, taken over) is a child of
//! the last, a claim ref only ever moves forward, and the whole history of who held a bead
//! in which generation is on the remote, readable with `git log`, where `forge ledger
//! verify` checks it. A blob would be one object fewer per change, but its history would
//! be gone, and a fetch could not tell a forward move from a rewrite.
//!
//! **Fencing.** Each claim carries a generation: the previous claim's plus one. A holder
//! renews its lease (a new commit with a later expiry, same generation) by compare-and-swap
//! while its step runs; a claim whose lease expired may be taken over by another machine
//! with the next generation. Every update names the commit it replaces, so a holder whose
//! claim was taken over cannot renew or release it: its result is refused, whatever the
//! clocks say. Clocks only decide how soon a dead holder's claim may be taken over.
//!
//! **Results.** A finished step's branch, the `.forge/` files it produced (its checkpoint,
//! its ledger run files) and the claim's release reach the remote in one `git push --atomic`
//! with a lease on each ref (see [`state`] for where `.forge/` changes of many machines
//! meet). The released claim stays: it says which step holds the bead (waiting for
//! approval) or that the bead may be tried again (the step failed).
//!
//! Local copies of the remote's claims live in `refs/forge/remote-claims/<remote>/*` and of
//! its state in `refs/forge/remote-state/<remote>/*`, fetched explicitly (custom refs are
//! never fetched by default), one network operation at a time per clone (concurrent
//! fetches in one clone fail, RELIABILITY.md).

pub mod audit;
pub mod claims;
pub mod holder;
pub mod state;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use claims::{Claims, Released, Settled, Taken, Unreadable};
pub use holder::Holder;

/// Where claims live on the remote.
pub const CLAIMS: &str = "refs/forge/claims/";
/// Where the `.forge/` state of steps released through the remote lives on it, one ref per
/// base branch (`refs/forge/state/main`).
pub const STATE: &str = "refs/forge/state/";

/// The claim record's format version.
pub const RECORD_SCHEMA: u32 = 1;

/// Whether the claim is held by a running step or was given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimState {
    Held,
    Released,
}

/// One claim as the remote has it: the JSON in the claim commit's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub schema: u32,
    pub bead: String,
    pub state: ClaimState,
    /// The fencing generation: the previous claim's plus one.
    pub generation: u64,
    pub holder: Holder,
    /// When the lease runs out (seconds since the epoch, the holder's clock); only
    /// meaningful while held.
    pub expires: i64,
    /// The base commit the step started from.
    pub base: String,
    /// The step this claim runs (`<bead>.<attempt>`).
    pub step: String,
    pub attempt: u32,
    /// Once released: the state the step ended in (`awaiting-approval`, `failed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::step::State>,
    /// Once released with a result: the step branch's head, pushed with the release.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub head: String,
}

impl Record {
    /// The claim commit's message: a readable subject, then the record.
    pub fn message(&self, what: &str) -> String {
        format!(
            "forge claim {}: {what} (generation {})\n\n{}\n",
            self.bead,
            self.generation,
            serde_json::to_string(self).expect("a record serialises")
        )
    }

    /// The record in a claim commit's message body.
    pub fn parse(body: &str) -> Option<Record> {
        let line = body.lines().find(|l| l.trim_start().starts_with('{'))?;
        serde_json::from_str(line).ok()
    }

    /// Whether the bead is someone's at `now`: held under a lease that has not run out,
    /// or released with a step that waits for approval, was approved, or was merged (the
    /// bead is done: a clone whose base branch is behind must not run it again; a
    /// rollback settles the claim as rolled back and frees the bead).
    pub fn keeps_bead(&self, now: i64) -> bool {
        match self.state {
            ClaimState::Held => self.expires > now,
            ClaimState::Released => self.outcome.is_some_and(|o| {
                crate::step::busy::holds_bead(o) || o == crate::step::State::Merged
            }),
        }
    }

    /// Whether its lease ran out at `now` while held: a dead holder, or one cut off.
    pub fn expired(&self, now: i64) -> bool {
        self.state == ClaimState::Held && self.expires <= now
    }

    /// How long ago the lease was last renewed, in seconds (for status): the lease length
    /// minus what is left of it.
    pub fn expires_in(&self, now: i64) -> i64 {
        self.expires - now
    }
}

/// A claim: the record and the commit on the remote that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub commit: String,
    pub record: Record,
}

/// Refuses a remote name forge would put into ref names and refspecs.
pub fn check_remote_name(remote: &str) -> Result<()> {
    let ok = !remote.is_empty()
        && !remote.starts_with(['-', '.'])
        && remote
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage {
            message: format!(
                "remote {remote:?} ([tick] remote or --remote) is not a plain remote name"
            ),
        })
    }
}

/// What a push the remote refused left undone, for its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Take,
    Renew,
    Release,
    Settle,
    Approve,
    Publish,
}

impl Refusal {
    fn consequence(self) -> &'static str {
        match self {
            Refusal::Take => "so nothing was claimed",
            Refusal::Renew => {
                "so the claim's lease was not renewed (the step goes on; once the lease runs \
                 out another clone may take the bead over)"
            }
            Refusal::Release => {
                "so the step's result was not published and its claim stays held (the result \
                 is kept here; the next `forge tick` in this clone releases it)"
            }
            Refusal::Settle => {
                "so the claim still has its old outcome (the next `forge tick` in this clone \
                 settles it)"
            }
            Refusal::Approve => "so the claim was not settled as approved and nothing was merged",
            Refusal::Publish => {
                "so the ledger lines were not published (the next `forge tick` publishes them)"
            }
        }
    }
}

/// The error of a remote that refuses pushes to `refs/forge/*`: names the refspec, what
/// the refusal left undone (`op`) and what to change on the hosting side.
pub fn refused_error(remote: &str, refs: &[(String, String)], op: Refusal) -> Error {
    let what: Vec<String> = refs.iter().map(|(r, why)| format!("{r} ({why})")).collect();
    Error::Refused {
        message: format!(
            "the remote '{remote}' refused the push of {}: forge claims beads and publishes \
             results there, {}",
            what.join(", "),
            op.consequence()
        ),
        hint: format!(
            "let this clone's credentials push to refs/forge/* and refs/heads/forge/* on \
             '{remote}' (GitHub: a ruleset or branch protection that covers them, or a token \
             without `contents: write`; GitLab: protected branches and push rules; a server \
             hook: its update or pre-receive hook). Check with `git push {remote} \
             HEAD:refs/forge/check && git push {remote} :refs/forge/check`; see \
             docs/scale-out.md"
        ),
    }
}

/// One claim on the remote as `forge status` and `forge watch` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimView {
    pub bead: String,
    pub step: String,
    pub state: ClaimState,
    pub generation: u64,
    pub holder: Holder,
    /// Seconds left of the lease (negative: run out) while held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_left: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::step::State>,
}

/// The remote's claims (fetched first), held ones first: what `forge status` shows.
pub fn overview(layout: &crate::store::Layout, remote: &str, now: i64) -> Result<Vec<ClaimView>> {
    fetch_claims(layout, remote)?;
    overview_fetched(layout, remote, now)
}

/// Brings this clone's copy of the remote's claims (and states) up to date.
pub fn fetch_claims(layout: &crate::store::Layout, remote: &str) -> Result<()> {
    Claims::new(layout, remote, 1)?.fetch()
}

/// The remote's claims as last fetched (no network), held ones first: the one reading
/// `forge status` and `forge watch` share.
pub fn overview_fetched(
    layout: &crate::store::Layout,
    remote: &str,
    now: i64,
) -> Result<Vec<ClaimView>> {
    let claims = Claims::new(layout, remote, 1)?;
    let mut out: Vec<ClaimView> = claims
        .read()?
        .into_values()
        .map(|c| ClaimView {
            lease_left: (c.record.state == ClaimState::Held).then(|| c.record.expires_in(now)),
            bead: c.record.bead,
            step: c.record.step,
            state: c.record.state,
            generation: c.record.generation,
            holder: c.record.holder,
            outcome: c.record.outcome,
        })
        .collect();
    out.sort_by_key(|v| (v.state != ClaimState::Held, v.bead.clone()));
    Ok(out)
}

/// Whether a step going from `from` to `to` changes what its released claim says of the
/// bead: it leaves the wait for approval (merged, rejected, rolled back, sent back or
/// failed), or a merged step is rolled back. Merged is final but for a rollback: a
/// rejection or failure seen elsewhere never turns a merged claim back into a free bead.
pub fn settles(from: crate::step::State, to: crate::step::State) -> bool {
    use crate::step::State as S;
    match from {
        S::AwaitingApproval | S::Approved => {
            matches!(to, S::Merged | S::Rejected | S::RolledBack | S::Failed)
        }
        S::Merged => to == S::RolledBack,
        _ => false,
    }
}

/// Whether a claim the remote has released with outcome `remote` may be settled by a
/// step that went from `from`: the remote says what the step left (waiting for approval
/// and approved are one stage: an approval outside a remote leaves the claim waiting).
pub fn settles_from(remote: crate::step::State, from: crate::step::State) -> bool {
    use crate::step::State as S;
    let waiting = |s| matches!(s, S::AwaitingApproval | S::Approved);
    remote == from || (waiting(remote) && waiting(from))
}

/// Settles the claim on `cp`'s bead on `remote` with `cp`'s state, when the claim is the
/// released one of `cp`'s step (see [`Claims::settle`]), and records `claim.released`
/// with the new outcome. Returns the new claim; None when there was nothing to change.
pub fn settle_on(
    ws: &mut crate::workspace::Workspace,
    remote: &str,
    from: crate::step::State,
    cp: &crate::step::Checkpoint,
) -> Result<Option<Claim>> {
    settle_as(ws, remote, &cp.bead, &cp.step, from, cp.state)
}

/// Settles the released claim on `bead` naming `step` from `from` to `outcome` on
/// `remote` and records `claim.released`; None when there was nothing to change (the
/// remote's claim says something other than `from`, see [`Claims::settle`]).
pub fn settle_as(
    ws: &mut crate::workspace::Workspace,
    remote: &str,
    bead: &str,
    step: &str,
    from: crate::step::State,
    outcome: crate::step::State,
) -> Result<Option<Claim>> {
    let claims = Claims::new(&ws.layout, remote, ws.config.tick.claim_lease)?;
    let Settled::Settled(claim) = claims.settle(bead, step, from, outcome)? else {
        return Ok(None);
    };
    ws.record(crate::ledger::Payload::ClaimReleased {
        bead: bead.to_owned(),
        step: step.to_owned(),
        remote: remote.to_owned(),
        generation: claim.record.generation,
        outcome: Some(outcome),
        head: claim.record.head.clone(),
        parent: claims.parent(&claim.commit),
        commit: claim.commit.clone(),
    })?;
    Ok(Some(claim))
}

/// After `cp` went from `from` to its state: with `[tick] remote` set and a change that
/// [`settles`] the claim, settles it on the remote. A remote that cannot be reached
/// changes nothing here: the next `forge tick` in this clone settles it (and `forge
/// doctor` names the claim until then).
pub fn settle_after(
    ws: &mut crate::workspace::Workspace,
    from: crate::step::State,
    cp: &crate::step::Checkpoint,
) -> Result<Option<Claim>> {
    let Some(remote) = ws.config.tick.remote.clone() else {
        return Ok(None);
    };
    if !settles(from, cp.state) {
        return Ok(None);
    }
    settle_on(ws, &remote, from, cp)
}

/// With `[tick] remote` set: refuses to approve `cp` unless it is the result the bead's
/// claim on the remote holds now: the claim names `cp`'s step, was released (a claim still
/// held may be taken over once its lease runs out, and its bead run again after the
/// merge), waits for approval, and its head is `cp`'s. A step whose claim was taken over
/// by a newer generation is never approved, whatever its own files say (its work stays in
/// the attic); a bead the remote has no claim on (steps run by hand) is not affected.
/// A remote out of reach refuses too. Returns the claim to settle as approved (see
/// [`approve_claim`]) before merging.
pub fn check_approvable(
    ws: &crate::workspace::Workspace,
    cp: &crate::step::Checkpoint,
) -> Result<Option<Claim>> {
    use crate::step::State as S;
    let Some(remote) = ws.config.tick.remote.as_deref() else {
        return Ok(None);
    };
    let claims = Claims::new(&ws.layout, remote, ws.config.tick.claim_lease)?;
    claims.fetch()?;
    let Some(current) = claims.read_one(&cp.bead)? else {
        return Ok(None);
    };
    let r = &current.record;
    if r.step != cp.step {
        return Err(Error::Refused {
            message: format!(
                "{} is not the result the claim on {} holds: the remote '{remote}' has it in \
                 generation {} for {} ({}), so this step's claim was taken over",
                cp.step, cp.bead, r.generation, r.step, r.holder
            ),
            hint: format!(
                "nothing was merged; review {} instead (its work is kept in \
                 refs/forge/attic/{} where forge saved it)",
                r.step, cp.step
            ),
        });
    }
    if r.state == ClaimState::Held {
        return Err(Error::Refused {
            message: format!(
                "the claim on {} on '{remote}' is still held by {} (generation {}): the \
                 release of {} never reached the remote, and approving it now would let \
                 another clone take the bead over and run it again",
                cp.bead, r.holder, r.generation, cp.step
            ),
            hint: "nothing was merged; run `forge tick` (on the clone that ran it) to release \
                   it first, then approve"
                .into(),
        });
    }
    let waiting = r
        .outcome
        .is_some_and(|o| matches!(o, S::AwaitingApproval | S::Approved));
    if !waiting || r.head != cp.head {
        return Err(Error::Refused {
            message: format!(
                "the claim on {} on '{remote}' says {} is {} at {}, not waiting for approval \
                 at {}: the remote has another result for it",
                cp.bead,
                r.step,
                r.outcome.map_or("-", crate::step::State::as_str),
                if r.head.is_empty() {
                    "(no commit)"
                } else {
                    &r.head
                },
                cp.head
            ),
            hint: format!(
                "nothing was merged; `forge status` shows the remote's claim on {}; if its \
                 release is still to come, run `forge tick` (on the clone that ran it) to \
                 release it first",
                cp.bead
            ),
        });
    }
    Ok(Some(current))
}

/// Settles `claim` (from [`check_approvable`]) as approved on the remote, by
/// compare-and-swap on exactly that commit, and records `claim.released` with the new
/// outcome. Refuses, so that nothing is merged, when the claim moved since.
pub fn approve_claim(ws: &mut crate::workspace::Workspace, claim: &Claim) -> Result<()> {
    let Some(remote) = ws.config.tick.remote.clone() else {
        return Ok(());
    };
    let claims = Claims::new(&ws.layout, &remote, ws.config.tick.claim_lease)?;
    let Some(done) = claims.approve(claim)? else {
        return Err(Error::Refused {
            message: format!(
                "the claim on {} on '{remote}' changed while {} was being approved (another \
                 clone approved, rejected or took it over)",
                claim.record.bead, claim.record.step
            ),
            hint: "nothing was merged; see `forge status`, then approve again if it still \
                   waits"
                .into(),
        });
    };
    ws.record(crate::ledger::Payload::ClaimReleased {
        bead: done.record.bead.clone(),
        step: done.record.step.clone(),
        remote,
        generation: done.record.generation,
        outcome: done.record.outcome,
        head: done.record.head.clone(),
        parent: claims.parent(&done.commit),
        commit: done.commit.clone(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            schema: RECORD_SCHEMA,
            bead: "fg-3k9x".into(),
            state: ClaimState::Held,
            generation: 2,
            holder: Holder {
                host: "h".into(),
                clone: "c".into(),
                pid: 7,
            },
            expires: 100,
            base: "a".repeat(40),
            step: "fg-3k9x.2".into(),
            attempt: 2,
            outcome: None,
            head: String::new(),
        }
    }

    #[test]
    fn a_record_survives_its_commit_message() {
        let r = record();
        let message = r.message("taken");
        let body = message.split_once("\n\n").unwrap().1;
        assert_eq!(Record::parse(body), Some(r));
        assert!(message.starts_with("forge claim fg-3k9x: taken (generation 2)"));
    }

    #[test]
    fn a_held_claim_keeps_its_bead_until_its_lease_runs_out() {
        let mut r = record();
        assert!(r.keeps_bead(99) && !r.expired(99));
        assert!(!r.keeps_bead(100) && r.expired(100));
        r.state = ClaimState::Released;
        r.outcome = Some(crate::step::State::AwaitingApproval);
        assert!(r.keeps_bead(1_000) && !r.expired(1_000));
        r.outcome = Some(crate::step::State::Merged);
        assert!(r.keeps_bead(1_000), "a merged bead is done");
        for ended in [
            crate::step::State::Failed,
            crate::step::State::Rejected,
            crate::step::State::RolledBack,
        ] {
            r.outcome = Some(ended);
            assert!(!r.keeps_bead(0), "{ended}");
        }
    }

    #[test]
    fn only_leaving_the_wait_for_approval_or_a_rolled_back_merge_settles_a_claim() {
        use crate::step::State as S;
        for (from, to) in [
            (S::AwaitingApproval, S::Rejected),
            (S::AwaitingApproval, S::RolledBack),
            (S::AwaitingApproval, S::Failed), // sent back by the merge queue
            (S::Approved, S::Merged),
            (S::Approved, S::Failed),
            (S::Merged, S::RolledBack),
        ] {
            assert!(settles(from, to), "{from} -> {to}");
        }
        for (from, to) in [
            (S::Running, S::Failed),
            (S::Checking, S::AwaitingApproval),
            (S::AwaitingApproval, S::Approved),
            (S::Merged, S::Merged),
            (S::Merged, S::Rejected),
            (S::Merged, S::Failed),
        ] {
            assert!(!settles(from, to), "{from} -> {to}");
        }
    }

    #[test]
    fn a_refused_push_says_what_it_left_undone_for_each_operation() {
        let refs = [("refs/forge/claims/x".to_owned(), "hook declined".to_owned())];
        let text = |op| refused_error("origin", &refs, op).to_string();
        assert!(text(Refusal::Take).contains("nothing was claimed"));
        for op in [
            Refusal::Renew,
            Refusal::Release,
            Refusal::Settle,
            Refusal::Approve,
            Refusal::Publish,
        ] {
            assert!(!text(op).contains("nothing was claimed"), "{op:?}");
        }
        assert!(text(Refusal::Release).contains("result was not published"));
        assert!(text(Refusal::Approve).contains("nothing was merged"));
    }

    #[test]
    fn remote_names_that_could_be_options_or_paths_are_refused() {
        assert!(check_remote_name("origin").is_ok());
        assert!(check_remote_name("my-remote.2").is_ok());
        for bad in ["", "-x", "a/b", "a b", "..", "a:b"] {
            assert!(check_remote_name(bad).is_err(), "{bad}");
        }
    }
}
