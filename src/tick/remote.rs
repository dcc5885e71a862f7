//! A tick on a shared remote (`[tick] remote`, `forge tick --remote`): every step runs
//! under a claim on the remote (see `crate::remote`), so that ticks on several machines
//! never run a bead twice and never lose a result.
//!
//! - Before a step starts, the tick fetches the remote's claims, leaves out every bead a
//!   claim keeps, and takes the claim on the one it picked (a lost race: it picks again).
//! - While the step runs, a heartbeat thread renews the claim every third of its lease.
//!   A renewal that finds the claim taken over stops the step as a pause would (it ends
//!   interrupted, its work committed); its result is then refused.
//! - After the step, the step branch, its checkpoint and ledger file, and the release go
//!   to the remote in one atomic push. A release the remote refuses because the claim was
//!   taken over leaves the step's work in the attic, fails the step locally if it waited
//!   for approval, and records `claim.lost`.
//! - A claim whose step died with its process (`kill -9`, a reboot) is released by this
//!   clone's next tick (after the step was reclaimed, its work in the attic), or refused
//!   as above if another machine took it over meanwhile.
//! - A released claim whose step this clone saw end since (approved and merged, rejected,
//!   rolled back, sent back) but whose claim could not be settled then is settled at the
//!   start of the next tick, so the bead is not held on the remote forever.
//! - At the end of the tick, the ledger lines recorded after the last release are
//!   published to the state ref.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ledger::Payload;
use crate::remote::claims::{Outcome, Released, Renewed, Taken};
use crate::remote::{Claim, Claims};
use crate::step::checkpoint::{self, State};
use crate::step::{Observer, StepOptions, StepOutcome};
use crate::workspace::Workspace;

/// The remote a tick claims on, and what it published.
pub struct Scale {
    pub remote: String,
    pub lease: u64,
    /// `.forge/` files to publish at the end of the tick (relative to the working tree).
    files: Mutex<BTreeSet<String>>,
    /// Warnings for the tick's report: claims on the remote it could not read.
    warnings: Mutex<BTreeSet<String>>,
}

/// What this clone remembers of a claim it holds, in `claims/<bead>.json` in the runtime
/// dir, from the moment the remote accepted it until it is released: how a tick after a
/// crash finds the claims its dead predecessor held.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    remote: String,
    commit: String,
    record: crate::remote::Record,
}

impl Scale {
    pub fn new(remote: String, lease: u64) -> Result<Scale> {
        crate::remote::check_remote_name(&remote)?;
        Ok(Scale {
            remote,
            lease,
            files: Mutex::new(BTreeSet::new()),
            warnings: Mutex::new(BTreeSet::new()),
        })
    }

    fn claims<'a>(&self, ws: &'a Workspace) -> Result<Claims<'a>> {
        Claims::new(&ws.layout, &self.remote, self.lease)
    }

    fn publish_later(&self, ws: &Workspace, files: &[String]) {
        let mut set = self.files.lock().unwrap_or_else(|e| e.into_inner());
        set.extend(files.iter().cloned());
        set.extend(crate::remote::state::relative(&ws.layout, ws.ledger_path()));
    }

    /// The beads the remote's claims keep from this clone now (after a fetch).
    pub fn busy(&self, ws: &Workspace) -> Result<HashSet<String>> {
        let claims = self.claims(ws)?;
        claims.fetch()?;
        let now = ws.clock.now_secs();
        let mut busy: HashSet<String> = claims
            .read()?
            .into_iter()
            .filter(|(_, c)| c.record.keeps_bead(now))
            .map(|(bead, _)| bead)
            .collect();
        // A claim ref forge cannot read is not a free bead: taking it would lose every
        // race against a ref that is there. Skipped, and said.
        for u in claims.unreadable()? {
            self.warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(format!(
                    "skipped {}: its claim on '{}' (refs/forge/claims/{} at {}) cannot be \
                     read: {}; see `forge doctor`",
                    u.bead,
                    self.remote,
                    u.bead,
                    &u.commit[..u.commit.len().min(12)],
                    u.why
                ));
            busy.insert(u.bead);
        }
        Ok(busy)
    }

    /// What the tick should warn of (claims it could not read), once each.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Takes the claim on `bead` for the next step, recording it in `ws`'s ledger; None
    /// when another machine holds the bead or won the race for it.
    pub fn take(&self, ws: &mut Workspace, bead: &str) -> Result<Option<Claim>> {
        let claims = self.claims(ws)?;
        let earlier = checkpoint::of_bead(&ws.layout, bead)?;
        let attempt = crate::step::choose::next_attempt(ws, bead, &earlier)?;
        let (_, base) = crate::step::choose::base_to_start_from(ws)?;
        let prev = claims.read_one(bead)?;
        let claim = match claims.take(bead, attempt, &base, ws.clock.now_secs())? {
            Taken::Taken(claim) => claim,
            Taken::Busy(_) | Taken::Lost => return Ok(None),
        };
        remember(ws, &self.remote, &claim)?;
        let r = &claim.record;
        ws.record(Payload::ClaimTaken {
            bead: bead.to_owned(),
            step: r.step.clone(),
            remote: self.remote.clone(),
            generation: r.generation,
            holder: r.holder.to_string(),
            expires: crate::clock::format_rfc3339(r.expires),
            base: r.base.clone(),
            parent: claims.parent(&claim.commit),
            commit: claim.commit.clone(),
            took_over: prev
                .filter(|p| p.record.state == crate::remote::ClaimState::Held)
                .map(|p| format!("{} (generation {})", p.record.holder, p.record.generation)),
        })?;
        Ok(Some(claim))
    }

    /// Runs `work` (the step) under `claim`, renewing it while it runs, then releases it
    /// with the result, or refuses the result if the claim was lost.
    pub fn run(
        &self,
        ws: &mut Workspace,
        claim: Claim,
        observer: &mut dyn Observer,
        work: impl FnOnce(&mut Workspace, &StepOptions, &mut dyn Observer) -> Result<StepOutcome>,
        opts: &StepOptions,
    ) -> Result<StepOutcome> {
        let stop = Arc::new(AtomicBool::new(false));
        let outer = observer.stop_flag();
        let done = AtomicBool::new(false);
        let current = Mutex::new(claim.clone());
        let lost: Mutex<Option<Option<Claim>>> = Mutex::new(None);
        let layout = ws.layout.clone();
        let clock = ws.clock.clone();
        let every = Duration::from_millis((self.lease * 1000 / 3).max(200));
        let opts = StepOptions {
            attempt: Some(claim.record.attempt),
            ..opts.clone()
        };
        let outcome = std::thread::scope(|scope| {
            scope.spawn(|| {
                let Ok(claims) = Claims::new(&layout, &self.remote, self.lease) else {
                    return;
                };
                let mut last = Instant::now();
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                    if outer.as_ref().is_some_and(|o| o.load(Ordering::Relaxed)) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if last.elapsed() < every {
                        continue;
                    }
                    last = Instant::now();
                    let held = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    // A renewal that fails for want of the network is tried again: only a
                    // claim seen taken over stops the step.
                    match claims.renew(&held, clock.now_secs()) {
                        Ok(Renewed::Renewed(c)) => {
                            // What a tick after a crash recovers from: the newest commit.
                            let _ = remember_at(&layout, &self.remote, &c);
                            *current.lock().unwrap_or_else(|e| e.into_inner()) = c;
                        }
                        Ok(Renewed::Again) => {}
                        Ok(Renewed::Lost(by)) => {
                            *lost.lock().unwrap_or_else(|e| e.into_inner()) = Some(by);
                            stop.store(true, Ordering::Relaxed);
                            return;
                        }
                        Err(_) => {}
                    }
                }
            });
            let mut fenced = crate::step::observer::Stopping {
                inner: observer,
                stop: stop.clone(),
            };
            let outcome = work(ws, &opts, &mut fenced);
            done.store(true, Ordering::Relaxed);
            outcome
        })?;
        let held = current.into_inner().unwrap_or_else(|e| e.into_inner());
        let lost = lost.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut cp = outcome.checkpoint.clone();
        let files = step_files(ws, &cp);
        if let Some(by) = lost {
            self.refuse(ws, &held, &mut cp, by)?;
        } else {
            self.release(ws, &held, &mut cp, &files)?;
        }
        self.publish_later(ws, &files);
        Ok(StepOutcome {
            checkpoint: cp,
            ..outcome
        })
    }

    /// Releases `claim` with `cp`'s result (or refuses it if the claim was taken over).
    fn release(
        &self,
        ws: &mut Workspace,
        claim: &Claim,
        cp: &mut checkpoint::Checkpoint,
        files: &[String],
    ) -> Result<()> {
        let claims = self.claims(ws)?;
        let branch = format!("refs/heads/{}", cp.branch);
        let with_result = cp.state == State::AwaitingApproval && !cp.head.is_empty();
        let base_branch = cp.base_ref.trim_start_matches("refs/heads/").to_owned();
        let outcome = Outcome {
            state: cp.state,
            branch: with_result.then_some((branch.as_str(), cp.head.as_str())),
            files,
            base_branch: &base_branch,
            base_commit: &cp.base_commit,
        };
        match claims.release(claim, &outcome)? {
            Released::Released { claim: done, .. } => {
                forget(ws, &claim.record.bead);
                ws.record(Payload::ClaimReleased {
                    bead: claim.record.bead.clone(),
                    step: claim.record.step.clone(),
                    remote: self.remote.clone(),
                    generation: claim.record.generation,
                    // The remote's: a release that landed before a crash may have been
                    // settled elsewhere since.
                    outcome: done.record.outcome.or(Some(cp.state)),
                    head: done.record.head,
                    parent: claims.parent(&done.commit),
                    commit: done.commit,
                })?;
                Ok(())
            }
            Released::Lost(by) => self.refuse(ws, claim, cp, by),
        }
    }

    /// The claim was taken over: the step's work goes to the attic, a step waiting for
    /// approval fails (its result is not the bead's any more), `claim.lost` is recorded.
    fn refuse(
        &self,
        ws: &mut Workspace,
        claim: &Claim,
        cp: &mut checkpoint::Checkpoint,
        by: Option<Claim>,
    ) -> Result<()> {
        let worktree = ws.layout.step_worktree(&cp.worktree);
        let attic = if worktree.is_dir() {
            crate::step::gc::save_to_attic(&ws.layout, cp).ok()
        } else {
            None
        };
        let (by_generation, by_holder) = match &by {
            Some(c) => (Some(c.record.generation), c.record.holder.to_string()),
            None => (None, String::new()),
        };
        ws.record(Payload::ClaimLost {
            bead: claim.record.bead.clone(),
            step: cp.step.clone(),
            remote: self.remote.clone(),
            generation: claim.record.generation,
            by_generation,
            by: by_holder.clone(),
            attic: attic.clone(),
        })?;
        // Stopped by the lost renewal (interrupted), or done: either way, not the bead's.
        if matches!(cp.state, State::AwaitingApproval | State::Interrupted) || cp.state.is_active()
        {
            let reason = format!(
                "the claim on {} (generation {}) was taken over by generation {} ({}) while \
                 this step ran: its result is refused; its work is in refs/forge/attic/{}",
                cp.bead,
                claim.record.generation,
                by_generation.map_or_else(|| "?".to_owned(), |g| g.to_string()),
                by_holder,
                cp.step
            );
            checkpoint::fail(ws, cp, reason, &mut ())?;
        }
        forget(ws, &claim.record.bead);
        Ok(())
    }

    /// Claims a dead process of this clone held: released with what its step left (reclaimed
    /// already, its work in the attic), or refused if another machine took them over.
    pub fn recover(&self, ws: &mut Workspace) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let dir = ws.layout.runtime.join("claims");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(out);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(held) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Held>(&b).ok())
            else {
                let _ = std::fs::remove_file(&path);
                continue;
            };
            if held.remote != self.remote
                || crate::step::lease::is_held(&ws.layout, &held.record.bead)
            {
                continue;
            }
            let claim = Claim {
                commit: held.commit,
                record: held.record,
            };
            let step = claim.record.step.clone();
            let Ok(mut cp) = checkpoint::load_step(&ws.layout, &step) else {
                // The step never started: give the claim back as failed.
                let files = Vec::new();
                let (base_branch, _) = crate::step::choose::base_to_start_from(ws)?;
                let outcome = Outcome {
                    state: State::Failed,
                    branch: None,
                    files: &files,
                    base_branch: &base_branch,
                    base_commit: &claim.record.base,
                };
                if let Released::Released { .. } = self.claims(ws)?.release(&claim, &outcome)? {
                    out.push(step);
                }
                forget(ws, &claim.record.bead);
                continue;
            };
            if cp.step != step {
                forget(ws, &claim.record.bead);
                continue;
            }
            let files = step_files(ws, &cp);
            self.release(ws, &claim, &mut cp, &files)?;
            self.publish_later(ws, &files);
            out.push(step);
        }
        Ok(out)
    }

    /// Settles the remote's released claims whose step this clone knows to have ended
    /// since (merged, rejected, rolled back, sent back) where settling it at the time did
    /// not reach the remote (see `crate::remote::settle_after`). Returns the steps settled.
    pub fn reconcile(&self, ws: &mut Workspace) -> Result<Vec<String>> {
        let claims = self.claims(ws)?;
        claims.fetch()?;
        let Ok(steps) = checkpoint::load_all(&ws.layout) else {
            return Ok(Vec::new()); // a broken checkpoint is doctor's to report
        };
        let mut out = Vec::new();
        for (_, c) in claims.read()? {
            let r = &c.record;
            let Some(cp) = steps.iter().find(|s| s.step == r.step && s.bead == r.bead) else {
                continue;
            };
            let stale = r.state == crate::remote::ClaimState::Released
                && r.outcome
                    .is_some_and(|o| crate::remote::settles(o, cp.state));
            if stale
                && let Some(from) = r.outcome
                && crate::remote::settle_on(ws, &self.remote, from, cp)?.is_some()
            {
                out.push(cp.step.clone());
            }
        }
        Ok(out)
    }

    /// Publishes what the tick recorded after its last release (its own ledger lines).
    pub fn publish(&self, ws: &Workspace) -> Result<()> {
        let mut files: Vec<String> = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        files.extend(crate::remote::state::relative(&ws.layout, ws.ledger_path()));
        if files.is_empty() {
            return Ok(());
        }
        let Ok((base_branch, base_commit)) = crate::step::choose::base_to_start_from(ws) else {
            return Ok(());
        };
        self.claims(ws)?
            .publish(&files, &base_branch, &base_commit)?;
        Ok(())
    }
}

/// The `.forge/` files a step produced: its checkpoint and this run's ledger file.
fn step_files(ws: &Workspace, cp: &checkpoint::Checkpoint) -> Vec<String> {
    let checkpoint: PathBuf = ws.layout.checkpoints().join(format!("{}.toml", cp.step));
    [checkpoint.as_path(), ws.ledger_path()]
        .into_iter()
        .filter_map(|p| crate::remote::state::relative(&ws.layout, p))
        .collect()
}

fn held_path(ws: &Workspace, bead: &str) -> PathBuf {
    held_path_at(&ws.layout, bead)
}

fn held_path_at(layout: &crate::store::Layout, bead: &str) -> PathBuf {
    layout.runtime.join("claims").join(format!("{bead}.json"))
}

fn remember(ws: &Workspace, remote: &str, claim: &Claim) -> Result<()> {
    remember_at(&ws.layout, remote, claim)
}

fn remember_at(layout: &crate::store::Layout, remote: &str, claim: &Claim) -> Result<()> {
    let path = held_path_at(layout, &claim.record.bead);
    let dir = path.parent().expect("in a directory");
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let held = Held {
        remote: remote.to_owned(),
        commit: claim.commit.clone(),
        record: claim.record.clone(),
    };
    crate::store::atomic::atomic_write(
        &path,
        &serde_json::to_vec(&held).expect("a claim serialises"),
    )
}

fn forget(ws: &Workspace, bead: &str) {
    let _ = std::fs::remove_file(held_path(ws, bead));
}
