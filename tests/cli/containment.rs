//! S12 (RELIABILITY.md, DESIGN.md §7): a harness changes nothing outside its step.
//!
//! `fixtures/harnesses/fake-hostile` prints Claude Code's stream-json, makes a legitimate
//! edit, and in between attacks forge's git state, the user's checkout and home, and the
//! network (one attack per `HOSTILE_MODE`). With the sandbox on, an attack on anything
//! outside the worktree is denied by the kernel and nothing outside the step changes; what
//! the sandbox allows (the worktree's own HEAD and `.git` file) and everything with the
//! sandbox off is caught by detection: the step fails with the violation named and cannot be
//! approved. Either way no code the harness planted ever runs, and forge's commit is only on
//! the step's branch.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::env::{TestEnv, clean_command, fixture, toml_string};

mod escaped;
mod limits;
mod loopback;
mod own;
mod pids;
mod userns;

/// `[sandbox]` with the sandbox on and nothing allowlisted beyond the preset's API hosts.
const ON: &str = "mode = \"on\"\nnetwork = \"allowlist\"\nallow_hosts = []\n";
/// `[sandbox]` with the sandbox off.
const OFF: &str = "mode = \"off\"\n";
/// The private key in the invoking user's `~/.ssh`.
const CANARY: &str = "forge-canary-ssh-key-7Qm2xVb9Lr4";
/// How the kernel refuses a file operation.
const EACCES: &[&str] = &["EACCES", "EPERM"];
/// How git reports the kernel's refusal to let it write the common dir.
const GIT_EACCES: &[&str] = &["Permission denied", "EACCES", "EPERM"];
/// How a refused connection looks: Landlock's EACCES, or nothing listening on the port in
/// the harness's own network namespace.
const NO_ROUTE: &[&str] = &["EACCES", "EPERM", "ECONNREFUSED", "ENETUNREACH"];
/// What the test's HTTP server answers.
const BODY: &str = "hello from the allowlisted server 3c9e1f";

/// `[sandbox]` with the sandbox on and `allow_hosts` naming one loopback port.
fn on_allowing(port: u16, network: &str) -> String {
    format!("mode = \"on\"\nnetwork = \"{network}\"\nallow_hosts = [\"127.0.0.1:{port}\"]\n")
}

/// A repository, with a bare remote `origin` and a canary in the user's `~/.ssh`, whose
/// default harness is fake-hostile in one mode.
struct Hostile {
    env: TestEnv,
    mode: String,
    bead: String,
    marker: PathBuf,
    remote: PathBuf,
}

/// What one `forge step` left: its report, the harness's raw output, and the state outside
/// the step from just before it.
struct Outcome {
    report: Value,
    log: String,
    before: BTreeMap<String, String>,
}

impl Outcome {
    fn checkpoint(&self) -> &Value {
        &self.report["checkpoint"]
    }

    /// The fixture's `hostile: MODE: …` lines.
    fn hostile_lines(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| l.starts_with("hostile: "))
            .collect()
    }
}

impl Hostile {
    /// `sandbox`: the body of the `[sandbox]` section, or None for no section at all.
    /// `arg`: HOSTILE_ARG; a leading `~/` is the invoking user's (the test's) home.
    fn new(sandbox: Option<&str>, mode: &str, arg: &str) -> Hostile {
        let env = TestEnv::new();
        let tmp = env.repo.parent().unwrap().to_owned();
        let marker = tmp.join("hostile-marker");
        let remote = tmp.join("remote.git");
        std::fs::create_dir_all(env.home.join(".ssh")).unwrap();
        std::fs::write(env.home.join(".ssh/id_canary"), format!("{CANARY}\n")).unwrap();
        std::fs::write(env.path("README.md"), "# The project\n").unwrap();
        let arg = match arg.strip_prefix("~/") {
            Some(rest) => env.home.join(rest).display().to_string(),
            None => arg.to_owned(),
        };
        set_sandbox(&env, sandbox);
        env.configure(&format!(
            "[harness.evil]\npreset = \"claude\"\ncommand = [{}]\ntimeout = 60\ngrace = 1\n\
             env = {{ HOSTILE_MODE = {}, HOSTILE_ARG = {}, HOSTILE_MARKER = {} }}\n",
            toml_string(fixture("harnesses/fake-hostile").to_str().unwrap()),
            toml_string(mode),
            toml_string(&arg),
            toml_string(marker.to_str().unwrap()),
        ));
        env.default_harness("evil");
        let bead = env.create(&["Improve the readme", "-a", "the readme says more"]);
        env.commit_all("forge set up");
        let init = clean_command("git", &env.home)
            .args(["init", "-q", "--bare"])
            .arg(&remote)
            .status()
            .unwrap();
        assert!(init.success());
        env.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
        env.git(&["push", "-q", "-u", "origin", "main"]);
        Hostile {
            env,
            mode: mode.to_owned(),
            bead,
            marker,
            remote,
        }
    }

    fn step_id(&self) -> String {
        format!("{}.1", self.bead)
    }

    fn git(&self, args: &[&str]) -> String {
        self.env.git(args)
    }

    /// Runs `forge --json step` and reads the harness's log.
    fn step(&self) -> Outcome {
        let before = self.outside();
        let run = self.env.forge(&["--json", "step"]);
        let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "`forge step` printed no report ({e}); exit {}\nstdout:\n{}\nstderr:\n{}",
                run.code, run.stdout, run.stderr
            )
        });
        // `forge log`, or the raw log when forge cannot show it (failure messages say so).
        let log = self.env.forge(&["log", "--raw", &self.step_id()]);
        let log = if log.code == 0 {
            log.stdout
        } else {
            let raw = self
                .env
                .path(&format!(".git/forge/steps/{}/harness.log", self.step_id()));
            format!(
                "(`forge log` failed: {})\n{}",
                log.stderr.trim(),
                std::fs::read_to_string(raw).unwrap_or_default()
            )
        };
        Outcome {
            report,
            log,
            before,
        }
    }

    /// Everything outside the step that a harness must not change, by name: refs (but the
    /// step's), the remote's refs, the common dir's HEAD, config, index, hooks and info, and
    /// the user's checkout (with `.forge/`, but not the ledger, checkpoints and assumptions
    /// that forge itself writes during a step).
    fn outside(&self) -> BTreeMap<String, String> {
        let mut all = BTreeMap::new();
        let refs = self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]);
        for line in refs.lines() {
            let (name, oid) = line.split_once(' ').unwrap();
            if !name.starts_with("refs/heads/forge/") && !name.starts_with("refs/forge/") {
                all.insert(format!("ref {name}"), oid.to_owned());
            }
        }
        let remote = self.remote.to_str().unwrap();
        let refs = self.git(&[
            "--git-dir",
            remote,
            "for-each-ref",
            "--format=%(refname) %(objectname)",
        ]);
        for line in refs.lines() {
            let (name, oid) = line.split_once(' ').unwrap();
            all.insert(format!("remote {name}"), oid.to_owned());
        }
        let git = self.env.path(".git");
        for name in ["HEAD", "config", "index"] {
            all.insert(format!(".git/{name}"), fingerprint(&git.join(name)));
        }
        for dir in ["hooks", "info"] {
            walk(&git.join(dir), &git, ".git/", &mut all, &|_| true);
        }
        let runtime = |rel: &Path| {
            rel.starts_with(".git")
                || rel.starts_with(".forge/ledger")
                || rel.starts_with(".forge/checkpoints")
                || rel.starts_with(".forge/assumptions")
        };
        walk(
            &self.env.repo,
            &self.env.repo,
            "checkout ",
            &mut all,
            &|rel| !runtime(rel),
        );
        all
    }

    /// Nothing outside the step changed, but the keys of `outside()` named in `except`.
    #[track_caller]
    fn assert_unchanged_except(&self, o: &Outcome, except: &[&str]) {
        let after = self.outside();
        let keys: std::collections::BTreeSet<&String> =
            o.before.keys().chain(after.keys()).collect();
        let changed: Vec<String> = keys
            .into_iter()
            .filter(|k| !except.contains(&k.as_str()))
            .filter(|k| o.before.get(*k) != after.get(*k))
            .map(|k| {
                format!(
                    "  {k}: {} -> {}",
                    o.before.get(k).map_or("(absent)", String::as_str),
                    after.get(k).map_or("(absent)", String::as_str)
                )
            })
            .collect();
        assert!(
            changed.is_empty(),
            "{}: the step changed things outside it:\n{}\nharness said: {:?}",
            self.mode,
            changed.join("\n"),
            o.hostile_lines()
        );
    }

    #[track_caller]
    fn assert_unchanged(&self, o: &Outcome) {
        self.assert_unchanged_except(o, &[]);
    }

    /// No code the harness planted has run.
    #[track_caller]
    fn assert_no_marker(&self, when: &str) {
        assert!(
            !self.marker.exists(),
            "{}: attacker code ran ({when}):\n{}",
            self.mode,
            std::fs::read_to_string(&self.marker).unwrap_or_default()
        );
    }

    /// The user's next own commit, in their checkout, runs no planted code either.
    #[track_caller]
    fn assert_user_commit_runs_nothing(&self) {
        self.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "the user's next commit",
        ]);
        self.assert_no_marker("in the user's own `git commit` after the step");
    }

    #[track_caller]
    fn assert_said(&self, o: &Outcome, outcome: &str) {
        let want = format!("hostile: {}: {outcome}", self.mode);
        let lines = o.hostile_lines();
        assert!(
            lines.iter().any(|l| l.starts_with(&want)),
            "{}: expected `{want}…` from the harness, it said {lines:?}\nstep: {}\nlog:\n{}",
            self.mode,
            o.checkpoint(),
            tail(&o.log)
        );
    }

    /// The attack was refused, and the refusal says so in one of `evidence` (an errno name,
    /// git's "Permission denied", ...; empty: any refusal).
    #[track_caller]
    fn assert_denied(&self, o: &Outcome, evidence: &[&str]) {
        self.assert_said(o, "denied");
        let want = format!("hostile: {}: denied", self.mode);
        let line = o
            .hostile_lines()
            .into_iter()
            .find(|l| l.starts_with(&want))
            .unwrap_or_default();
        assert!(
            evidence.is_empty() || evidence.iter().any(|e| line.contains(e)),
            "{}: refused, but not as the sandbox refuses (one of {evidence:?}): {line}",
            self.mode
        );
    }

    /// The attack went through at the OS level (so that detection has something to find).
    #[track_caller]
    fn assert_done(&self, o: &Outcome) {
        self.assert_said(o, "done");
    }

    /// The kinds of every ledger event: from `forge ledger show`, or read from the files
    /// when forge refuses to run in what the harness left (a repository that says it is bare).
    fn ledger_kinds(&self) -> Vec<String> {
        let run = self.env.forge(&["--json", "ledger", "show"]);
        let events: Vec<Value> = if run.code == 0 {
            run.json()["events"].as_array().cloned().unwrap_or_default()
        } else {
            walkdir::WalkDir::new(self.env.path(".forge/ledger"))
                .into_iter()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
                .flat_map(|e| {
                    let text = std::fs::read_to_string(e.path()).unwrap();
                    text.lines()
                        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        events
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The step failed as a policy violation naming each of `names`, recorded in the ledger.
    #[track_caller]
    fn assert_violation(&self, o: &Outcome, names: &[&str]) {
        let cp = o.checkpoint();
        let reason = cp["reason"].as_str().unwrap_or_default();
        assert_eq!(
            cp["state"], "failed",
            "{}: the step did not fail: {reason}\n{cp}",
            self.mode
        );
        assert!(
            reason.contains("policy violation"),
            "{}: not a policy violation: {reason}",
            self.mode
        );
        for name in names {
            assert!(
                reason.contains(name),
                "{}: the violation does not name `{name}`: {reason}",
                self.mode
            );
        }
        let kinds = self.ledger_kinds();
        assert!(
            kinds.iter().any(|k| k == "step.violation"),
            "{}: no step.violation in the ledger: {kinds:?}",
            self.mode
        );
    }

    /// Every commit forge made for the step is reachable only from forge's own refs, here
    /// and on the remote.
    #[track_caller]
    fn assert_forge_commit_only_on_step_branch(&self) {
        let grep = format!("--grep=Forge-Step: {}", self.step_id());
        let commits = self.git(&["log", "--all", "--fixed-strings", &grep, "--format=%H"]);
        for commit in commits.lines() {
            let refs = self.git(&["for-each-ref", "--contains", commit, "--format=%(refname)"]);
            let foreign: Vec<&str> = refs
                .lines()
                .filter(|r| !r.starts_with("refs/heads/forge/") && !r.starts_with("refs/forge/"))
                .collect();
            assert!(
                foreign.is_empty(),
                "{}: forge's commit {commit} is on {foreign:?}",
                self.mode
            );
        }
        let remote = self.remote.to_str().unwrap();
        let pushed = self.git(&[
            "--git-dir",
            remote,
            "log",
            "--all",
            "--fixed-strings",
            &grep,
            "--format=%H",
        ]);
        assert!(
            pushed.is_empty(),
            "{}: forge's commit reached the remote: {pushed}",
            self.mode
        );
    }

    /// The step's branch holds forge's commit of the legitimate edit.
    #[track_caller]
    fn assert_step_branch_has_the_edit(&self) {
        let branch = format!("refs/heads/forge/{}/1", self.bead);
        let files = self.git(&[
            "log",
            "--format=",
            "--name-only",
            &format!("main..{branch}"),
        ]);
        assert!(
            files.lines().any(|f| f == "agent.txt"),
            "{}: the harness's edit is not on {branch}: {files:?}",
            self.mode
        );
        let message = self.git(&["log", "-1", "--format=%B", &branch]);
        assert!(
            message.contains(&format!("Forge-Step: {}", self.step_id())),
            "{}: the tip of {branch} is not forge's commit:\n{message}",
            self.mode
        );
    }

    /// `forge approve STEP --yes` refuses, merges nothing and runs no planted code.
    #[track_caller]
    fn assert_approve_refused(&self) {
        let main = self.git(&["rev-parse", "refs/heads/main"]);
        let run = self.env.forge(&["approve", &self.step_id(), "--yes"]);
        assert_ne!(
            run.code, 0,
            "{}: approve accepted the step:\n{}\n{}",
            self.mode, run.stdout, run.stderr
        );
        assert_eq!(
            self.git(&["rev-parse", "refs/heads/main"]),
            main,
            "{}: approve moved main",
            self.mode
        );
        self.assert_no_marker("during `forge approve`");
        self.assert_forge_commit_only_on_step_branch();
    }

    /// The step's report or `forge status` says the step ran without a sandbox.
    #[track_caller]
    fn assert_unsandboxed(&self, o: &Outcome) {
        let status = self.env.forge(&["status"]);
        self.assert_no_marker("during `forge status`");
        assert!(
            o.report.to_string().contains("UNSANDBOXED") || status.stdout.contains("UNSANDBOXED"),
            "{}: nothing says UNSANDBOXED:\nreport: {}\nstatus:\n{}",
            self.mode,
            o.report,
            status.stdout
        );
    }
}

/// Replaces the `[sandbox]` section of `.forge/config.toml` (if any) with `body` (if any).
fn set_sandbox(env: &TestEnv, body: Option<&str>) {
    let path = env.path(".forge/config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    let mut in_sandbox = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_sandbox = t == "[sandbox]" || t.starts_with("[sandbox.");
        }
        if !in_sandbox {
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Some(body) = body {
        out.push_str("\n[sandbox]\n");
        out.push_str(body);
    }
    std::fs::write(path, out).unwrap();
}

/// A file's type, mode and content: the text itself when it is short text, else a hash.
fn fingerprint(path: &Path) -> String {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return "(absent)".into();
    };
    if meta.file_type().is_symlink() {
        return format!("symlink -> {}", std::fs::read_link(path).unwrap().display());
    }
    if meta.is_dir() {
        return "dir".into();
    }
    let bytes = std::fs::read(path).unwrap();
    let content = match std::str::from_utf8(&bytes) {
        Ok(text) if text.len() <= 2048 => format!("{text:?}"),
        _ => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            format!("{} bytes, hash {:016x}", bytes.len(), h.finish())
        }
    };
    format!("{:o} {content}", meta.mode())
}

/// Adds every entry under `dir` (not following symlinks) as `prefix` + its path relative to
/// `base`, where `keep` says so.
fn walk(
    dir: &Path,
    base: &Path,
    prefix: &str,
    all: &mut BTreeMap<String, String>,
    keep: &dyn Fn(&Path) -> bool,
) {
    let entries = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| keep(e.path().strip_prefix(base).unwrap()));
    for e in entries.flatten() {
        let rel = e.path().strip_prefix(base).unwrap();
        all.insert(format!("{prefix}{}", rel.display()), fingerprint(e.path()));
    }
}

/// The end of a long log, for failure messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

// --- Sandbox on: denied by the kernel ---------------------------------------------------

/// Runs `mode` with the sandbox on and checks what every denied attack must leave: the
/// harness was refused, nothing outside the step changed, no planted code ran (in forge or
/// in the user's next commit), forge's commit is only on the step's branch.
fn denied_with_sandbox_on(mode: &str, arg: &str, evidence: &[&str]) -> (Hostile, Outcome) {
    let h = Hostile::new(Some(ON), mode, arg);
    let o = h.step();
    h.assert_no_marker("during `forge step`");
    h.assert_denied(&o, evidence);
    h.assert_unchanged(&o);
    h.assert_forge_commit_only_on_step_branch();
    h.assert_user_commit_runs_nothing();
    (h, o)
}

#[test]
fn sandbox_on_denies_writing_the_users_checkout() {
    denied_with_sandbox_on("write-repo", "", EACCES);
}

#[test]
fn sandbox_on_denies_editing_the_users_forge_config() {
    denied_with_sandbox_on("edit-config", "", EACCES);
}

#[test]
fn sandbox_on_denies_moving_the_base_branch() {
    denied_with_sandbox_on("update-ref-base", "", GIT_EACCES);
}

#[test]
fn sandbox_on_denies_pushing_to_the_remote() {
    // The remote is a path outside the worktree, which git cannot even read; outside()
    // covers its refs, so its main did not move either.
    let refused = [
        "does not appear to be a git repository",
        "Permission denied",
        "EACCES",
    ];
    denied_with_sandbox_on("push-remote", "origin", &refused);
}

#[test]
fn sandbox_on_denies_setting_core_hookspath() {
    denied_with_sandbox_on("hooks-path", "", GIT_EACCES);
}

#[test]
fn sandbox_on_denies_writing_the_common_hooks() {
    denied_with_sandbox_on("common-hook", "", EACCES);
}

#[test]
fn sandbox_on_denies_setting_core_fsmonitor() {
    denied_with_sandbox_on("fsmonitor", "", GIT_EACCES);
}

#[test]
fn sandbox_on_denies_configuring_a_filter_driver() {
    denied_with_sandbox_on("filter", "", GIT_EACCES);
}

#[test]
fn sandbox_on_denies_a_filter_attached_through_info_attributes() {
    denied_with_sandbox_on("filter-info", "", GIT_EACCES);
}

#[test]
fn sandbox_on_denies_reading_the_users_home() {
    let (h, o) = denied_with_sandbox_on("read-file", "~/.ssh/id_canary", EACCES);
    assert!(
        !o.log.contains(CANARY) && !o.report.to_string().contains(CANARY),
        "the canary reached the harness's output"
    );
    let history = h.git(&["log", "--all", "-p"]);
    assert!(!history.contains(CANARY), "the canary was committed");
    for (path, bytes) in h.env.snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(CANARY),
            "{} holds the canary",
            path.display()
        );
    }
}

#[test]
fn sandbox_on_denies_reading_the_users_home_with_tools_in_it() {
    // Users keep tools under their home (~/.local/bin, ~/.cargo/bin), some even the home
    // itself on PATH: granting the harness its PATH must not grant the home.
    let mut h = Hostile::new(Some(ON), "read-file", "~/.ssh/id_canary");
    let bin = h.env.home.join(".local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        h.env.home.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    h.env.extra_env.push(("PATH".into(), path));
    let o = h.step();
    h.assert_denied(&o, EACCES);
    assert!(
        !o.log.contains(CANARY),
        "the canary reached the harness's output"
    );
}

#[test]
fn the_sandbox_is_on_by_default() {
    let h = Hostile::new(None, "write-repo", "");
    let o = h.step();
    h.assert_denied(&o, EACCES);
    h.assert_unchanged(&o);
    assert!(
        !o.report.to_string().contains("UNSANDBOXED"),
        "the default run says UNSANDBOXED: {}",
        o.report
    );
}

// --- Sandbox on: allowed inside the step's own git dirs, caught by detection ---------------

/// Attacks that write only the step's own worktree and git admin dir, which the sandbox
/// lets a harness write: detection fails the step, forge's commit still lands on the step's
/// branch only, and nothing outside the step changes.
fn detected_inside_the_step(sandbox: &str, mode: &str, names: &[&str]) {
    let h = Hostile::new(Some(sandbox), mode, "");
    let o = h.step();
    h.assert_no_marker("during `forge step`");
    h.assert_done(&o);
    h.assert_violation(&o, names);
    h.assert_unchanged(&o);
    h.assert_forge_commit_only_on_step_branch();
    h.assert_step_branch_has_the_edit();
    h.assert_approve_refused();
    h.assert_unchanged(&o);
    if sandbox == OFF {
        h.assert_unsandboxed(&o);
    }
}

#[test]
fn sandbox_on_detects_a_moved_worktree_head() {
    detected_inside_the_step(ON, "symbolic-ref-head", &["HEAD"]);
}

#[test]
fn sandbox_on_detects_a_rewritten_git_file() {
    detected_inside_the_step(ON, "rewrite-gitfile", &[".git file"]);
}

// --- Sandbox off: the attack goes through, detection catches it -------------------------

/// Runs `mode` with the sandbox off: the attack succeeds, but no planted code runs in
/// forge's own git work, the step fails as a violation naming `names`, every report says
/// UNSANDBOXED, nothing outside the step changed but what the attack itself changed
/// (`changed`, keys of `Hostile::outside`; forge restores nothing), and approval is refused.
fn detected_with_sandbox_off(mode: &str, arg: &str, names: &[&str], changed: &[&str]) {
    let h = Hostile::new(Some(OFF), mode, arg);
    let o = h.step();
    h.assert_done(&o);
    h.assert_no_marker("during `forge step`");
    h.assert_violation(&o, names);
    h.assert_unsandboxed(&o);
    h.assert_unchanged_except(&o, changed);
    h.assert_forge_commit_only_on_step_branch();
    h.assert_approve_refused();
}

#[test]
fn sandbox_off_detects_writes_to_the_users_checkout() {
    detected_with_sandbox_off(
        "write-repo",
        "",
        &["the checkout", "README.md", "planted.txt"],
        &["checkout README.md", "checkout planted.txt"],
    );
}

#[test]
fn sandbox_off_detects_an_edited_forge_config() {
    detected_with_sandbox_off(
        "edit-config",
        "",
        &["the checkout", ".forge/config.toml"],
        &["checkout .forge/config.toml"],
    );
}

#[test]
fn sandbox_off_detects_a_moved_base_branch() {
    detected_with_sandbox_off(
        "update-ref-base",
        "",
        &["refs/heads/main"],
        &["ref refs/heads/main"],
    );
}

#[test]
fn sandbox_off_detects_a_push_to_the_remote() {
    detected_with_sandbox_off(
        "push-remote",
        "origin",
        &["refs/remotes/origin/main"],
        &["ref refs/remotes/origin/main", "remote refs/heads/main"],
    );
}

#[test]
fn sandbox_off_detects_core_hookspath() {
    detected_with_sandbox_off(
        "hooks-path",
        "",
        &[".git/config", "core.hooksPath"],
        &[".git/config"],
    );
}

#[test]
fn sandbox_off_detects_common_hooks() {
    detected_with_sandbox_off(
        "common-hook",
        "",
        &[".git/hooks/pre-commit"],
        &[
            ".git/hooks/pre-commit",
            ".git/hooks/post-commit",
            ".git/hooks/reference-transaction",
            ".git/hooks/post-index-change",
        ],
    );
}

#[test]
fn sandbox_off_detects_core_fsmonitor() {
    detected_with_sandbox_off(
        "fsmonitor",
        "",
        &[".git/config", "core.fsmonitor"],
        &[".git/config"],
    );
}

#[test]
fn sandbox_off_detects_a_filter_driver() {
    detected_with_sandbox_off(
        "filter",
        "",
        &[".git/config", "filter.evil.clean"],
        &[".git/config"],
    );
}

#[test]
fn sandbox_off_detects_a_filter_attached_through_info_attributes() {
    // info/attributes applies in the user's checkout too: a git that hashes the checkout's
    // files after the harness (to compare it) must not run the driver.
    detected_with_sandbox_off(
        "filter-info",
        "",
        &[".git/config", "filter.evil.clean", ".git/info/attributes"],
        &[".git/config", ".git/info/attributes"],
    );
}

#[test]
fn sandbox_off_detects_core_bare() {
    // A repository that says it is bare breaks every git command that needs a work tree,
    // forge's own comparison of the checkout included: still a named violation.
    detected_with_sandbox_off(
        "git-config",
        "core.bare=true",
        &[".git/config", "core.bare"],
        &[".git/config"],
    );
}

#[test]
fn sandbox_off_detects_a_moved_worktree_head() {
    detected_inside_the_step(OFF, "symbolic-ref-head", &["HEAD"]);
}

#[test]
fn sandbox_off_detects_a_rewritten_git_file() {
    detected_inside_the_step(OFF, "rewrite-gitfile", &[".git file"]);
}

// --- Symlinks out of the worktree ----------------------------------------------------------

#[test]
fn symlinks_out_of_the_worktree_fail_the_step() {
    let h = Hostile::new(Some(ON), "symlink-out", "");
    let o = h.step();
    h.assert_done(&o);
    let cp = o.checkpoint();
    assert_eq!(cp["state"], "failed", "{cp}");
    let failed: Vec<String> = cp["gates"]
        .as_array()
        .map(|gates| {
            gates
                .iter()
                .filter(|g| g["ok"] == false)
                .map(|g| format!("{}: {}", g["name"], g["detail"]))
                .collect()
        })
        .unwrap_or_default();
    let named = |link: &str| {
        failed.iter().any(|g| {
            g.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.'))
                .any(|w| w == link)
        })
    };
    assert!(
        named("evil") && named("evil2"),
        "no failed gate names both symlinks: {failed:?}"
    );
    h.assert_unchanged(&o);
    h.assert_approve_refused();
}

// --- Network --------------------------------------------------------------------------------

/// A tiny HTTP server on loopback that answers every request with BODY and keeps the first
/// line of each.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(&stream);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(n) if n > 0 && header.trim_end() != "" => {}
                        _ => break,
                    }
                }
                seen.lock().unwrap().push(first.trim_end().to_owned());
                let _ = (&stream).write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{BODY}",
                        BODY.len()
                    )
                    .as_bytes(),
                );
            }
        });
        Server { port, requests }
    }

    /// The requests that reached the server (after a moment for any still in flight).
    fn requests(&self) -> Vec<String> {
        // Not synchronisation: a request that got its answer is listed already (the server
        // lists it before answering). The pause is for proving an absence, which no marker
        // can: a request wrongly let through must have had the time to arrive.
        std::thread::sleep(Duration::from_millis(300));
        self.requests.lock().unwrap().clone()
    }
}

#[test]
fn the_proxy_lets_an_allowlisted_host_through() {
    let server = Server::start();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let h = Hostile::new(
        Some(&on_allowing(server.port, "allowlist")),
        "proxy-get",
        &url,
    );
    let o = h.step();
    h.assert_said(&o, "done 200");
    let lines = o.hostile_lines();
    assert!(
        !lines.iter().any(|l| l.contains("(proxy none)")),
        "the harness was given no proxy: {lines:?}"
    );
    assert!(o.log.contains(BODY), "the body did not arrive:\n{}", o.log);
    assert!(!server.requests().is_empty(), "nothing reached the server");
    assert_eq!(
        o.checkpoint()["state"],
        "awaiting-approval",
        "{}",
        o.checkpoint()
    );
    h.assert_unchanged(&o);
}

#[test]
fn the_proxy_tunnels_to_an_allowlisted_host() {
    let server = Server::start();
    let h = Hostile::new(
        Some(&on_allowing(server.port, "allowlist")),
        "proxy-connect",
        &format!("127.0.0.1:{}", server.port),
    );
    let o = h.step();
    h.assert_said(&o, "done 200");
    assert!(o.log.contains(BODY), "the body did not arrive:\n{}", o.log);
    assert_eq!(
        o.checkpoint()["state"],
        "awaiting-approval",
        "{}",
        o.checkpoint()
    );
}

#[test]
fn the_proxy_refuses_a_host_not_allowlisted() {
    let server = Server::start();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let h = Hostile::new(Some(ON), "proxy-get", &url);
    let o = h.step();
    h.assert_denied(&o, &[]);
    assert!(!o.log.contains(BODY), "the body arrived:\n{}", o.log);
    assert_eq!(server.requests(), Vec::<String>::new());
    h.assert_unchanged(&o);
}

/// In the harness's own network namespace (where these tests run), a loopback port the
/// allowlist names is a tunnel through the proxy to the host's: a direct connection
/// reaches it, and the proxy counts it. (Without a namespace Landlock's port rule refuses
/// it: `loopback::without_a_namespace_the_port_rule_keeps_loopback_closed`.)
#[test]
fn a_direct_connection_to_an_allowlisted_loopback_port_goes_through_the_proxy() {
    let server = Server::start();
    let h = Hostile::new(
        Some(&on_allowing(server.port, "allowlist")),
        "connect",
        &server.port.to_string(),
    );
    let o = h.step();
    h.assert_done(&o);
    assert_eq!(
        server.requests(),
        vec!["hello from fake-hostile".to_owned()]
    );
    let finished = h
        .env
        .events()
        .into_iter()
        .find(|e| e["kind"] == "harness.finished")
        .unwrap();
    assert_eq!(finished["data"]["egress"]["allowed"], 1, "{finished}");
}

#[test]
fn sandbox_on_denies_connecting_to_a_port_not_allowlisted() {
    let server = Server::start();
    denied_with_sandbox_on("connect", &server.port.to_string(), NO_ROUTE);
    assert_eq!(server.requests(), Vec::<String>::new());
}

#[test]
fn network_none_reaches_nothing_even_allowlisted() {
    let server = Server::start();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let h = Hostile::new(Some(&on_allowing(server.port, "none")), "proxy-get", &url);
    let o = h.step();
    h.assert_denied(&o, &[]);
    assert!(!o.log.contains(BODY), "the body arrived:\n{}", o.log);
    assert_eq!(server.requests(), Vec::<String>::new());
}

#[test]
fn network_open_lets_the_harness_connect() {
    let server = Server::start();
    let h = Hostile::new(
        Some("mode = \"on\"\nnetwork = \"open\"\n"),
        "connect",
        &server.port.to_string(),
    );
    let o = h.step();
    h.assert_done(&o);
    assert_eq!(
        server.requests(),
        vec!["hello from fake-hostile".to_owned()]
    );
}

// --- Controls: a harmless run is not a violation --------------------------------------------

#[test]
fn a_harmless_sandboxed_run_changes_nothing_outside_its_step() {
    let h = Hostile::new(Some(ON), "none", "");
    let o = h.step();
    assert_eq!(
        o.checkpoint()["state"],
        "awaiting-approval",
        "{}",
        o.checkpoint()
    );
    h.assert_unchanged(&o);
    h.assert_step_branch_has_the_edit();
    assert!(
        !h.ledger_kinds().iter().any(|k| k == "step.violation"),
        "a harmless run was a violation"
    );
    assert!(
        !o.report.to_string().contains("UNSANDBOXED"),
        "a sandboxed run says UNSANDBOXED: {}",
        o.report
    );
}

#[test]
fn a_harmless_unsandboxed_run_is_not_a_violation_but_says_unsandboxed() {
    let h = Hostile::new(Some(OFF), "none", "");
    let o = h.step();
    assert_eq!(
        o.checkpoint()["state"],
        "awaiting-approval",
        "{}",
        o.checkpoint()
    );
    h.assert_unchanged(&o);
    h.assert_unsandboxed(&o);
}

/// A diff that fails the secrets gate is kept only in the attic: no `forge/*` branch (which
/// `[tick] push` publishes) and no ref outside `refs/forge/attic/` reaches the key.
#[test]
fn a_head_with_a_secret_is_kept_only_in_the_attic() {
    let env = TestEnv::new();
    let key = "AKIAQWERTYUIOPASDFGH";
    // The key is put together by the script, so the committed config does not hold it.
    env.script_harness(
        "leak",
        "k=QWERTYUIOPASDFGH; echo \"aws_key = AKIA$k\" > creds.txt",
    );
    env.default_harness("leak");
    env.create(&["Add credentials"]);
    env.commit_all("set up");
    let run = env.forge(&["--json", "step"]).json();
    let cp = &run["checkpoint"];
    assert_eq!(cp["state"], "failed", "{cp}");
    assert!(cp["reason"].as_str().unwrap().contains("secrets"), "{cp}");
    let step = cp["step"].as_str().unwrap();
    let attic = env.git(&["rev-parse", &format!("refs/forge/attic/{step}")]);
    let branch = cp["branch"].as_str().unwrap();
    let branch_tip = env.git(&["rev-parse", &format!("refs/heads/{branch}")]);
    let main = env.git(&["rev-parse", "refs/heads/main"]);
    assert_eq!(branch_tip, main, "the step branch went back to its base");
    // Every ref but the attic: none reaches a blob holding the key.
    let refs = env.git(&["for-each-ref", "--format=%(refname)"]);
    for r in refs.lines().filter(|r| !r.starts_with("refs/forge/attic/")) {
        let found = env.git(&["log", "-p", "--format=", r]);
        assert!(!found.contains(key), "{r} reaches the key");
    }
    assert!(env.git(&["show", attic.trim()]).contains(key));
}

/// With the sandbox on, a harness has a network namespace of its own where the machine
/// allows it (forge as root): the proxy's port on another address, and UDP anywhere, lead
/// nowhere, while the proxy itself is reachable (through the relay).
#[test]
fn the_harness_network_is_a_namespace_of_its_own() {
    let env = TestEnv::new();
    let script = r#"python3 - > net.txt <<'PY'
import os, socket, urllib.parse
port = urllib.parse.urlparse(os.environ["HTTPS_PROXY"]).port
def tcp(host):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port)); return "connected"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.sendto(b"x", ("192.0.2.1", 53)); udp = "sent"
except OSError as e:
    udp = type(e).__name__
print("proxy", tcp("127.0.0.1"))
print("other", tcp("192.0.2.1"))
print("udp", udp)
PY"#;
    env.script_harness("net", script);
    env.default_harness("net");
    env.create(&["Probe the network"]);
    env.commit_all("set up");
    let run = env.forge(&["--json", "step"]).json();
    let cp = &run["checkpoint"];
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    let branch = cp["branch"].as_str().unwrap();
    let net = env.git(&["show", &format!("{branch}:net.txt")]);
    assert!(net.contains("proxy connected"), "{net}");
    assert!(!net.contains("other connected"), "{net}");
    assert!(!net.contains("udp sent"), "{net}");
    let started: Vec<Value> = env
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "harness.started")
        .collect();
    let enforced = started[0]["data"]["policy"]["network_enforced"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(enforced.contains("network namespace"), "{enforced}");
}
