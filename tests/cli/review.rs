//! Reviewing the ledger in pull requests: `forge ledger verify --range` across committed
//! history, `forge ledger render`, `forge cost`, and the CI recipe in docs/ci.md.
//!
//! Ledgers are written with the library's own writer, with fixed run ids and a fixed
//! clock, and committed with real git at pinned dates, so commit ids (and snapshots) are the
//! same on every run.

use std::path::{Path, PathBuf};

use forge::clock::{Clock, parse_rfc3339};
use forge::ledger::LedgerWriter;
use forge::ledger::line::{decode, encode};
use forge::redact::Redactor;
use serde_json::{Value, json};

use crate::env::{TestEnv, clean_command, forge_bin, to_run};

const ADA: &str = "Ada Tester <ada@example.com>";
const BOB: &str = "Bob Reviewer <bob@example.com>";

/// One forge run's ledger file, written event by event at a clock that moves on.
struct RunFile {
    writer: LedgerWriter,
    now: i64,
}

impl RunFile {
    /// `id` is a run id (`20261120T090000.000000Z-run00001`): its month names the folder.
    fn new(env: &TestEnv, id: &str, actor: &str, start: &str) -> RunFile {
        RunFile {
            writer: LedgerWriter::new(&env.path(".forge/ledger"), id.into(), actor.into()),
            now: parse_rfc3339(start).unwrap(),
        }
    }

    fn ev(&mut self, kind: &str, data: Value) -> &mut Self {
        self.writer
            .append(&Clock::Fixed(self.now), &Redactor::default(), kind, data)
            .unwrap();
        self.now += 20;
        self
    }

    /// n filler events.
    fn events(&mut self, n: usize) -> &mut Self {
        for i in 0..n {
            self.ev("test.event", json!({ "i": i }));
        }
        self
    }

    fn path(&self) -> PathBuf {
        self.writer.path().to_owned()
    }

    fn rel(&self, env: &TestEnv) -> String {
        rel(env, &self.path())
    }
}

fn rel(env: &TestEnv, p: &Path) -> String {
    p.strip_prefix(&env.repo).unwrap().display().to_string()
}

/// A repository whose first commit has a minimal `.forge/` (no random ids, so commit ids
/// are stable), on branch main.
fn repo(config: &str) -> TestEnv {
    let env = TestEnv::bare();
    std::fs::create_dir_all(env.path(".forge/ledger")).unwrap();
    std::fs::write(
        env.path(".forge/config.toml"),
        format!("schema = 1\n{config}"),
    )
    .unwrap();
    commit(&env, "forge");
    env
}

fn commit(env: &TestEnv, message: &str) -> String {
    env.git(&["add", "-A", "."]);
    env.git(&["commit", "-q", "--allow-empty", "-m", message]);
    env.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

fn h(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

// ---------------------------------------------------------------------------------------
// verify --range

fn verify_range(env: &TestEnv, range: &str) -> crate::env::Run {
    let mut args = vec!["--json", "ledger", "verify"];
    if range.is_empty() {
        args.push("--range");
    } else {
        args.extend(["--range", range]);
    }
    env.forge(&args)
}

/// The history problems of a failing `verify --range`: (commit, file, line, message).
#[track_caller]
fn violations(env: &TestEnv, range: &str) -> Vec<(String, String, u64, String)> {
    let run = verify_range(env, range).fails_with(8);
    assert!(
        run.error_json()["error"]["code"] == "verify_failed",
        "{}",
        run.stderr
    );
    run.json()["history"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["commit"].as_str().unwrap().to_owned(),
                p["file"].as_str().unwrap().to_owned(),
                p["line"].as_u64().unwrap(),
                p["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[track_caller]
fn verifies(env: &TestEnv, range: &str) -> Value {
    let json = verify_range(env, range).ok().json();
    assert_eq!(json["problems"], json!([]));
    assert_eq!(json["history"]["problems"], json!([]));
    json
}

/// main has one commit with a ledger file; `feature` appends to it and adds two more.
fn honest() -> (TestEnv, RunFile, RunFile) {
    let env = repo("");
    let mut a = RunFile::new(
        &env,
        "20261120T080000.000000Z-honest01",
        ADA,
        "2026-11-20T08:00:00Z",
    );
    a.events(3);
    commit(&env, "ledger a");
    env.git(&["checkout", "-q", "-b", "feature"]);
    a.events(2);
    let mut b = RunFile::new(
        &env,
        "20261121T080000.000000Z-honest02",
        BOB,
        "2026-11-21T08:00:00Z",
    );
    b.events(2);
    commit(&env, "a grows, b");
    b.events(4);
    RunFile::new(
        &env,
        "20261201T080000.000000Z-honest03",
        BOB,
        "2026-12-01T08:00:00Z",
    )
    .events(1);
    commit(&env, "b grows, c in a new month");
    (env, a, b)
}

#[test]
fn honest_appends_verify() {
    let (env, _, _) = honest();
    let json = verifies(&env, "main..HEAD");
    assert_eq!(json["history"]["commits"], 2);
    assert_eq!(json["history"]["versions"], 4);
    // The default range is the merge base with main; the whole history also verifies.
    assert_eq!(
        verifies(&env, "")["history"]["range"]["spec"],
        "main...HEAD"
    );
    let root = env.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let json = verifies(&env, &format!("{}..HEAD", root.trim()));
    assert_eq!(json["history"]["commits"], 4);
    let all = env.git(&["rev-list", "HEAD"]);
    assert_eq!(all.lines().count(), 5);
    let text = env
        .forge(&["ledger", "verify", "--range", "main...feature"])
        .ok();
    assert!(
        text.stdout
            .contains("history ok: 2 commits in main...feature"),
        "{}",
        text.stdout
    );
    // Without --range there is no history section.
    let plain = env.forge(&["--json", "ledger", "verify"]).ok().json();
    assert!(plain.get("history").is_none());
}

#[test]
fn a_rewritten_line_in_an_old_commit_is_named() {
    let (env, a, _) = honest();
    // Rewrite line 2 of a on the feature branch and re-chain every later line, so the
    // working tree verifies: only the history shows the rewrite.
    env.git(&["checkout", "-q", "-b", "rewrite", "main"]);
    let text = std::fs::read_to_string(a.path()).unwrap();
    let mut prev = String::new();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut e = decode(line).unwrap();
        if i == 1 {
            e.data = json!({ "i": 99 });
        }
        e.prev = prev;
        let (line, hash) = encode(&e);
        out.push_str(&line);
        out.push('\n');
        prev = hash;
    }
    std::fs::write(a.path(), out).unwrap();
    let rewrite = commit(&env, "quietly rewrite a line");
    RunFile::new(
        &env,
        "20261122T080000.000000Z-later001",
        ADA,
        "2026-11-22T08:00:00Z",
    )
    .events(2);
    commit(&env, "later, honest");
    env.forge(&["ledger", "verify"]).ok();
    let v = violations(&env, "main..HEAD");
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!((&v[0].0, &v[0].1, v[0].2), (&rewrite, &a.rel(&env), 2));
    assert!(v[0].3.contains("rewritten"), "{v:?}");
    let text = env
        .forge(&["ledger", "verify", "--range", "main..HEAD"])
        .fails_with(8);
    let place = format!(
        "commit {}: {}:2: ledger line rewritten",
        &rewrite[..12],
        a.rel(&env)
    );
    assert!(
        text.stdout.contains(&place),
        "{place} not in\n{}",
        text.stdout
    );
}

#[test]
fn a_deleted_ledger_file_is_named() {
    let (env, a, b) = honest();
    std::fs::remove_file(b.path()).unwrap();
    let delete = commit(&env, "drop b");
    let v = violations(&env, "main..HEAD");
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!((&v[0].0, &v[0].1, v[0].2), (&delete, &b.rel(&env), 1));
    assert!(v[0].3.contains("deleted or renamed (6 line(s)"), "{v:?}");
    // A file renamed is a file deleted.
    let moved = env.path(".forge/ledger/2026-11/renamed.jsonl");
    std::fs::rename(a.path(), &moved).unwrap();
    let rename = commit(&env, "rename a");
    let v = violations(&env, "main..HEAD");
    assert!(
        v.iter()
            .any(|p| p.0 == rename && p.1 == a.rel(&env) && p.3.contains("renamed")),
        "{v:?}"
    );
}

#[test]
fn a_truncated_file_is_named() {
    let (env, a, _) = honest();
    let text = std::fs::read_to_string(a.path()).unwrap();
    let kept: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(a.path(), kept.join("\n") + "\n").unwrap();
    let cut = commit(&env, "cut a");
    env.forge(&["ledger", "verify"]).ok();
    let v = violations(&env, "main..HEAD");
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!((&v[0].0, &v[0].1, v[0].2), (&cut, &a.rel(&env), 4));
    assert!(v[0].3.contains("truncated: parent"), "{v:?}");
    assert!(
        v[0].3.contains("had 5 line(s), this commit keeps 3"),
        "{v:?}"
    );
}

#[test]
fn a_merge_of_branches_that_each_added_ledger_files_verifies() {
    let env = repo("");
    let mut a = RunFile::new(
        &env,
        "20261120T080000.000000Z-merge001",
        ADA,
        "2026-11-20T08:00:00Z",
    );
    a.events(2);
    let base = commit(&env, "base");
    env.git(&["checkout", "-q", "-b", "left"]);
    RunFile::new(
        &env,
        "20261121T080000.000000Z-left0001",
        ADA,
        "2026-11-21T08:00:00Z",
    )
    .events(3);
    commit(&env, "left");
    env.git(&["checkout", "-q", "-b", "right", "main"]);
    RunFile::new(
        &env,
        "20261121T090000.000000Z-right001",
        BOB,
        "2026-11-21T09:00:00Z",
    )
    .events(2);
    commit(&env, "right");
    env.git(&["checkout", "-q", "main"]);
    env.git(&["merge", "-q", "--no-ff", "-m", "merge left", "left"]);
    env.git(&["merge", "-q", "--no-ff", "-m", "merge right", "right"]);
    let json = verifies(&env, &format!("{base}..HEAD"));
    assert_eq!(json["history"]["commits"], 4);
    // Each branch's new file was checked once, where it was added.
    assert_eq!(json["history"]["versions"], 2);

    // A merge that keeps only one side's files has deleted the other's.
    env.git(&["checkout", "-q", "-b", "lossy", "left"]);
    env.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-s",
        "ours",
        "-m",
        "lossy merge",
        "right",
    ]);
    let lossy = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let v = violations(&env, &format!("{base}..HEAD"));
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].0, lossy);
    assert!(
        v[0].1.ends_with("right001.jsonl") && v[0].3.contains("deleted"),
        "{v:?}"
    );
}

#[test]
fn a_committed_version_whose_chain_breaks_is_named() {
    let (env, _, b) = honest();
    let text = std::fs::read_to_string(b.path()).unwrap();
    std::fs::write(b.path(), text.replacen("\"i\":1", "\"i\":7", 1)).unwrap();
    let bad = commit(&env, "tamper");
    let v = violations(&env, "main..HEAD");
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(
        v.iter()
            .all(|p| p.0 == bad && p.1 == b.rel(&env) && p.2 == 2),
        "{v:?}"
    );
    assert!(
        v.iter().any(|p| p.3.contains("hash does not match")),
        "{v:?}"
    );
    assert!(v.iter().any(|p| p.3.contains("rewritten")), "{v:?}");
    // The working tree is broken too; both are reported.
    let run = verify_range(&env, "main..HEAD").fails_with(8);
    assert_eq!(run.json()["problems"][0]["line"], 2);
}

#[test]
fn a_bad_range_is_a_usage_error() {
    let (env, _, _) = honest();
    let run = env.forge(&["--json", "ledger", "verify", "--range", "nope..HEAD"]);
    let run = run.fails_with(2);
    assert!(
        run.stderr.contains("'nope' is not a commit"),
        "{}",
        run.stderr
    );
    env.forge(&["ledger", "render", "--range", "main..nope"])
        .fails_with(2);
}

// ---------------------------------------------------------------------------------------
// render

fn tokens(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Value {
    json!({ "input": input, "output": output, "cache_read": cache_read,
            "cache_write": cache_write, "reported": true })
}

fn no_tokens() -> Value {
    json!({ "input": 0, "output": 0, "cache_read": 0, "cache_write": 0, "reported": false })
}

/// The events of one step's attempt up to the gates, as `forge step` writes them.
#[allow(clippy::too_many_arguments)]
fn attempt(
    r: &mut RunFile,
    step: &str,
    harness: &str,
    model: Option<&str>,
    tokens: Value,
    cost: Option<f64>,
    duration_ms: u64,
    verdict: Value,
) {
    let bead = step.split('.').next().unwrap();
    let n: u64 = step.rsplit('.').next().unwrap().parse().unwrap();
    let s = |state: &str, mut d: Value| {
        d["step"] = json!(step);
        d["bead"] = json!(bead);
        d["state"] = json!(state);
        d
    };
    r.ev(
        "step.claimed",
        s(
            "claimed",
            json!({ "attempt": n, "harness": harness, "preset": harness }),
        ),
    );
    r.ev(
        "step.worktree",
        s(
            "preparing",
            json!({ "branch": format!("forge/{bead}/{n}") }),
        ),
    );
    r.ev(
        "harness.started",
        s(
            "running",
            json!({ "harness": harness, "preset": harness, "program": harness }),
        ),
    );
    r.now += i64::try_from(duration_ms / 1000).unwrap();
    r.ev(
        "harness.finished",
        s(
            "checking",
            json!({ "verdict": verdict, "exit_code": 0, "duration_ms": duration_ms,
                    "session_id": format!("sess-{step}"), "model": model, "tokens": tokens,
                    "cost_usd": cost, "tool_calls": 12 }),
        ),
    );
}

fn ok() -> Value {
    json!({ "outcome": "succeeded" })
}

fn gates(r: &mut RunFile, step: &str, head: &str, results: &[(&str, bool, &str)]) {
    let bead = step.split('.').next().unwrap();
    r.ev(
        "step.committed",
        json!({ "step": step, "bead": bead, "head": head, "files": 3 }),
    );
    for (gate, ok, detail) in results {
        r.ev(
            "gate.result",
            json!({ "step": step, "bead": bead, "gate": gate, "ok": ok, "detail": detail, "duration_ms": 4100 }),
        );
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|g| !g.1)
        .map(|g| format!("{}: {}", g.0, g.2))
        .collect();
    if failed.is_empty() {
        r.ev(
            "step.awaiting_approval",
            json!({ "step": step, "bead": bead, "state": "awaiting-approval", "head": head, "risk": "low", "files": 3 }),
        );
    } else {
        r.ev(
            "step.failed",
            json!({ "step": step, "bead": bead, "state": "failed", "reason": format!("gates failed: {}", failed.join("; ")) }),
        );
    }
}

fn approve(r: &mut RunFile, step: &str, head: &str, by: &str, how: &str, merge: &str) {
    let bead = step.split('.').next().unwrap();
    r.ev(
        "step.approved",
        json!({ "step": step, "bead": bead, "head": head, "approved_by": by, "how": how }),
    );
    r.ev("step.merged", json!({ "step": step, "bead": bead, "state": "merged", "head": head, "merge_commit": merge, "base_ref": "refs/heads/main" }));
    r.ev("bead.closed", json!({ "bead": bead, "from": "open", "reason": format!("merged in {} ({step})", &merge[..12]) }));
}

const PRICES: &str = "\n[prices.\"claude-sonnet-4-5\"]\ninput = 3.0\noutput = 15.0\ncache_read = 0.30\ncache_write = 3.75\n";

/// main: two beads planned. feature: a failed attempt, a rejected one and a retry that is
/// approved at the prompt; a step approved by flag and rolled back; a new bead whose step
/// times out; an assumption, a budget and a breaker event. Costs from claude (reported)
/// and codex (not reported, no price: unknown).
fn realistic() -> TestEnv {
    let env = repo(PRICES);
    for (id, title) in [
        ("fg-a1b2", "Parse the config file"),
        ("fg-c3d4", "Document the parser"),
    ] {
        std::fs::create_dir_all(env.path(".forge/beads")).unwrap();
        std::fs::write(
            env.path(&format!(".forge/beads/{id}.toml")),
            format!("schema = 1\nid = \"{id}\"\ntitle = \"{title}\"\nkind = \"task\"\nstatus = \"open\"\n"),
        )
        .unwrap();
    }
    let mut plan = RunFile::new(
        &env,
        "20261120T080000.000000Z-plan0001",
        ADA,
        "2026-11-20T08:00:00Z",
    );
    plan.ev(
        "bead.created",
        json!({ "bead": "fg-a1b2", "title": "Parse the config file" }),
    );
    plan.ev(
        "bead.created",
        json!({ "bead": "fg-c3d4", "title": "Document the parser" }),
    );
    commit(&env, "plan");
    env.git(&["checkout", "-q", "-b", "feature"]);

    let mut r = RunFile::new(
        &env,
        "20261120T090000.000000Z-run00001",
        ADA,
        "2026-11-20T09:00:00Z",
    );
    attempt(
        &mut r,
        "fg-a1b2.1",
        "claude",
        Some("claude-sonnet-4-5"),
        tokens(12_000, 3_400, 45_000, 2_000),
        Some(0.4213),
        154_000,
        ok(),
    );
    gates(
        &mut r,
        "fg-a1b2.1",
        &h('1'),
        &[
            ("tests", true, ""),
            (
                "clippy",
                false,
                "3 warnings: unused variable `x` | and more",
            ),
        ],
    );
    attempt(
        &mut r,
        "fg-a1b2.2",
        "codex",
        Some("gpt-5-codex"),
        tokens(20_000, 5_000, 0, 0),
        None,
        98_000,
        ok(),
    );
    gates(
        &mut r,
        "fg-a1b2.2",
        &h('2'),
        &[("tests", true, ""), ("clippy", true, "")],
    );
    r.ev("step.rejected", json!({ "step": "fg-a1b2.2", "bead": "fg-a1b2", "head": h('2'), "reason": "error paths are untested", "by": ADA }));
    r.ev(
        "step.discarded",
        json!({ "step": "fg-a1b2.2", "bead": "fg-a1b2", "state": "rejected", "attic": h('a') }),
    );
    r.ev("bead.reopened", json!({ "bead": "fg-a1b2", "from": "open", "reason": "rejected: error paths are untested" }));
    attempt(
        &mut r,
        "fg-a1b2.3",
        "claude",
        Some("claude-sonnet-4-5"),
        tokens(9_000, 2_100, 30_000, 0),
        Some(0.312),
        121_000,
        ok(),
    );
    gates(
        &mut r,
        "fg-a1b2.3",
        &h('3'),
        &[("tests", true, ""), ("clippy", true, "")],
    );
    approve(&mut r, "fg-a1b2.3", &h('3'), ADA, "prompt", &h('4'));
    commit(&env, "fg-a1b2: three attempts");

    let mut r = RunFile::new(
        &env,
        "20261121T100000.000000Z-run00002",
        BOB,
        "2026-11-21T10:00:00Z",
    );
    r.ev(
        "bead.created",
        json!({ "bead": "fg-e5f6", "title": "Cache parsed files" }),
    );
    attempt(
        &mut r,
        "fg-c3d4.1",
        "codex",
        Some("gpt-5-codex"),
        tokens(8_000, 1_500, 0, 0),
        None,
        45_000,
        ok(),
    );
    gates(&mut r, "fg-c3d4.1", &h('5'), &[("tests", true, "")]);
    approve(&mut r, "fg-c3d4.1", &h('5'), BOB, "flag", &h('6'));
    r.ev("step.rollback", json!({ "step": "fg-c3d4.1", "bead": "fg-c3d4", "merge_commit": h('6'), "reason": "broke the docs build", "by": ADA }));
    r.ev("step.rolled_back", json!({ "step": "fg-c3d4.1", "bead": "fg-c3d4", "state": "rolled-back", "revert_commit": h('7'), "attic": null }));
    r.ev("bead.reopened", json!({ "bead": "fg-c3d4", "from": "closed", "reason": "rolled back: broke the docs build" }));
    r.ev(
        "assumption.raised",
        json!({ "assumption": "as-7h2k", "text": "the cache lives under the git common dir", "risk": "medium", "bead": "fg-e5f6", "step": "" }),
    );
    r.ev(
        "assumption.raised",
        json!({ "assumption": "as-9m3p", "text": "CI runners have git 2.40 or later", "risk": "low", "bead": "", "step": "" }),
    );
    attempt(
        &mut r,
        "fg-e5f6.1",
        "claude",
        None,
        no_tokens(),
        None,
        1_800_000,
        json!({ "outcome": "failed", "reason": "timed out after 1800s" }),
    );
    r.ev("step.failed", json!({ "step": "fg-e5f6.1", "bead": "fg-e5f6", "state": "failed", "reason": "timed out after 1800s" }));
    r.ev(
        "assumption.resolved",
        json!({ "assumption": "as-7h2k", "status": "validated", "note": "confirmed by Ada", "bead": "fg-e5f6", "step": "" }),
    );
    r.ev(
        "breaker.tripped",
        json!({ "failures": 3, "reason": "circuit breaker: 3 consecutive failed steps" }),
    );
    r.ev(
        "budget.exhausted",
        json!({ "reason": "money budget for 2026-11-21 used: $5.31 of $5.00",
                "spent": { "day": "2026-11-21", "money": 5.31, "tokens": 812_000, "steps": 9 } }),
    );
    r.ev(
        "tick",
        json!({ "stopped": "budget", "ran": 2, "reclaimed": 0, "awaiting_approval": 0 }),
    );
    commit(&env, "fg-c3d4 and fg-e5f6");
    env
}

#[test]
fn render_markdown_snapshot() {
    let env = realistic();
    let md = env.forge(&["ledger", "render"]).ok().stdout;
    insta::assert_snapshot!("render_markdown", md);
}

#[test]
fn render_json_snapshot() {
    let env = realistic();
    let json = env
        .forge(&["ledger", "render", "--format", "json"])
        .ok()
        .stdout;
    // --json says the same.
    assert_eq!(json, env.forge(&["--json", "ledger", "render"]).ok().stdout);
    insta::assert_snapshot!("render_json", json);
    let v: Value = serde_json::from_str(&json).unwrap();
    let t = &v["totals"];
    assert_eq!(
        (
            t["steps"].as_u64(),
            t["merged"].as_u64(),
            t["failed"].as_u64(),
            t["rejected"].as_u64(),
            t["rolled_back"].as_u64()
        ),
        (Some(5), Some(2), Some(2), Some(1), Some(1))
    );
    assert_eq!(t["cost"]["reported_usd"], json!(0.7333));
    assert_eq!(t["cost"]["unknown_runs"], 3);
    assert_eq!(t["tokens"]["unreported_runs"], 1);
}

#[test]
fn render_counts_only_what_the_range_added() {
    let env = realistic();
    let first = env.git(&["rev-parse", "HEAD~1"]);
    let v = env
        .forge(&[
            "--json",
            "ledger",
            "render",
            "--range",
            &format!("{}..HEAD", first.trim()),
        ])
        .ok()
        .json();
    let beads: Vec<&str> = v["beads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bead"].as_str().unwrap())
        .collect();
    assert_eq!(beads, ["fg-e5f6", "fg-c3d4"]);
    assert_eq!(v["commits"], 1);
    // An empty range says so.
    let md = env
        .forge(&["ledger", "render", "--range", "HEAD..HEAD"])
        .ok()
        .stdout;
    assert!(
        md.contains("No agent work was recorded in this range."),
        "{md}"
    );
    // On main there is nothing new relative to main; the whole history is another range.
    env.git(&["checkout", "-q", "main"]);
    let v = env.forge(&["--json", "ledger", "render"]).ok().json();
    assert_eq!(
        (v["events"].as_u64(), v["range"]["spec"].as_str()),
        (Some(0), Some("main...HEAD"))
    );
    env.git(&["branch", "-q", "-m", "main", "trunk"]);
    let v = env.forge(&["--json", "ledger", "render"]).ok().json();
    assert_eq!(v["range"]["base"], Value::Null);
    assert_eq!(v["events"], 2);
}

#[test]
fn render_warns_about_rewritten_files_and_bad_lines() {
    let (env, a, b) = honest();
    let text = std::fs::read_to_string(b.path()).unwrap();
    std::fs::write(b.path(), text.replacen("\"i\":1", "\"i\":7", 1)).unwrap();
    std::fs::remove_file(a.path()).unwrap();
    commit(&env, "tamper");
    let run = env.forge(&["ledger", "render"]).ok();
    assert!(
        run.stdout.contains(&format!(
            "**Warning:** {} was deleted in this range",
            a.rel(&env)
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 line(s) of"), "{}", run.stdout);
    assert!(run.stderr.contains("do not verify"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// cost

#[test]
fn cost_groups_and_keeps_unknown_unknown() {
    let env = realistic();
    let json = env.forge(&["--json", "cost"]).ok().json();
    assert_eq!(json["rows"], json!([]));
    let total = &json["total"];
    assert_eq!(total["tokens"]["runs"], 5);
    assert_eq!(total["tokens"]["total"], 138_000);
    assert_eq!(total["cost"]["reported_usd"], json!(0.7333));
    assert_eq!(total["cost"]["estimated_usd"], Value::Null);
    assert_eq!(total["cost"]["unknown_runs"], 3);

    // A price for codex turns its runs into estimates; the run without tokens stays unknown.
    env.configure("[prices.\"gpt-5\"]\ninput = 1.25\noutput = 10\n");
    let by_harness = env.forge(&["cost", "--by", "harness"]).ok().stdout;
    insta::assert_snapshot!("cost_by_harness", by_harness);
    let json = env
        .forge(&["--json", "cost", "--by", "harness"])
        .ok()
        .json();
    assert_eq!(json["by"], "harness");
    let codex = &json["rows"][1];
    assert_eq!(codex["key"], "codex");
    assert_eq!(codex["cost"]["reported_usd"], Value::Null);
    // (20,000 + 8,000) * 1.25 + (5,000 + 1,500) * 10, per million.
    assert_eq!(codex["cost"]["estimated_usd"], json!(0.1));
    assert_eq!(codex["cost"]["unknown_runs"], 0);
    assert_eq!(json["rows"][0]["cost"]["unknown_runs"], 1);

    let keys = |by: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--json", "cost", "--by", by];
        args.extend_from_slice(extra);
        env.forge(&args).ok().json()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(keys("bead", &[]), ["fg-a1b2", "fg-c3d4", "fg-e5f6"]);
    assert_eq!(
        keys("step", &[]),
        [
            "fg-a1b2.1",
            "fg-a1b2.2",
            "fg-a1b2.3",
            "fg-c3d4.1",
            "fg-e5f6.1"
        ]
    );
    assert_eq!(keys("day", &[]), ["2026-11-20", "2026-11-21"]);
    assert_eq!(keys("day", &["--since", "2026-11-21"]), ["2026-11-21"]);
    assert_eq!(
        keys("step", &["--since", "2026-11-20T09:05:00Z"]),
        ["fg-a1b2.2", "fg-a1b2.3", "fg-c3d4.1", "fg-e5f6.1"]
    );
    let text = env
        .forge(&["cost", "--by", "day", "--since", "2026-12-01"])
        .ok()
        .stdout;
    assert!(
        text.contains("no harness runs in the ledger since 2026-12-01T00:00:00Z"),
        "{text}"
    );
    env.forge(&["cost", "--since", "yesterday"]).fails_with(2);
    env.forge(&["cost", "--by", "month"]).fails_with(2);

    env.configure("[prices.\"broken\"]\ninput = \"cheap\"\noutput = 1\n");
    let run = env.forge(&["cost"]).fails_with(5);
    // Located: the file, line and column of the bad amount.
    assert!(
        run.stderr.contains(".forge/config.toml:") && run.stderr.contains("expected f64"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------
// The CI recipe

/// The shell lines of every `run:` step in the workflow of docs/ci.md that calls forge.
fn ci_steps() -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md")).unwrap();
    let yaml = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/ci.md has a yaml block");
    let mut steps = Vec::new();
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((indent, rest)) = line.split_once("run:") else {
            continue;
        };
        let rest = rest.trim();
        let script = if rest == "|" {
            let mut body = Vec::new();
            while let Some(next) = lines.peek() {
                if next.trim().is_empty() || next.len() - next.trim_start().len() > indent.len() {
                    body.push(next.trim().to_owned());
                    lines.next();
                } else {
                    break;
                }
            }
            body.join("\n")
        } else {
            rest.to_owned()
        };
        if script.contains("forge ledger") {
            steps.push(script);
        }
    }
    steps
}

/// Runs the recipe's steps as GitHub Actions would on a pull request from `feature` into
/// main: checked out at a merge commit, with origin/main fetched.
fn run_ci(env: &TestEnv) -> (Vec<crate::env::Run>, String) {
    env.git(&["update-ref", "refs/remotes/origin/main", "main"]);
    env.git(&["checkout", "-q", "--detach", "main"]);
    env.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge feature into main",
        "feature",
    ]);
    let summary = env.home.join("summary.md");
    let bin_dir = forge_bin().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let steps = ci_steps();
    assert_eq!(steps.len(), 2, "{steps:?}");
    let runs = steps
        .iter()
        .map(|script| {
            to_run(
                clean_command("bash", &env.home)
                    .args(["-eo", "pipefail", "-c", script])
                    .current_dir(&env.repo)
                    .env("PATH", &path)
                    .env("GITHUB_BASE_REF", "main")
                    .env("GITHUB_STEP_SUMMARY", &summary)
                    .env("FORGE_NOW", crate::env::NOW)
                    .env("NO_COLOR", "1")
                    .output()
                    .unwrap(),
            )
        })
        .collect();
    (runs, std::fs::read_to_string(summary).unwrap_or_default())
}

#[test]
fn the_ci_recipe_verifies_and_summarises_a_pull_request() {
    let env = realistic();
    let (runs, summary) = run_ci(&env);
    for r in &runs {
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
    assert!(
        runs[0]
            .stdout
            .contains("history ok: 3 commits in origin/main...HEAD"),
        "{}",
        runs[0].stdout
    );
    assert!(summary.contains("### forge ledger review"), "{summary}");
    assert!(
        summary.contains("#### `fg-a1b2` Parse the config file"),
        "{summary}"
    );
    assert!(
        summary.contains("3 commit(s), 55 new ledger event(s) in 2 file(s)"),
        "{summary}"
    );
}

#[test]
fn the_ci_recipe_fails_a_pull_request_that_rewrote_the_ledger() {
    let (env, a, _) = honest();
    let text = std::fs::read_to_string(a.path()).unwrap();
    std::fs::write(
        a.path(),
        text.lines().take(2).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    commit(&env, "cut a");
    let (runs, summary) = run_ci(&env);
    assert_eq!(runs[0].code, 8, "{}\n{}", runs[0].stdout, runs[0].stderr);
    assert!(runs[0].stdout.contains("truncated"), "{}", runs[0].stdout);
    // The summary is still written, so the reviewer sees what the ledger says.
    assert_eq!(runs[1].code, 0, "{}", runs[1].stderr);
    assert!(summary.contains("### forge ledger review"), "{summary}");
}
