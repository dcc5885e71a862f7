//! `.forge/checkpoints/<step>.toml`: one file per step, the step's state machine and what
//! it produced. Written only by the step's owner, atomically, through the redactor.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::observer::Observer;
use crate::approval::How;
use crate::bead::Risk;
use crate::error::{Error, Result};
use crate::harness::adapter::Tokens;
use crate::ledger::Payload;
use crate::ledger::event::StepAt;
use crate::redact::Redactor;
use crate::store::Layout;
use crate::store::document::{self, Document};
use crate::workspace::Workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Claimed,
    Preparing,
    Running,
    Checking,
    AwaitingApproval,
    Failed,
    Interrupted,
    Approved,
    Merged,
    Rejected,
    RolledBack,
}

impl State {
    /// Still owned by a live process (or by one that died: see `forge gc` and tick).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            State::Claimed | State::Preparing | State::Running | State::Checking
        )
    }

    /// Nothing more will happen to the step's worktree.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            State::Failed
                | State::Interrupted
                | State::Merged
                | State::Rejected
                | State::RolledBack
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Claimed => "claimed",
            State::Preparing => "preparing",
            State::Running => "running",
            State::Checking => "checking",
            State::AwaitingApproval => "awaiting-approval",
            State::Failed => "failed",
            State::Interrupted => "interrupted",
            State::Approved => "approved",
            State::Merged => "merged",
            State::Rejected => "rejected",
            State::RolledBack => "rolled-back",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub name: String,
    pub ok: bool,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub duration_ms: u64,
    /// The last lines a gate command printed (bounded: enough to see a failing test).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    /// Where the command's whole output is (`forge log STEP --gate NAME` prints it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub schema: i64,
    pub step: String,
    pub bead: String,
    pub attempt: u32,
    pub state: State,
    /// Why the step failed or was interrupted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub harness: String,
    pub preset: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    pub base_ref: String,
    pub base_commit: String,
    pub branch: String,
    /// The step branch's head once forge committed the agent's work.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub head: String,
    /// Relative to the runtime directory.
    pub worktree: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session_id: String,
    pub owner_pid: u32,
    pub started: String,
    pub updated: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub finished: String,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub tokens: Tokens,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The step's risk tier, once its gates ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// The agent's own last message of its latest run, bounded
    /// (`harness::adapter::FINAL_MESSAGE_MAX`); shown at approval.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub final_message: String,
    #[serde(default)]
    pub gates: Vec<GateResult>,
    /// Who approved, how (prompt, flag, policy) and the merge commit, once merged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub approved_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_how: Option<How>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub merge_commit: String,
    /// The revert commit, once a merged step was rolled back.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revert_commit: String,
    /// How the step's processes were contained: "landlock ABI 7", or "UNSANDBOXED".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sandbox: String,
    /// What the harness changed outside its step (see `step::guard`); any entry blocks
    /// approval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    /// This clone's HMAC over the evidence an approval relies on (`approval::seal`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub seal: String,
    /// Files whose conflict with the base forge handed to the agent at its last replay;
    /// the `conflicts` gate fails while any of them holds a conflict marker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

pub fn path(layout: &Layout, step: &str) -> std::path::PathBuf {
    document::path::<Checkpoint>(layout, step)
}

impl Document for Checkpoint {
    const WHAT: &'static str = "step";
    fn dir(layout: &Layout) -> std::path::PathBuf {
        layout.checkpoints()
    }
    fn schema(&self) -> i64 {
        self.schema
    }
    fn id(&self) -> &str {
        &self.step
    }
}

impl Checkpoint {
    pub fn load(path: &Path) -> Result<Checkpoint> {
        document::load(path)
    }

    pub fn save(&self, layout: &Layout, redactor: &Redactor) -> Result<()> {
        document::save(self, layout, redactor)
    }
}

/// Every checkpoint, sorted by step id. A file that does not parse is an error naming it.
pub fn load_all(layout: &Layout) -> Result<Vec<Checkpoint>> {
    let mut out: Vec<Checkpoint> = document::load_all(layout)?;
    out.sort_by(|a, b| a.step.cmp(&b.step));
    Ok(out)
}

/// The checkpoints of one bead's steps, sorted by step id as [`load_all`] sorts them: only the files named `<bead>.<n>.toml`
/// are read (a step's file is named for its id, which [`Checkpoint::load`] checks).
pub fn of_bead(layout: &Layout, bead: &str) -> Result<Vec<Checkpoint>> {
    let mut out = Vec::new();
    for path in document::list(&layout.checkpoints())? {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let attempt = stem
            .strip_prefix(bead)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|n| n.parse::<u32>().ok());
        if attempt.is_none() {
            continue;
        }
        let cp = Checkpoint::load(&path)?;
        if cp.bead == bead {
            out.push(cp);
        }
    }
    out.sort_by(|a, b| a.step.cmp(&b.step));
    Ok(out)
}

/// The step `input` names: a step id, a unique prefix of one, or a bead id (its latest
/// step). See [`resolve`].
pub fn load_step(layout: &Layout, input: &str) -> Result<Checkpoint> {
    resolve(&load_all(layout)?, input)
}

/// Moves the step to `state`: records the transition (`event` builds its payload), then
/// saves the checkpoint under the store lock. With `[tick] remote`, a step that leaves the
/// wait for approval settles its released claim there (`crate::remote::settle_after`).
pub(crate) fn transition(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    state: State,
    event: impl FnOnce(StepAt) -> Payload,
    observer: &mut dyn Observer,
) -> Result<()> {
    let from = cp.state;
    cp.state = state;
    cp.updated = ws.clock.now();
    let at = StepAt {
        step: cp.step.clone(),
        bead: cp.bead.clone(),
        state: Some(state),
    };
    let recorded = ws.record(event(at))?;
    {
        let _lock = ws.lock()?;
        cp.save(&ws.layout, &ws.redactor)?;
    }
    observer.phase(&cp.step, state, &recorded.kind);
    // On a shared remote, a step that stops waiting for approval (or a merged one rolled
    // back) frees or finishes its bead there too. The step's own change is done and stays
    // done: a remote out of reach leaves the claim to this clone's next tick.
    let _ = crate::remote::settle_after(ws, from, cp);
    Ok(())
}

/// Fails the step for `reason`.
pub(crate) fn fail(
    ws: &mut Workspace,
    cp: &mut Checkpoint,
    reason: String,
    observer: &mut dyn Observer,
) -> Result<()> {
    cp.reason = reason.clone();
    cp.finished = ws.clock.now();
    transition(
        ws,
        cp,
        State::Failed,
        |at| Payload::StepFailed { at, reason },
        observer,
    )
}

/// The `bead` and `state` of every checkpoint, read without parsing whole files: `forge
/// ready` needs them on every call, and steps accumulate. forge writes both as top-level
/// `key = "value"` lines before any table; a file where they cannot be found that way is
/// parsed in full (which also reports it if it is broken).
pub fn bead_states(layout: &Layout) -> Result<Vec<(String, State)>> {
    let mut out = Vec::new();
    for path in document::list(&layout.checkpoints())? {
        let text = crate::store::parse::read_to_string(&path)?;
        match quick_bead_state(&text) {
            Some(found) => out.push(found),
            None => {
                let cp = Checkpoint::load(&path)?;
                out.push((cp.bead, cp.state));
            }
        }
    }
    Ok(out)
}

fn quick_bead_state(text: &str) -> Option<(String, State)> {
    if crate::store::parse::find_conflict_marker(text).is_some() {
        return None;
    }
    let (mut bead, mut state) = (None, None);
    for line in text.lines() {
        if line.starts_with('[') {
            break;
        }
        let value = |key: &str| {
            let rest = line
                .strip_prefix(key)?
                .trim_start()
                .strip_prefix('=')?
                .trim();
            let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
            (!inner.contains(['"', '\\'])).then(|| inner.to_owned())
        };
        if let Some(v) = value("bead") {
            bead = Some(v);
        } else if let Some(v) = value("state") {
            state = serde_json::from_value::<State>(serde_json::Value::String(v)).ok();
        }
    }
    Some((bead?, state?))
}

/// Step ids are `<bead>.<attempt>`, e.g. `fg-3k9x.2`.
pub fn step_id(bead: &str, attempt: u32) -> String {
    format!("{bead}.{attempt}")
}

/// Resolves a step id or a unique prefix of one (a bead id alone means its latest step).
/// An empty one (nothing but spaces, or `fg-` alone) is a usage error, never a prefix of
/// every step.
pub fn resolve(all: &[Checkpoint], input: &str) -> Result<Checkpoint> {
    crate::bead::id::check_input(input, crate::bead::id::PREFIX, "step")?;
    let wanted = crate::bead::id::normalise(input);
    if let Some(cp) = all.iter().find(|c| c.step == wanted) {
        return Ok(cp.clone());
    }
    let of_bead: Vec<&Checkpoint> = all.iter().filter(|c| c.bead == wanted).collect();
    if let Some(latest) = of_bead.iter().max_by_key(|c| c.attempt) {
        return Ok((*latest).clone());
    }
    let matches: Vec<&Checkpoint> = all.iter().filter(|c| c.step.starts_with(&wanted)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::UnknownId {
            id: input.to_owned(),
            suggestion: None,
        }),
        many => Err(Error::AmbiguousId {
            prefix: input.to_owned(),
            candidates: many.iter().map(|c| c.step.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint as forge wrote it when `risk` and `approved_how` were plain strings.
    const OLD_MERGED: &str = r#"schema = 1
step = "fg-809n.1"
bead = "fg-809n"
attempt = 1
state = "merged"
harness = "hello"
preset = "command"
base_ref = "refs/heads/master"
base_commit = "1b00325e3af0a99533608e25552c45e39d77a8b1"
branch = "forge/fg-809n/1"
head = "3c7bb66e3a47ff4b9d046ed33cd72ba2bbafaecc"
worktree = "worktrees/fg-809n.1"
owner_pid = 18719
started = "2026-12-05T10:38:25Z"
updated = "2026-12-05T10:38:25Z"
finished = "2026-12-05T10:38:25Z"
duration_ms = 69
risk = "low"
approved_by = "T <t@e>"
approved_how = "flag"
merge_commit = "76eeb7afb9ee76e45d36b70037225cc6d11627ce"
sandbox = "sandboxed (Landlock ABI 7)"
seal = "858931434e90d8500c91dd62df65872c8fb8683b26cc1f56ac39fb3d87ae4464"

[tokens]
input = 0
output = 0
cache_read = 0
cache_write = 0
reported = false

[[gates]]
name = "secrets"
ok = true
detail = ""
duration_ms = 1
"#;

    #[test]
    fn old_checkpoints_load_and_are_written_back_unchanged() {
        let write = |cp: &Checkpoint| document::render(cp, &Redactor::new([]));
        let cp: Checkpoint = toml::from_str(OLD_MERGED).unwrap();
        assert_eq!(cp.risk, Some(Risk::Low));
        assert_eq!(cp.approved_how, Some(How::Flag));
        assert!(cp.extra.is_empty(), "{:?}", cp.extra);
        assert_eq!(write(&cp), OLD_MERGED);
        let json = serde_json::to_value(&cp).unwrap();
        assert_eq!(
            (&json["risk"], &json["approved_how"]),
            (&"low".into(), &"flag".into())
        );
        for (risk, how) in [("medium", "prompt"), ("high", "policy")] {
            let text = OLD_MERGED
                .replace("\"low\"", &format!("{risk:?}"))
                .replace("\"flag\"", &format!("{how:?}"));
            let cp: Checkpoint = toml::from_str(&text).unwrap();
            assert_eq!(cp.risk.map(Risk::as_str), Some(risk));
            assert_eq!(cp.approved_how.map(How::as_str), Some(how));
            assert_eq!(write(&cp), text);
        }
        // A step that has not reached its gates or an approval has neither key.
        let fresh = OLD_MERGED
            .replace("risk = \"low\"\n", "")
            .replace("approved_how = \"flag\"\n", "");
        let cp: Checkpoint = toml::from_str(&fresh).unwrap();
        assert_eq!((cp.risk, cp.approved_how), (None, None));
        assert_eq!(write(&cp), fresh);
    }

    #[test]
    fn one_beads_checkpoints_are_read_without_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), &dir.path().join(".git"));
        std::fs::create_dir_all(layout.checkpoints()).unwrap();
        let write = |step: &str, bead: &str, attempt: u32| {
            let text = OLD_MERGED
                .replace("fg-809n.1", step)
                .replace("\"fg-809n\"", &format!("{bead:?}"))
                .replace("attempt = 1", &format!("attempt = {attempt}"));
            std::fs::write(layout.checkpoints().join(format!("{step}.toml")), text).unwrap();
        };
        write("fg-809n.1", "fg-809n", 1);
        write("fg-809n.2", "fg-809n", 2);
        write("fg-809nx.1", "fg-809nx", 1);
        // Another bead's broken file is not this bead's business.
        std::fs::write(layout.checkpoints().join("fg-zzzz.1.toml"), "not toml [").unwrap();
        let found = of_bead(&layout, "fg-809n").unwrap();
        let steps: Vec<&str> = found.iter().map(|c| c.step.as_str()).collect();
        assert_eq!(steps, ["fg-809n.1", "fg-809n.2"]);
        assert!(of_bead(&layout, "fg-none").unwrap().is_empty());
        // Everything at once still reports the broken one.
        assert!(load_all(&layout).is_err());
    }

    #[test]
    fn quick_scan_reads_forge_written_files_and_gives_up_on_odd_ones() {
        let text = "schema = 1\nstep = \"fg-a.1\"\nbead = \"fg-a\"\nattempt = 1\nstate = \"awaiting-approval\"\n\n[tokens]\nstate = \"x\"\n";
        assert_eq!(
            quick_bead_state(text),
            Some(("fg-a".into(), State::AwaitingApproval))
        );
        assert_eq!(
            quick_bead_state("bead = \"fg-a\"\n[t]\nstate = \"running\"\n"),
            None
        );
        assert_eq!(
            quick_bead_state("bead = 'fg-a'\nstate = \"running\"\n"),
            None
        );
        assert_eq!(
            quick_bead_state(
                "<<<<<<< HEAD\nbead = \"fg-a\"\n=======\nbead = \"fg-b\"\n>>>>>>> x\nstate = \"running\"\n"
            ),
            None
        );
    }
}
