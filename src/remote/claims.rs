//! Taking, renewing and releasing claims on the remote, each a compare-and-swap push.
//!
//! Every network operation of a clone runs under its remote lock (`remote.lock` in the
//! runtime dir): two fetches at once in one clone fail (`cannot lock ref`), and the state a
//! release builds on must be the one it fetched.

use std::collections::BTreeMap;

use super::{
    CLAIMS, Claim, ClaimState, Holder, RECORD_SCHEMA, Record, Refusal, STATE, refused_error,
};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::git::cli::remote::{LeasedUpdate, Pushed};
use crate::step::State;
use crate::store::{Layout, StoreLock};

/// Claims on one remote, seen from one clone.
pub struct Claims<'a> {
    layout: &'a Layout,
    remote: String,
    /// For fetch and push: the user's git configuration applies (credentials, ssh).
    net: Git,
    /// For objects and local refs: hooks and filters off.
    local: Git,
    /// Seconds a lease lasts from its last renewal.
    lease: i64,
}

/// What taking a claim came to.
#[derive(Debug, Clone)]
pub enum Taken {
    Taken(Claim),
    /// Someone holds the bead (a live lease, or a released step waiting for approval).
    Busy(Claim),
    /// Another clone changed the claim between this clone's fetch and its push: it won.
    Lost,
}

/// What renewing a claim came to.
#[derive(Debug, Clone)]
pub enum Renewed {
    Renewed(Claim),
    /// The remote did not take the renewal, but the claim is still this holder's (a push
    /// refused for another reason, `cannot lock ref` on the server): try again later.
    Again,
    /// The claim is no longer this holder's: `Some` says whose it is now.
    Lost(Option<Claim>),
}

/// What releasing a claim came to.
#[derive(Debug, Clone)]
pub enum Released {
    /// The claim, the result branch and the state went to the remote together.
    Released { claim: Claim, state: Option<String> },
    /// The claim was taken over: the result is refused (kept locally, in the attic).
    Lost(Option<Claim>),
}

/// What settling a released claim with its step's new outcome came to.
#[derive(Debug, Clone)]
pub enum Settled {
    /// The claim now carries the new outcome.
    Settled(Claim),
    /// Nothing to change: the claim has that outcome already, is held by a running step,
    /// or names another step (it was taken over); `None`: the remote has no claim.
    Unchanged(Option<Claim>),
}

/// A step's result to release with its claim.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub state: State,
    /// The step branch (`refs/heads/forge/<bead>/<n>`) and its head, when the step left
    /// a commit worth publishing.
    pub branch: Option<(&'a str, &'a str)>,
    /// `.forge/` files (relative to the working tree) the step produced.
    pub files: &'a [String],
    /// The base branch (`main`), naming the state ref the files go to.
    pub base_branch: &'a str,
    pub base_commit: &'a str,
}

/// A claim ref on the remote that holds no claim forge can read: its message is not a
/// claim record, the record names another bead, or its name is not a bead id. Its bead is
/// left alone (skipped by ticks, named by `forge doctor`) until a person looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The ref's name under `refs/forge/claims/`.
    pub bead: String,
    pub commit: String,
    pub why: String,
}

/// The claim ref of `bead` on the remote. A bead id is always one plain ref component
/// (`fg-` and lower-case base36, see `crate::bead::id`); anything else is refused rather
/// than put into a ref name, where `:`, `..`, `^` or `*` break the push and `x` vs `x/y`
/// collide.
pub fn claim_ref(bead: &str) -> Result<String> {
    if crate::bead::id::is_valid(bead) {
        return Ok(format!("{CLAIMS}{bead}"));
    }
    Err(Error::Refused {
        message: format!(
            "bead id {bead:?} cannot name a claim on the remote: a bead id must be 'fg-' and \
             lower-case letters and digits, one plain ref name"
        ),
        hint: "nothing was pushed; forge's own beads always have such ids: `forge doctor` \
               names a bead file with another id, and `forge import` gives imported beads \
               forge ids"
            .into(),
    })
}

/// How often a release retries when only the shared state moved under it.
const RELEASE_TRIES: u32 = 40;

impl<'a> Claims<'a> {
    pub fn new(layout: &'a Layout, remote: &str, lease_secs: u64) -> Result<Claims<'a>> {
        super::check_remote_name(remote)?;
        Ok(Claims {
            layout,
            remote: remote.to_owned(),
            net: Git::new(&layout.root),
            local: Git::new(&layout.root).hardened(),
            lease: i64::try_from(lease_secs).unwrap_or(i64::MAX / 2),
        })
    }

    pub fn remote(&self) -> &str {
        &self.remote
    }

    fn lock(&self) -> Result<StoreLock> {
        let dir = &self.layout.runtime;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        StoreLock::acquire(&dir.join("remote.lock"))
    }

    /// The local copy of the remote's claim on `bead`.
    pub fn local_ref(&self, bead: &str) -> String {
        format!("refs/forge/remote-claims/{}/{bead}", self.remote)
    }

    fn local_state_ref(&self, base_branch: &str) -> String {
        format!("refs/forge/remote-state/{}/{base_branch}", self.remote)
    }

    /// Brings the local copies of the remote's claims and states up to date.
    pub fn fetch(&self) -> Result<()> {
        let _lock = self.lock()?;
        self.fetch_locked()
    }

    fn fetch_locked(&self) -> Result<()> {
        let r = &self.remote;
        // No `+`: claims and states only ever move forward (each change is a child of the
        // last), so a rewritten one fails the fetch instead of being believed.
        let specs = vec![
            format!("{CLAIMS}*:refs/forge/remote-claims/{r}/*"),
            format!("{STATE}*:refs/forge/remote-state/{r}/*"),
        ];
        self.net.fetch(r, &specs, true).map_err(|e| match e {
            Error::GitCommand { command, message } => Error::GitCommand {
                command,
                message: format!(
                    "{message}\n(forge fetches claims from the remote '{r}' named by [tick] \
                     remote or --remote)"
                ),
            },
            e => e,
        })
    }

    /// Every claim, as last fetched.
    pub fn read(&self) -> Result<BTreeMap<String, Claim>> {
        let prefix = format!("refs/forge/remote-claims/{}/", self.remote);
        let mut out = BTreeMap::new();
        for (name, commit, body) in self.local.refs_with_bodies(&prefix)? {
            let bead = name.trim_start_matches(&prefix).to_owned();
            // Refs that hold no claim of their bead are `unreadable`'s to report.
            if let Some(record) = Record::parse(&body).filter(|r| r.bead == bead) {
                out.insert(bead, Claim { commit, record });
            }
        }
        Ok(out)
    }

    /// The claim refs, as last fetched, that hold no claim forge can read (see
    /// [`Unreadable`]).
    pub fn unreadable(&self) -> Result<Vec<Unreadable>> {
        let prefix = format!("refs/forge/remote-claims/{}/", self.remote);
        let mut out = Vec::new();
        for (name, commit, body) in self.local.refs_with_bodies(&prefix)? {
            let bead = name.trim_start_matches(&prefix).to_owned();
            let why = match Record::parse(&body) {
                _ if !crate::bead::id::is_valid(&bead) => "its name is not a bead id".to_owned(),
                None => "its commit message holds no claim record (JSON)".to_owned(),
                Some(r) if r.bead != bead => format!("its record names bead {:?}", r.bead),
                Some(_) => continue,
            };
            out.push(Unreadable { bead, commit, why });
        }
        Ok(out)
    }

    /// The remote's step branches (`refs/heads/forge/*`) and their heads, asked of the
    /// remote now.
    pub fn remote_branches(&self) -> Result<BTreeMap<String, String>> {
        let _lock = self.lock()?;
        Ok(self
            .net
            .ls_remote(&self.remote, "refs/heads/forge/*")?
            .into_iter()
            .collect())
    }

    /// Whether `path` is in one of the remote's state refs, as last fetched.
    pub fn in_state(&self, path: &str) -> Result<bool> {
        let prefix = format!("refs/forge/remote-state/{}/", self.remote);
        let specs: Vec<String> = self
            .local
            .refs_with_bodies(&prefix)?
            .into_iter()
            .map(|(name, _, _)| format!("{name}:{path}"))
            .collect();
        Ok(self
            .local
            .cat_file_batch(&specs)?
            .iter()
            .any(Option::is_some))
    }

    /// The claim on `bead`, as last fetched.
    pub fn read_one(&self, bead: &str) -> Result<Option<Claim>> {
        let name = self.local_ref(bead);
        let Ok(commit) = self.local.rev_parse(&name) else {
            return Ok(None);
        };
        let body = self.local.run(&["log", "-1", "--format=%b", &commit])?;
        Ok(Record::parse(&body).map(|record| Claim { commit, record }))
    }

    /// The claim commit `commit` replaced (its parent), if it has one: for the ledger.
    pub fn parent(&self, commit: &str) -> String {
        self.local
            .rev_parse(&format!("{commit}^"))
            .unwrap_or_default()
    }

    /// Every claim in the history of `claim` (itself first), for verification.
    pub fn history(&self, claim: &Claim) -> Result<Vec<Claim>> {
        Ok(self
            .local
            .first_parent_bodies(&claim.commit)?
            .into_iter()
            .filter_map(|(commit, body)| {
                Record::parse(&body).map(|record| Claim { commit, record })
            })
            .collect())
    }

    fn commit(&self, record: &Record, parent: Option<&str>, what: &str) -> Result<String> {
        let tree = self.local.empty_tree()?;
        let parents: Vec<&str> = parent.into_iter().collect();
        self.local
            .as_forge("forge")
            .commit_tree(&tree, &parents, &record.message(what))
    }

    fn remember(&self, bead: &str, commit: &str) -> Result<()> {
        self.local.update_ref(&self.local_ref(bead), commit, None)
    }

    /// Moves the claim on `record.bead` to `record`, a child of `parent` (None: a new
    /// claim), by one compare-and-swap push on the claim ref alone. Some(the new claim,
    /// remembered) when the push took; None when the ref was no longer `parent` (another
    /// clone moved it); an error naming `refusal` when the remote refused it.
    fn advance(
        &self,
        record: Record,
        parent: Option<&str>,
        what: &str,
        refusal: Refusal,
    ) -> Result<Option<Claim>> {
        let commit = self.commit(&record, parent, what)?;
        let update = LeasedUpdate {
            refname: claim_ref(&record.bead)?,
            new: commit.clone(),
            expect: parent.map(str::to_owned),
        };
        match self.net.push_leased(&self.remote, &[update])? {
            Pushed::Done => {
                self.remember(&record.bead, &commit)?;
                Ok(Some(Claim { commit, record }))
            }
            Pushed::Stale { .. } => Ok(None),
            Pushed::Refused { refs } => Err(refused_error(&self.remote, &refs, refusal)),
        }
    }

    /// Whether `current` is `mine` carried on by the same holder: the same generation and
    /// step, the same clone on the same host, and a descendant of `mine` on the claim's
    /// history (a renewal or the release `mine`'s holder pushed). Only a different
    /// generation (a takeover) or step makes a claim someone else's.
    fn continues(&self, mine: &Claim, current: &Claim) -> Result<bool> {
        let (m, c) = (&mine.record, &current.record);
        Ok(m.generation == c.generation
            && m.step == c.step
            && m.holder.host == c.holder.host
            && m.holder.clone == c.holder.clone
            && self.local.is_ancestor(&mine.commit, &current.commit)?)
    }

    /// Takes the claim on `bead` at `now` for a step starting from `base`: created when
    /// the remote has none, taken over (next generation) when the last one's lease ran out
    /// or its step ended without a result that holds the bead. `attempt` is the attempt
    /// this clone would make; past every attempt the claim's history made.
    pub fn take(&self, bead: &str, attempt: u32, base: &str, now: i64) -> Result<Taken> {
        let _lock = self.lock()?;
        let holder = Holder::this(self.layout)?;
        let prev = self.read_one(bead)?;
        if let Some(c) = &prev
            && c.record.keeps_bead(now)
        {
            return Ok(Taken::Busy(c.clone()));
        }
        let attempt = attempt.max(prev.as_ref().map_or(0, |c| c.record.attempt + 1));
        let record = Record {
            schema: RECORD_SCHEMA,
            bead: bead.to_owned(),
            state: ClaimState::Held,
            generation: prev.as_ref().map_or(1, |c| c.record.generation + 1),
            holder,
            expires: now + self.lease,
            base: base.to_owned(),
            step: crate::step::checkpoint::step_id(bead, attempt),
            attempt,
            outcome: None,
            head: String::new(),
        };
        let what = match &prev {
            Some(c) if c.record.state == ClaimState::Held => "taken over",
            _ => "taken",
        };
        let parent = prev.as_ref().map(|c| c.commit.as_str());
        Ok(match self.advance(record, parent, what, Refusal::Take)? {
            Some(claim) => Taken::Taken(claim),
            None => Taken::Lost,
        })
    }

    /// Renews `claim`'s lease from `now`.
    pub fn renew(&self, claim: &Claim, now: i64) -> Result<Renewed> {
        let _lock = self.lock()?;
        let mut record = claim.record.clone();
        record.expires = now + self.lease;
        record.holder.pid = std::process::id();
        let bead = record.bead.clone();
        if let Some(renewed) =
            self.advance(record, Some(&claim.commit), "renewed", Refusal::Renew)?
        {
            return Ok(Renewed::Renewed(renewed));
        }
        // A stale push is not proof of a takeover: only a claim that is no longer this
        // holder's generation is.
        self.fetch_locked()?;
        match self.read_one(&bead)? {
            Some(c) if c.commit == claim.commit => Ok(Renewed::Again),
            Some(c) if c.record.state == ClaimState::Held && self.continues(claim, &c)? => {
                self.remember(&bead, &c.commit)?;
                Ok(Renewed::Renewed(c))
            }
            other => Ok(Renewed::Lost(other)),
        }
    }

    /// Releases `claim` with the step's outcome: the step branch, the `.forge/` files and
    /// the release in one atomic push, each ref under its lease. When only the shared state
    /// moved (another clone released meanwhile), it fetches and tries again; when the claim
    /// moved, the result is refused.
    pub fn release(&self, claim: &Claim, outcome: &Outcome) -> Result<Released> {
        let _lock = self.lock()?;
        let bead = &claim.record.bead;
        let mut claim = claim.clone();
        for _ in 0..RELEASE_TRIES {
            self.fetch_locked()?;
            let current = self.read_one(bead)?;
            match current {
                Some(c) if c.commit == claim.commit => {}
                // The claim moved on in this holder's own hands: renewed after the commit
                // remembered (a heartbeat), or released already (a release that landed
                // before its process died). Not lost: continue from it, or it is done.
                Some(c) if self.continues(&claim, &c)? => {
                    if c.record.state == ClaimState::Released {
                        return Ok(Released::Released {
                            claim: c,
                            state: None,
                        });
                    }
                    claim = c;
                }
                other => return Ok(Released::Lost(other)),
            }
            let claim = &claim;
            let mut record = claim.record.clone();
            record.state = ClaimState::Released;
            record.outcome = Some(outcome.state);
            record.head = outcome
                .branch
                .map(|(_, h)| h.to_owned())
                .unwrap_or_default();
            let commit = self.commit(&record, Some(&claim.commit), "released")?;
            let mut updates = vec![LeasedUpdate {
                refname: claim_ref(bead)?,
                new: commit.clone(),
                expect: Some(claim.commit.clone()),
            }];
            if let Some((branch, head)) = outcome.branch {
                updates.push(LeasedUpdate {
                    refname: branch.to_owned(),
                    new: head.to_owned(),
                    expect: None,
                });
            }
            let state = self.state_update(outcome, &format!("forge: {} released", record.step))?;
            updates.extend(state.clone());
            match self.net.push_leased(&self.remote, &updates)? {
                Pushed::Done => {
                    self.remember(bead, &commit)?;
                    if let Some(s) = &state {
                        self.local.update_ref(
                            &self.local_state_ref(outcome.base_branch),
                            &s.new,
                            None,
                        )?;
                    }
                    return Ok(Released::Released {
                        claim: Claim { commit, record },
                        state: state.map(|s| s.new),
                    });
                }
                Pushed::Stale { .. } => continue,
                Pushed::Refused { refs } => {
                    return Err(refused_error(&self.remote, &refs, Refusal::Release));
                }
            }
        }
        Err(Error::Refused {
            message: format!(
                "the remote '{}' kept moving: {} could not be released in {RELEASE_TRIES} tries",
                self.remote, claim.record.step
            ),
            hint: "the next `forge tick` releases it (or, once its lease runs out, another \
                   clone takes the bead over)"
                .into(),
        })
    }

    /// Settles the released claim on `bead` that names `step` from `from` to the step's
    /// new `outcome` (rejected, rolled back, merged, sent back: failed), by
    /// compare-and-swap on the claim as fetched: a child commit, same generation, same
    /// holder. A claim that names another step, is held, or whose outcome on the remote is
    /// not `from` (see [`super::settles_from`]) is left alone: only the step a claim names
    /// may change it, so a stale generation's outcome never touches a newer claim, and a
    /// clone that saw an older outcome never overwrites a newer one (a merge made
    /// elsewhere is not undone by a rejection here).
    pub fn settle(&self, bead: &str, step: &str, from: State, outcome: State) -> Result<Settled> {
        let _lock = self.lock()?;
        for _ in 0..RELEASE_TRIES {
            self.fetch_locked()?;
            let Some(current) = self.read_one(bead)? else {
                return Ok(Settled::Unchanged(None));
            };
            let r = &current.record;
            let from_here = r
                .outcome
                .is_some_and(|o| super::settles_from(o, from) && super::settles(o, outcome));
            if r.step != step || r.state != ClaimState::Released || !from_here {
                return Ok(Settled::Unchanged(Some(current)));
            }
            let mut record = r.clone();
            record.outcome = Some(outcome);
            let parent = Some(current.commit.as_str());
            if let Some(settled) =
                self.advance(record, parent, outcome.as_str(), Refusal::Settle)?
            {
                return Ok(Settled::Settled(settled));
            }
        }
        Err(Error::Refused {
            message: format!(
                "the remote '{}' kept moving: the claim on {bead} could not be settled as \
                 {outcome} in {RELEASE_TRIES} tries",
                self.remote
            ),
            hint: "the next `forge tick` in this clone settles it".into(),
        })
    }

    /// Settles `claim` (released, its step waiting for approval) as approved by one
    /// compare-and-swap on exactly that claim commit, before anything is merged: an
    /// approved claim keeps the bead, so no clone takes it over while the merge runs.
    /// None when the claim moved since it was read (taken over, settled elsewhere): then
    /// nothing may be merged.
    pub fn approve(&self, claim: &Claim) -> Result<Option<Claim>> {
        let _lock = self.lock()?;
        let mut record = claim.record.clone();
        record.outcome = Some(State::Approved);
        let what = State::Approved.as_str();
        let approved = self.advance(record, Some(&claim.commit), what, Refusal::Approve)?;
        if approved.is_none() {
            self.fetch_locked()?;
        }
        Ok(approved)
    }

    /// Publishes `.forge/` files (ledger lines recorded after a release) to the state ref
    /// of `base_branch`, without touching any claim. Returns the new state commit.
    pub fn publish(
        &self,
        files: &[String],
        base_branch: &str,
        base_commit: &str,
    ) -> Result<Option<String>> {
        let _lock = self.lock()?;
        let outcome = Outcome {
            state: State::Merged,
            branch: None,
            files,
            base_branch,
            base_commit,
        };
        for _ in 0..RELEASE_TRIES {
            self.fetch_locked()?;
            let Some(update) = self.state_update(&outcome, "forge: ledger")? else {
                return Ok(None);
            };
            match self
                .net
                .push_leased(&self.remote, std::slice::from_ref(&update))?
            {
                Pushed::Done => {
                    self.local
                        .update_ref(&self.local_state_ref(base_branch), &update.new, None)?;
                    return Ok(Some(update.new));
                }
                Pushed::Stale { .. } => continue,
                Pushed::Refused { refs } => {
                    return Err(refused_error(&self.remote, &refs, Refusal::Publish));
                }
            }
        }
        Err(Error::Refused {
            message: format!(
                "the remote '{}' kept moving: the ledger could not be published in \
                 {RELEASE_TRIES} tries",
                self.remote
            ),
            hint: "the next `forge tick` publishes it".into(),
        })
    }

    /// The update of the state ref that adds `outcome.files` on top of its last fetched
    /// tip (or of the base commit, for the first), or None when the tip has them already.
    fn state_update(&self, outcome: &Outcome, message: &str) -> Result<Option<LeasedUpdate>> {
        let tip = self
            .local
            .rev_parse(&self.local_state_ref(outcome.base_branch))
            .ok();
        let made = super::state::commit_over(
            &self.local,
            self.layout,
            tip.as_deref(),
            outcome.base_commit,
            outcome.files,
            message,
        )?;
        Ok(made.map(|new| LeasedUpdate {
            refname: format!("{STATE}{}", outcome.base_branch),
            new,
            expect: tip,
        }))
    }
}

#[cfg(test)]
mod tests {
    //! Against real repositories: a bare remote and clones of it, on loopback.

    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// A bare remote with one commit and `n` clones of it.
    fn clones(n: usize) -> (tempfile::TempDir, PathBuf, Vec<Layout>) {
        let tmp = tempfile::tempdir().unwrap();
        let seed = tmp.path().join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        git(&seed, &["init", "-q", "-b", "main"]);
        std::fs::write(seed.join("README"), "x\n").unwrap();
        git(&seed, &["add", "README"]);
        git(&seed, &["commit", "-q", "-m", "initial"]);
        let remote = tmp.path().join("remote.git");
        git(tmp.path(), &["clone", "-q", "--bare", "seed", "remote.git"]);
        let layouts = (0..n)
            .map(|i| {
                let dir = tmp.path().join(format!("clone{i}"));
                git(
                    tmp.path(),
                    &["clone", "-q", "remote.git", &format!("clone{i}")],
                );
                for (k, v) in [("user.name", "t"), ("user.email", "t@example.com")] {
                    git(&dir, &["config", k, v]);
                }
                Layout::new(&dir, &dir.join(".git"))
            })
            .collect();
        (tmp, remote, layouts)
    }

    fn base(layout: &Layout) -> String {
        git(&layout.root, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    #[test]
    fn two_clones_racing_for_one_bead_have_exactly_one_winner_every_round() {
        let (_tmp, remote, layouts) = clones(2);
        let base = base(&layouts[0]);
        for round in 0..50 {
            let bead = format!("fg-r{round}");
            let claims: Vec<Claims> = layouts
                .iter()
                .map(|l| Claims::new(l, "origin", 60).unwrap())
                .collect();
            // Both read the remote first, then both push: the race a fetch-then-push has.
            for c in &claims {
                c.fetch().unwrap();
            }
            let barrier = std::sync::Barrier::new(2);
            let results: Vec<Taken> = std::thread::scope(|s| {
                let handles: Vec<_> = claims
                    .iter()
                    .map(|c| {
                        let (barrier, bead, base) = (&barrier, &bead, &base);
                        s.spawn(move || {
                            barrier.wait();
                            c.take(bead, 1, base, 1_000).unwrap()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let won: Vec<&Claim> = results
                .iter()
                .filter_map(|t| match t {
                    Taken::Taken(c) => Some(c),
                    _ => None,
                })
                .collect();
            assert_eq!(won.len(), 1, "round {round}: {results:?}");
            // The remote has the winner's claim, generation 1.
            let on_remote = git(&remote, &["rev-parse", &format!("{CLAIMS}{bead}")]);
            assert_eq!(on_remote.trim(), won[0].commit, "round {round}");
            assert_eq!(won[0].record.generation, 1);
        }
    }

    #[test]
    fn an_expired_claim_is_taken_over_and_its_old_holder_can_neither_renew_nor_release() {
        let (_tmp, remote, layouts) = clones(2);
        let base = base(&layouts[0]);
        let (a, b) = (
            Claims::new(&layouts[0], "origin", 60).unwrap(),
            Claims::new(&layouts[1], "origin", 60).unwrap(),
        );
        a.fetch().unwrap();
        let Taken::Taken(old) = a.take("fg-x", 1, &base, 1_000).unwrap() else {
            panic!("a takes the free bead")
        };
        b.fetch().unwrap();
        // Still within the lease: busy.
        assert!(matches!(
            b.take("fg-x", 1, &base, 1_030).unwrap(),
            Taken::Busy(_)
        ));
        // Past it: taken over with the next generation and a later attempt.
        let Taken::Taken(new) = b.take("fg-x", 1, &base, 1_061).unwrap() else {
            panic!("b takes over the expired claim")
        };
        assert_eq!(new.record.generation, 2);
        assert_eq!(new.record.attempt, 2);
        assert!(matches!(a.renew(&old, 1_062).unwrap(), Renewed::Lost(Some(c)) if c == new));
        let files = Vec::new();
        let outcome = Outcome {
            state: State::AwaitingApproval,
            branch: None,
            files: &files,
            base_branch: "main",
            base_commit: &base,
        };
        assert!(matches!(
            a.release(&old, &outcome).unwrap(),
            Released::Lost(_)
        ));
        // The new holder releases; the history on the remote has both generations.
        assert!(matches!(
            b.release(&new, &outcome).unwrap(),
            Released::Released { .. }
        ));
        let log = git(&remote, &["log", "--format=%s", &format!("{CLAIMS}fg-x")]);
        assert_eq!(
            log.lines().collect::<Vec<_>>(),
            [
                "forge claim fg-x: released (generation 2)",
                "forge claim fg-x: taken over (generation 2)",
                "forge claim fg-x: taken (generation 1)",
            ]
        );
    }

    #[test]
    fn a_renewal_the_remote_could_not_lock_is_tried_again_not_taken_for_a_takeover() {
        let (_tmp, remote, layouts) = clones(1);
        let base = base(&layouts[0]);
        let a = Claims::new(&layouts[0], "origin", 60).unwrap();
        a.fetch().unwrap();
        let Taken::Taken(held) = a.take("fg-x", 1, &base, 1_000).unwrap() else {
            panic!("a takes the free bead")
        };
        // The server cannot lock the claim ref (another receive-pack, a crashed one's lock).
        let lock = remote.join("refs/forge/claims/fg-x.lock");
        std::fs::write(&lock, "").unwrap();
        let r = a.renew(&held, 1_010).unwrap();
        assert!(matches!(r, Renewed::Again), "{r:?}");
        std::fs::remove_file(&lock).unwrap();
        assert!(matches!(
            a.renew(&held, 1_020).unwrap(),
            Renewed::Renewed(_)
        ));
    }

    #[test]
    fn a_release_from_a_claim_its_holder_renewed_or_released_since_is_not_a_loss() {
        let (_tmp, _remote, layouts) = clones(1);
        let base = base(&layouts[0]);
        let a = Claims::new(&layouts[0], "origin", 60).unwrap();
        a.fetch().unwrap();
        let Taken::Taken(taken) = a.take("fg-x", 1, &base, 1_000).unwrap() else {
            panic!("a takes the free bead")
        };
        let Renewed::Renewed(renewed) = a.renew(&taken, 1_010).unwrap() else {
            panic!("renewed")
        };
        let files = Vec::new();
        let outcome = Outcome {
            state: State::AwaitingApproval,
            branch: None,
            files: &files,
            base_branch: "main",
            base_commit: &base,
        };
        // From the commit remembered before the renewal: released on top of the renewal.
        let Released::Released {
            claim: released, ..
        } = a.release(&taken, &outcome).unwrap()
        else {
            panic!("released from its own renewal")
        };
        assert!(
            a.local
                .is_ancestor(&renewed.commit, &released.commit)
                .unwrap()
        );
        // Again after a crash that forgot the release had landed: it is done, not lost.
        let Released::Released { claim: again, .. } = a.release(&taken, &outcome).unwrap() else {
            panic!("already released")
        };
        assert_eq!(again, released);
    }

    #[test]
    fn only_a_bead_id_names_a_claim_ref() {
        assert_eq!(claim_ref("fg-3k9x").unwrap(), "refs/forge/claims/fg-3k9x");
        for bad in [
            "",
            "x",
            "fg-a:b",
            "fg-a..b",
            "fg-a^",
            "fg-*",
            "fg-x/y",
            "fg-x.lock",
            ".fg-x",
        ] {
            let e = claim_ref(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn a_claim_ref_without_its_record_is_unreadable_not_free() {
        let (_tmp, remote, layouts) = clones(1);
        let a = Claims::new(&layouts[0], "origin", 60).unwrap();
        let tree = git(&remote, &["hash-object", "-t", "tree", "-w", "/dev/null"]);
        let commit = git(&remote, &["commit-tree", tree.trim(), "-m", "not a record"]);
        git(
            &remote,
            &["update-ref", "refs/forge/claims/fg-x", commit.trim()],
        );
        a.fetch().unwrap();
        assert!(a.read().unwrap().is_empty());
        let odd = a.unreadable().unwrap();
        assert_eq!(odd.len(), 1);
        assert_eq!(odd[0].bead, "fg-x");
        assert!(odd[0].why.contains("JSON"), "{odd:?}");
    }
}
