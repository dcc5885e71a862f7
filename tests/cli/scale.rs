//! Several machines, one repository (DESIGN.md §5, RELIABILITY.md S15): clones of one bare
//! remote ticking with `--remote origin`, all on loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::env::{TestEnv, clean_command, to_run};

/// A bare remote with forge initialised, `beads` beads and a script harness committed, and
/// `clones` clones of it.
pub struct Cluster {
    /// The repository the remote was made from (kept for its temporary directory).
    pub seed: TestEnv,
    pub remote: PathBuf,
    pub beads: Vec<String>,
    pub clones: Vec<TestEnv>,
}

pub fn cluster(clones: usize, beads: usize, script: &str, config: &[(&str, &str)]) -> Cluster {
    let seed = TestEnv::new();
    seed.script_harness("fake", script);
    seed.default_harness("fake");
    for (from, to) in config {
        seed.edit_config(from, to);
    }
    let beads: Vec<String> = (0..beads)
        .map(|i| seed.create(&[&format!("Bead {i}")]))
        .collect();
    seed.commit_all("forge: beads");
    let remote = seed.repo.parent().unwrap().join("remote.git");
    let out = clean_command("git", &seed.home)
        .args(["clone", "-q", "--bare"])
        .arg(&seed.repo)
        .arg(&remote)
        .output()
        .unwrap();
    assert!(out.status.success());
    let clones = (1..=clones as u64)
        .map(|i| TestEnv::clone_of(&remote, i * 100_000))
        .collect();
    Cluster {
        seed,
        remote,
        beads,
        clones,
    }
}

impl Cluster {
    /// git in the bare remote.
    pub fn remote_git(&self, args: &[&str]) -> String {
        let out = clean_command("git", &self.seed.home)
            .arg("--git-dir")
            .arg(&self.remote)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Bead -> the remote's claim record, newest first through its history.
    pub fn claim_histories(&self) -> BTreeMap<String, Vec<Value>> {
        let mut out = BTreeMap::new();
        for line in self
            .remote_git(&["for-each-ref", "--format=%(refname)", "refs/forge/claims/"])
            .lines()
        {
            let bead = line.trim_start_matches("refs/forge/claims/").to_owned();
            let log = self.remote_git(&["log", "--format=%b%x00", line]);
            let records = log
                .split('\0')
                .filter_map(|b| b.lines().find(|l| l.starts_with('{')))
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect();
            out.insert(bead, records);
        }
        out
    }

    /// Every ledger event in the remote's state ref.
    pub fn remote_events(&self) -> Vec<Value> {
        let state = "refs/forge/state/main";
        let files =
            self.remote_git(&["ls-tree", "-r", "--name-only", state, "--", ".forge/ledger"]);
        let mut events = Vec::new();
        for f in files.lines().filter(|f| f.ends_with(".jsonl")) {
            let text = self.remote_git(&["show", &format!("{state}:{f}")]);
            for line in text.lines() {
                events.push(serde_json::from_str::<Value>(line).unwrap());
            }
        }
        events
    }

    /// `kind` events in the remote's ledger, per bead.
    pub fn count(&self, kind: &str) -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for e in self.remote_events() {
            if e["kind"] == kind {
                *n.entry(e["data"]["bead"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        n
    }
}

/// `forge --json tick --remote origin ARGS...` in `env`.
pub fn tick(env: &TestEnv, args: &[&str]) -> crate::env::Run {
    let mut all = vec!["--json", "tick", "--remote", "origin"];
    all.extend_from_slice(args);
    env.forge(&all)
}

fn ok_json(run: crate::env::Run) -> Value {
    run.ok().json()
}

#[allow(dead_code)]
fn exists(p: &Path) -> bool {
    p.exists()
}

#[test]
fn two_clones_work_every_bead_once_and_publish_every_result() {
    let c = cluster(
        2,
        4,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[("steps = 1", "steps = 10")],
    );
    for env in &c.clones {
        let r = ok_json(tick(env, &["--jobs", "2"]));
        assert!(r["ran"].is_array(), "{r}");
    }
    let histories = c.claim_histories();
    assert_eq!(histories.len(), 4, "{histories:?}");
    for bead in &c.beads {
        let h = &histories[bead];
        assert_eq!(h[0]["state"], "released", "{h:?}");
        assert_eq!(h[0]["outcome"], "awaiting-approval");
        assert_eq!(h[0]["generation"], 1);
        let head = h[0]["head"].as_str().unwrap();
        let branch = c.remote_git(&["rev-parse", &format!("refs/heads/forge/{bead}/1")]);
        assert_eq!(branch.trim(), head);
    }
    assert!(c.count("claim.taken").values().all(|&n| n == 1));
    assert_eq!(c.count("claim.taken").len(), 4);
    assert_eq!(c.count("claim.released").len(), 4);
    let _ = to_run;
}

/// `forge --json tick --remote origin` in `env` under the clock pinned at `now`.
fn tick_at(env: &TestEnv, now: &str, args: &[&str]) -> crate::env::Run {
    let mut all = vec!["--json", "tick", "--remote", "origin"];
    all.extend_from_slice(args);
    to_run(env.command(&all).env("FORGE_NOW", now).output().unwrap())
}

fn local_events(env: &TestEnv, kind: &str) -> Vec<Value> {
    env.events()
        .into_iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[test]
fn a_remote_that_refuses_refs_forge_is_named_with_the_setting_and_nothing_is_claimed() {
    let c = cluster(1, 1, "echo done > \"$FORGE_BEAD.txt\"", &[]);
    let hook = c.remote.join("hooks/update");
    std::fs::write(
        &hook,
        "#!/bin/sh\ncase \"$1\" in refs/forge/*) echo \"refs/forge is protected\" >&2; exit 1;; esac\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = &c.clones[0];
    let run = tick(env, &[]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let message = run.error_json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let hints = run.error_json()["error"]["hints"].to_string();
    assert!(
        message.contains(&format!("refs/forge/claims/{}", c.beads[0]))
            && message.contains("refused"),
        "{message}"
    );
    assert!(
        hints.contains("refs/forge/*") && hints.contains("scale-out"),
        "{hints}"
    );
    // No local state says the bead was claimed or worked on.
    assert!(local_events(env, "claim.taken").is_empty());
    assert!(local_events(env, "step.claimed").is_empty());
    let steps = env.forge(&["--json", "steps"]).ok().json();
    assert_eq!(steps["steps"].as_array().map_or(0, Vec::len), 0, "{steps}");
    assert!(
        !env.path(".git/forge/claims").exists()
            || std::fs::read_dir(env.path(".git/forge/claims"))
                .unwrap()
                .next()
                .is_none()
    );
    assert!(c.claim_histories().is_empty());
}

/// A harness that works, then, in a clone that has a `hang` file beside it, says it started
/// and waits (up to a minute) as a stuck agent would.
const HANGS_IN_ONE_CLONE: &str = "echo work > \"$FORGE_BEAD.txt\"; \
     if [ -e \"$FORGE_REPO/../hang\" ]; then : > \"$FORGE_REPO/../started\"; sleep 60; fi";

/// Two clones over one bead with `[tick] claim_lease = lease`, the first of them with the
/// `hang` file: its harness hangs after working.
fn one_hangs(lease: u64) -> Cluster {
    let c = cluster(
        2,
        1,
        HANGS_IN_ONE_CLONE,
        &[
            ("mode = \"on\"", "mode = \"off\""),
            (
                "breaker = 3",
                &format!("breaker = 3\nclaim_lease = {lease}"),
            ),
        ],
    );
    std::fs::write(c.clones[0].repo.parent().unwrap().join("hang"), "").unwrap();
    c
}

#[test]
fn a_killed_holder_is_taken_over_after_its_lease_and_its_stale_result_is_refused() {
    let c = one_hangs(60);
    let (a, b) = (&c.clones[0], &c.clones[1]);
    let bead = &c.beads[0];
    let mut killed = a
        .command(&["--json", "tick", "--remote", "origin"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::env::wait_for_marker(&a.repo.parent().unwrap().join("started"), "a's step");
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    std::fs::remove_file(a.repo.parent().unwrap().join("hang")).unwrap();

    // Within the lease (09:00:30), the bead is a's: b runs nothing.
    let r = tick_at(b, "2026-11-21T09:00:30Z", &[]).ok().json();
    assert_eq!(r["ran"].as_array().unwrap().len(), 0, "{r}");
    // After it (09:02), b takes it over with generation 2 and finishes it.
    let r = tick_at(b, "2026-11-21T09:02:00Z", &[]).ok().json();
    assert_eq!(r["ran"][0]["step"], format!("{bead}.2"), "{r}");
    assert_eq!(r["ran"][0]["state"], "awaiting-approval", "{r}");
    let h = &c.claim_histories()[bead];
    assert_eq!(h[0]["state"], "released");
    assert_eq!(h[0]["generation"], 2);
    assert_eq!(h[0]["step"], format!("{bead}.2"));

    // a comes back: its step is reclaimed (work in the attic), its release refused.
    let r = tick_at(a, "2026-11-21T09:03:00Z", &[]).ok().json();
    assert_eq!(r["reclaimed"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["ran"].as_array().unwrap().len(), 0, "{r}");
    let lost = local_events(a, "claim.lost");
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0]["data"]["generation"], 1);
    assert_eq!(lost[0]["data"]["by_generation"], 2);
    a.git(&[
        "rev-parse",
        "--verify",
        &format!("refs/forge/attic/{bead}.1"),
    ]);
    // Nothing of a's stale step reached the remote's branches or its claim.
    let h = &c.claim_histories()[bead];
    assert_eq!(
        (h[0]["generation"].clone(), h[0]["state"].clone()),
        (2.into(), "released".into())
    );
    assert!(
        c.remote_git(&["for-each-ref", &format!("refs/heads/forge/{bead}/1")])
            .is_empty()
    );
    // b's result is on the remote, and a's refusal is in the remote's ledger.
    c.remote_git(&[
        "rev-parse",
        "--verify",
        &format!("refs/heads/forge/{bead}/2"),
    ]);
    assert_eq!(c.count("claim.lost").get(bead.as_str()), Some(&1));
    assert_eq!(c.count("claim.released").get(bead.as_str()), Some(&1));
}

#[test]
fn a_holder_cut_off_past_its_lease_stops_when_its_renewal_finds_the_claim_taken_over() {
    let c = one_hangs(3);
    let (a, b) = (&c.clones[0], &c.clones[1]);
    let bead = &c.beads[0];
    let started = std::time::Instant::now();
    let slow = a
        .command(&["--json", "tick", "--remote", "origin"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::env::wait_for_marker(&a.repo.parent().unwrap().join("started"), "a's step");
    // b's clock is far ahead: a's lease (renewed every second, from a's clock) looks run
    // out to b, which takes the bead over while a's step still runs.
    let r = tick_at(b, "2026-11-21T10:00:00Z", &[]).ok().json();
    assert_eq!(r["ran"][0]["step"], format!("{bead}.2"), "{r}");
    let r = to_run(slow.wait_with_output().unwrap()).ok().json();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "a's step was stopped by its renewal, not by its harness ending"
    );
    assert_eq!(r["ran"][0]["state"], "failed", "{r}");
    assert!(
        r["ran"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("taken over by generation 2"),
        "{r}"
    );
    a.git(&[
        "rev-parse",
        "--verify",
        &format!("refs/forge/attic/{bead}.1"),
    ]);
    let h = &c.claim_histories()[bead];
    assert_eq!(h[0]["generation"], 2);
    assert_eq!(h[0]["step"], format!("{bead}.2"));
    // a's step cannot be approved: it failed, and the claim names b's.
    a.forge(&["approve", &format!("{bead}.1"), "--yes"])
        .fails_with(7);
}

#[test]
fn four_clones_with_two_jobs_each_work_thirty_beads_exactly_once() {
    let c = cluster(
        4,
        30,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[("steps = 1", "steps = 30")],
    );
    for _round in 0..4 {
        let children: Vec<_> = c
            .clones
            .iter()
            .map(|env| {
                env.command(&["--json", "tick", "--remote", "origin", "--jobs", "2"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            to_run(child.wait_with_output().unwrap()).ok();
        }
        let released = c
            .claim_histories()
            .values()
            .filter(|h| h[0]["state"] == "released")
            .count();
        if released == 30 {
            break;
        }
    }
    let histories = c.claim_histories();
    assert_eq!(histories.len(), 30);
    for bead in &c.beads {
        let h = &histories[bead];
        assert_eq!(h[0]["state"], "released", "{bead}: {h:?}");
        assert_eq!(h[0]["outcome"], "awaiting-approval", "{bead}: {h:?}");
        assert_eq!(h[0]["generation"], 1, "{bead}: {h:?}");
        let branch = c.remote_git(&["rev-parse", &format!("refs/heads/forge/{bead}/1")]);
        assert_eq!(branch.trim(), h[0]["head"].as_str().unwrap());
    }
    // Counted from the remote's ledger: one claim and one step per bead.
    let taken = c.count("claim.taken");
    let steps = c.count("step.claimed");
    assert_eq!(taken.len(), 30, "{taken:?}");
    assert!(taken.values().all(|&n| n == 1), "double claims: {taken:?}");
    assert!(steps.values().all(|&n| n == 1), "double steps: {steps:?}");
    assert_eq!(c.count("step.awaiting_approval").len(), 30);

    // The remote's history verifies: a fresh clone checks out the state ref.
    let checker = TestEnv::clone_of(&c.remote, 900_000);
    checker.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/forge/state/main:refs/forge/state/main",
    ]);
    checker.git(&["checkout", "-q", "--detach", "refs/forge/state/main"]);
    checker.forge(&["ledger", "verify"]).ok();
    checker
        .forge(&["ledger", "verify", "--range", "origin/main..HEAD"])
        .ok();
}

#[test]
fn status_shows_the_remote_claims_with_a_configured_remote() {
    let c = cluster(
        1,
        2,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[("breaker = 3", "breaker = 3\nremote = \"origin\"")],
    );
    let env = &c.clones[0];
    // [tick] remote, without --remote.
    env.forge(&["tick"]).ok();
    let status = env.forge(&["--json", "status"]).ok().json();
    let claims = status["remote_claims"].as_array().unwrap();
    assert_eq!(claims.len(), 1, "{status}");
    assert_eq!(claims[0]["state"], "released");
    assert_eq!(claims[0]["outcome"], "awaiting-approval");
    assert_eq!(claims[0]["generation"], 1);
    let text = env.forge(&["status"]).ok().stdout;
    assert!(
        text.contains("remote claim:") && text.contains("released awaiting-approval"),
        "{text}"
    );
}

/// A cluster whose committed config names the remote (`[tick] remote = "origin"`), so that
/// approvals, rejections and rollbacks in any clone settle the claim there.
fn configured_cluster(clones: usize) -> Cluster {
    cluster(
        clones,
        1,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[("breaker = 3", "breaker = 3\nremote = \"origin\"")],
    )
}

/// Brings the remote's step branches and its state ref into `env` (the approver's clone),
/// as docs/scale-out.md says to before approving.
fn fetch_results(env: &TestEnv) {
    env.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/heads/forge/*:refs/heads/forge/*",
    ]);
    env.git(&["fetch", "-q", "origin", "refs/forge/state/main"]);
    env.git(&["merge", "-q", "--ff-only", "FETCH_HEAD"]);
}

/// The newest record of the remote's claim on `bead`.
fn claim(c: &Cluster, bead: &str) -> Value {
    c.claim_histories()[bead][0].clone()
}

#[test]
fn a_rejection_in_another_clone_frees_the_bead_on_the_remote_for_a_third_clone() {
    let c = configured_cluster(3);
    let (a, b, third) = (&c.clones[0], &c.clones[1], &c.clones[2]);
    let bead = &c.beads[0];
    a.forge(&["tick"]).ok();
    assert_eq!(claim(&c, bead)["outcome"], "awaiting-approval");
    // While it waits, the bead is a's: the third clone runs nothing.
    let r = ok_json(tick(third, &[]));
    assert_eq!(r["ran"].as_array().unwrap().len(), 0, "{r}");

    fetch_results(b);
    b.forge(&["reject", &format!("{bead}.1"), "--reason", "not like this"])
        .ok();
    let h = claim(&c, bead);
    assert_eq!(
        (
            h["state"].as_str(),
            h["outcome"].as_str(),
            h["generation"].as_u64()
        ),
        (Some("released"), Some("rejected"), Some(1)),
        "{h}"
    );
    assert_eq!(
        local_events(b, "claim.released")
            .last()
            .map(|e| e["data"]["outcome"].clone()),
        Some("rejected".into())
    );

    // Another clone takes the bead with the next generation and attempt.
    let r = ok_json(tick(third, &[]));
    assert_eq!(r["ran"][0]["step"], format!("{bead}.2"), "{r}");
    let h = claim(&c, bead);
    assert_eq!(h["generation"], 2, "{h}");
    assert_eq!(h["outcome"], "awaiting-approval", "{h}");
}

#[test]
fn an_approval_in_another_clone_marks_the_claim_merged_and_a_rollback_frees_the_bead() {
    let c = configured_cluster(3);
    let (a, b, third) = (&c.clones[0], &c.clones[1], &c.clones[2]);
    let bead = &c.beads[0];
    a.forge(&["tick"]).ok();
    fetch_results(b);
    let head = claim(&c, bead)["head"].as_str().unwrap().to_owned();
    b.forge(&["approve", &format!("{bead}.1"), "--yes", "--head", &head])
        .ok();
    assert_eq!(claim(&c, bead)["outcome"], "merged");
    // The third clone's base branch is behind (the bead is open there): the remote still
    // keeps the merged bead from it, so it is never run twice.
    let r = ok_json(tick(third, &[]));
    assert_eq!(r["ran"].as_array().unwrap().len(), 0, "{r}");

    // Rolled back, the bead is open again, on the remote too.
    b.forge(&["rollback", &format!("{bead}.1"), "--reason", "broke prod"])
        .ok();
    assert_eq!(claim(&c, bead)["outcome"], "rolled-back");
    let r = ok_json(tick(third, &[]));
    assert_eq!(r["ran"][0]["step"], format!("{bead}.2"), "{r}");
    assert_eq!(claim(&c, bead)["generation"], 2);
}

#[test]
fn a_rejection_the_remote_missed_is_settled_by_the_next_tick_of_that_clone() {
    let c = configured_cluster(2);
    let (a, b) = (&c.clones[0], &c.clones[1]);
    let bead = &c.beads[0];
    a.forge(&["tick"]).ok();
    fetch_results(b);
    // The remote is out of reach while b rejects: the rejection stands, the claim lags.
    let away = c.remote.with_extension("away");
    std::fs::rename(&c.remote, &away).unwrap();
    b.forge(&["reject", &format!("{bead}.1"), "--reason", "no"])
        .ok();
    std::fs::rename(&away, &c.remote).unwrap();
    assert_eq!(claim(&c, bead)["outcome"], "awaiting-approval");
    // b's next tick settles it (and, the bead being free, takes it again itself).
    b.forge(&["tick"]).ok();
    let history = &c.claim_histories()[bead];
    let settled: Vec<(u64, &str)> = history
        .iter()
        .rev()
        .filter(|r| r["state"] == "released")
        .map(|r| {
            (
                r["generation"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        settled,
        [
            (1, "awaiting-approval"),
            (1, "rejected"),
            (2, "awaiting-approval")
        ],
        "{history:?}"
    );
    assert_eq!(history[0]["step"], format!("{bead}.2"));
}

#[test]
fn approving_a_waiting_step_whose_claim_a_newer_generation_holds_is_refused_and_merges_nothing() {
    let c = configured_cluster(3);
    let (a, b, third) = (&c.clones[0], &c.clones[1], &c.clones[2]);
    let bead = &c.beads[0];
    a.forge(&["tick"]).ok();
    // Elsewhere, the result is turned down and the bead taken again, generation 2.
    fetch_results(b);
    b.forge(&["reject", &format!("{bead}.1"), "--reason", "no"])
        .ok();
    let r = ok_json(tick(third, &[]));
    assert_eq!(r["ran"][0]["step"], format!("{bead}.2"), "{r}");

    // a still has its step waiting for approval; approving it is refused.
    let steps = a.forge(&["--json", "steps"]).ok().json();
    assert!(steps.to_string().contains("awaiting-approval"), "{steps}");
    let main_before = a.git(&["rev-parse", "main"]);
    let run = a
        .forge(&["--json", "approve", &format!("{bead}.1"), "--yes"])
        .fails_with(7);
    let error = run.error_json();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{bead}.1"))
            && message.contains("generation 2")
            && message.contains(&format!("{bead}.2")),
        "{error}"
    );
    assert!(
        error["error"]["hints"]
            .to_string()
            .contains("nothing was merged"),
        "{error}"
    );
    assert_eq!(a.git(&["rev-parse", "main"]), main_before);
    assert!(local_events(a, "step.merged").is_empty());
    assert_eq!(a.show(bead)["status"], "open");
}

impl Cluster {
    /// Puts a claim commit with `record` (JSON) on the remote as the claim on `bead`, as a
    /// holder that then vanished would have left it.
    fn plant_claim(&self, bead: &str, record: &Value) {
        let tree = {
            let out = clean_command("git", &self.seed.home)
                .arg("--git-dir")
                .arg(&self.remote)
                .args(["hash-object", "-t", "tree", "-w", "--stdin"])
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        let message = format!("forge claim {bead}: taken (generation 1)\n\n{record}\n");
        let commit = self.remote_git(&["commit-tree", &tree, "-m", &message]);
        self.remote_git(&[
            "update-ref",
            &format!("refs/forge/claims/{bead}"),
            commit.trim(),
        ]);
    }
}

impl Cluster {
    /// Puts a claim commit whose message is `message` verbatim on the remote as the claim
    /// on `bead`.
    fn plant_raw_claim(&self, bead: &str, message: &str) {
        let tree = self.remote_git(&["hash-object", "-t", "tree", "-w", "/dev/null"]);
        let commit = self.remote_git(&["commit-tree", tree.trim(), "-m", message]);
        self.remote_git(&[
            "update-ref",
            &format!("refs/forge/claims/{bead}"),
            commit.trim(),
        ]);
    }
}

fn record(bead: &str, state: &str, expires: i64, outcome: Option<&str>) -> Value {
    let mut r = serde_json::json!({
        "schema": 1, "bead": bead, "state": state, "generation": 1,
        "holder": {"host": "gone-host", "clone": "c0ffee", "pid": 4242},
        "expires": expires, "base": "a".repeat(40), "step": format!("{bead}.1"),
        "attempt": 1,
    });
    if let Some(o) = outcome {
        r["outcome"] = o.into();
        r["head"] = "b".repeat(40).into();
    }
    r
}

fn claim_findings(run: &crate::env::Run) -> Vec<Value> {
    run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "claims")
        .cloned()
        .collect()
}

#[test]
fn doctor_names_a_stale_claim_and_a_claim_without_its_step_and_fix_frees_the_bead() {
    let c = cluster(
        1,
        2,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[("breaker = 3", "breaker = 3\nremote = \"origin\"")],
    );
    let env = &c.clones[0];
    let (stale, orphan) = (&c.beads[0], &c.beads[1]);
    c.plant_claim(stale, &record(stale, "held", 1_000, None));
    c.plant_claim(
        orphan,
        &record(orphan, "released", 1_000, Some("awaiting-approval")),
    );

    let run = env.forge(&["--json", "doctor"]);
    let findings = claim_findings(&run);
    assert_eq!(findings.len(), 2, "{findings:?}");
    let of = |bead: &str| {
        findings
            .iter()
            .find(|f| f["message"].as_str().unwrap().contains(bead))
            .unwrap_or_else(|| panic!("no finding names {bead}: {findings:?}"))
            .clone()
    };
    let f = of(stale);
    assert_eq!(f["severity"], "warning", "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("ran out of its lease") && message.contains("gone-host"),
        "{f}"
    );
    assert!(f["fix"].as_str().unwrap().contains("forge tick"), "{f}");
    let f = of(orphan);
    assert_eq!(f["severity"], "error", "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("refs/heads/forge/{orphan}/1"))
            && message.contains(&format!(".forge/checkpoints/{orphan}.1.toml")),
        "{f}"
    );
    assert!(f["fix"].as_str().unwrap().contains("--fix"), "{f}");
    assert_eq!(run.code, 1, "an error remains: {}", run.stdout);
    let text = env.forge(&["doctor"]).stdout;
    assert!(
        text.contains("claims") && text.contains("fix: on the holder's clone"),
        "{text}"
    );

    // --fix gives the orphaned claim up as failed; the stale one is left to a tick.
    let run = env.forge(&["--json", "doctor", "--fix"]);
    let fixed: Vec<Value> = claim_findings(&run)
        .into_iter()
        .filter(|f| f["fixed"] == true)
        .collect();
    assert_eq!(fixed.len(), 1, "{}", run.stdout);
    assert_eq!(claim(&c, orphan)["outcome"], "failed");
    assert_eq!(claim(&c, orphan)["generation"], 1);
    // Now a tick takes both beads over, generation 2.
    env.edit_config("steps = 1", "steps = 5");
    let r = ok_json(tick(env, &[]));
    assert_eq!(r["ran"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(claim(&c, stale)["generation"], 2);
    assert_eq!(claim(&c, orphan)["generation"], 2);
    let run = env.forge(&["--json", "doctor"]);
    let left = claim_findings(&run);
    assert!(left.len() == 1 && left[0]["severity"] == "ok", "{left:?}");
}

#[test]
fn watch_shows_the_remote_claims_through_the_model_as_status_reads_them() {
    let c = cluster(
        2,
        2,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[("breaker = 3", "breaker = 3\nremote = \"origin\"")],
    );
    let (a, b) = (&c.clones[0], &c.clones[1]);
    a.forge(&["tick"]).ok();
    // A claim held by a machine that then went away, lease run out at 1000.
    c.plant_claim(&c.beads[1], &record(&c.beads[1], "held", 1_000, None));

    // b watches: it has run nothing, yet sees both claims after its first fetch.
    let (_, layout) = forge::workspace::open_repo(&b.repo).unwrap();
    let config = forge::config::Config::load(&layout.config()).unwrap();
    let now = 1_060;
    let mut watcher = forge::watch::model::Watcher::from_parts(
        layout.clone(),
        config,
        forge::redact::Redactor::default(),
        forge::clock::Clock::Fixed(now),
    )
    .unwrap();
    let snap = watcher.refresh();
    assert!(snap.problems.is_empty(), "{:?}", snap.problems);
    assert_eq!(snap.remote.as_deref(), Some("origin"));
    assert_eq!(snap.claims.len(), 2, "{snap:?}");
    // Held ones first, as `forge status` lists them, from the same reading.
    let held = &snap.claims[0];
    assert_eq!(
        (
            held.bead.as_str(),
            held.lease_left,
            held.holder.host.as_str()
        ),
        (c.beads[1].as_str(), Some(-60), "gone-host")
    );
    let released = &snap.claims[1];
    assert_eq!(released.bead, c.beads[0]);
    assert_eq!(
        released.outcome,
        Some(forge::step::checkpoint::State::AwaitingApproval)
    );
    assert_eq!(
        snap.claims,
        forge::remote::overview_fetched(&layout, "origin", now).unwrap()
    );
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(110, 30)).unwrap();
    terminal
        .draw(|f| forge::watch::view::render(f, &snap, &forge::watch::view::ViewState::default()))
        .unwrap();
    let shown = terminal.backend().to_string();
    assert!(
        shown.contains("claims on origin (1 held)")
            && shown.contains("gone-host")
            && shown.contains("expired 1m00s ago")
            && shown.contains("released, awaiting-approval"),
        "{shown}"
    );
}

#[test]
fn ledger_verify_range_passes_a_takeover_and_flags_a_release_by_an_older_generation() {
    let c = configured_cluster(3);
    let (a, b, third) = (&c.clones[0], &c.clones[1], &c.clones[2]);
    let bead = &c.beads[0];
    // Generation 1 released, rejected elsewhere, generation 2 taken and released.
    a.forge(&["tick"]).ok();
    fetch_results(b);
    b.forge(&["reject", &format!("{bead}.1"), "--reason", "no"])
        .ok();
    ok_json(tick(third, &[]));
    assert_eq!(claim(&c, bead)["generation"], 2);

    let checker = TestEnv::clone_of(&c.remote, 900_000);
    checker.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/forge/state/main:refs/forge/state/main",
    ]);
    checker.git(&["checkout", "-q", "-B", "review", "refs/forge/state/main"]);
    let taken = checker
        .forge(&["--json", "ledger", "verify", "--range", "origin/main..HEAD"])
        .ok()
        .json();
    assert!(
        taken["approvals"]["problems"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A ledger file, chain intact, in which generation 1 releases the claim after
    // generation 2 took it over: a release that is not in the claim's history, seen by an
    // auditor who fetched the claims.
    checker.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/forge/claims/*:refs/forge/claims/*",
    ]);
    let mut w = forge::ledger::LedgerWriter::new(
        &checker.path(".forge/ledger"),
        "20261121T100000.000000Z-byhand01".into(),
        "Mallory <m@example.com>".into(),
    );
    w.append(
        &forge::clock::Clock::Fixed(1_795_255_200), // 10:00, after everything above
        &forge::redact::Redactor::default(),
        "claim.released",
        serde_json::json!({
            "bead": bead, "step": format!("{bead}.1"), "remote": "origin",
            "generation": 1, "outcome": "awaiting-approval",
            "head": "b".repeat(40), "commit": "c".repeat(40),
        }),
    )
    .unwrap();
    checker.git(&["add", ".forge/ledger"]);
    checker.git(&["commit", "-q", "-m", "ledger"]);
    let run = checker.forge(&["ledger", "verify", "--range", "origin/main..HEAD"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains(&format!("the claim on {bead}"))
            && text.contains("by generation 1 after generation 2"),
        "{text}"
    );
    let json = checker
        .forge(&["--json", "ledger", "verify", "--range", "origin/main..HEAD"])
        .json();
    let problems = json["approvals"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{json}");
    assert_eq!(problems[0]["step"], format!("{bead}.1"));
}

/// Installs `body` as the remote's hook `name` (a shell script).
fn hook(c: &Cluster, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = c.remote.join("hooks").join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn unhook(c: &Cluster, name: &str) {
    let _ = std::fs::remove_file(c.remote.join("hooks").join(name));
}

/// A hook body that acts on a push of a released claim (`then`), lets everything else by.
fn on_release(then: &str) -> String {
    format!(
        "while read old new ref; do case \"$ref\" in refs/forge/claims/*) \
         if git log -1 --format=%s \"$new\" | grep -q released; then {then}; fi;; esac; \
         done; exit 0"
    )
}

/// The claim's history on the remote, oldest first, as `g<generation> <state> <outcome>`.
fn history_line(c: &Cluster, bead: &str) -> Vec<String> {
    c.claim_histories()[bead]
        .iter()
        .rev()
        .map(|r| {
            format!(
                "g{} {} {} {}",
                r["generation"], r["state"], r["outcome"], r["step"]
            )
        })
        .collect()
}

#[test]
fn a_rejection_in_another_clone_after_the_merge_leaves_the_claim_merged() {
    let c = configured_cluster(3);
    let (a, b, third) = (&c.clones[0], &c.clones[1], &c.clones[2]);
    let bead = &c.beads[0];
    a.forge(&["tick"]).ok();
    fetch_results(b);
    fetch_results(third);
    let head = claim(&c, bead)["head"].as_str().unwrap().to_owned();
    b.forge(&["approve", &format!("{bead}.1"), "--yes", "--head", &head])
        .ok();
    assert_eq!(claim(&c, bead)["outcome"], "merged");
    // The third clone still sees the step waiting and rejects it.
    third.forge(&["reject", &format!("{bead}.1"), "--reason", "no"]);
    assert_eq!(
        claim(&c, bead)["outcome"],
        "merged",
        "{:?}",
        history_line(&c, bead)
    );
    let r = ok_json(tick(third, &[]));
    assert!(
        r["ran"].as_array().unwrap().is_empty(),
        "a merged bead ran again: {r}"
    );
    assert_eq!(claim(&c, bead)["outcome"], "merged");
}

#[test]
fn a_rejection_the_remote_missed_does_not_undo_a_merge_made_elsewhere_meanwhile() {
    let c = configured_cluster(3);
    let (a, b, third) = (&c.clones[0], &c.clones[1], &c.clones[2]);
    let bead = &c.beads[0];
    a.forge(&["tick"]).ok();
    fetch_results(b);
    fetch_results(third);
    let away = c.remote.with_extension("away");
    std::fs::rename(&c.remote, &away).unwrap();
    third.forge(&["reject", &format!("{bead}.1"), "--reason", "no"]);
    std::fs::rename(&away, &c.remote).unwrap();
    let head = claim(&c, bead)["head"].as_str().unwrap().to_owned();
    b.forge(&["approve", &format!("{bead}.1"), "--yes", "--head", &head])
        .ok();
    assert_eq!(claim(&c, bead)["outcome"], "merged");
    // The rejecting clone's next tick reconciles: it must not flip merged to rejected.
    let r = ok_json(tick(third, &[]));
    let seq = history_line(&c, bead);
    assert!(
        r["ran"].as_array().unwrap().is_empty(),
        "merged bead re-run: {seq:?} {r}"
    );
    assert_eq!(claim(&c, bead)["outcome"], "merged", "{seq:?}");
}

#[test]
fn approving_a_step_whose_release_never_reached_the_remote_is_refused() {
    let c = cluster(
        2,
        1,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[
            ("mode = \"on\"", "mode = \"off\""),
            (
                "breaker = 3",
                "breaker = 3\nremote = \"origin\"\nclaim_lease = 60",
            ),
        ],
    );
    let (a, b) = (&c.clones[0], &c.clones[1]);
    let bead = &c.beads[0];
    hook(&c, "pre-receive", &on_release("echo no >&2; exit 1"));
    let refused = a.forge(&["tick"]);
    unhook(&c, "pre-receive");
    // The error says what the refusal left undone: the result, not the claim.
    let text = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        text.contains("was not published") && !text.contains("nothing was claimed"),
        "{text}"
    );
    assert_eq!(claim(&c, bead)["state"], "held");
    let main_before = a.git(&["rev-parse", "main"]);
    let ap = a.forge(&["approve", &format!("{bead}.1"), "--yes"]);
    assert_ne!(
        ap.code, 0,
        "approved while the claim was still held: {}",
        ap.stdout
    );
    assert!(ap.stderr.contains("forge tick"), "{}", ap.stderr);
    assert_eq!(a.git(&["rev-parse", "main"]), main_before);
    assert!(local_events(a, "step.merged").is_empty());
    // Once its own tick released it, the approval goes through and the bead stays done.
    a.forge(&["tick"]).ok();
    assert_eq!(claim(&c, bead)["state"], "released");
    a.forge(&["approve", &format!("{bead}.1"), "--yes"]).ok();
    assert_eq!(claim(&c, bead)["outcome"], "merged");
    let r = tick_at(b, "2026-11-21T09:05:00Z", &[]).json();
    assert!(r["ran"].as_array().unwrap().is_empty(), "{r}");
}

const SLOW: &str = "echo work > \"$FORGE_BEAD.txt\"; sleep 2.5";

#[test]
fn a_tick_killed_before_its_release_after_renewing_releases_its_own_result_next_time() {
    let c = cluster(
        2,
        1,
        SLOW,
        &[
            ("mode = \"on\"", "mode = \"off\""),
            ("breaker = 3", "breaker = 3\nclaim_lease = 3"),
        ],
    );
    let a = &c.clones[0];
    let bead = &c.beads[0];
    let marker = c.remote.parent().unwrap().join("releasing");
    hook(
        &c,
        "pre-receive",
        &on_release(&format!(": > {}; sleep 8; exit 1", marker.display())),
    );
    let mut child = a
        .command(&["--json", "tick", "--remote", "origin"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::env::wait_for_marker(&marker, "a's release");
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(9));
    unhook(&c, "pre-receive");
    let renewed = c.claim_histories()[bead.as_str()]
        .iter()
        .filter(|r| r["state"] == "held")
        .count();
    assert!(
        renewed >= 2,
        "the step renewed its claim: {:?}",
        history_line(&c, bead)
    );
    tick(a, &[]).ok();
    assert!(local_events(a, "claim.lost").is_empty());
    let now = claim(&c, bead);
    assert_eq!(now["state"], "released", "{now}");
    assert_eq!(now["outcome"], "awaiting-approval", "{now}");
    assert_eq!(now["generation"], 1);
}

#[test]
fn a_tick_killed_after_its_release_landed_keeps_the_published_result() {
    let c = cluster(
        2,
        1,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[("breaker = 3", "breaker = 3\nremote = \"origin\"")],
    );
    let a = &c.clones[0];
    let bead = &c.beads[0];
    let marker = c.remote.parent().unwrap().join("released");
    hook(
        &c,
        "post-receive",
        &on_release(&format!(": > {}; sleep 8", marker.display())),
    );
    let mut child = a
        .command(&["--json", "tick"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::env::wait_for_marker(&marker, "a's release landed");
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(9));
    unhook(&c, "post-receive");
    let r = a.forge(&["--json", "tick"]);
    let h = &c.claim_histories()[bead.as_str()];
    let seq = history_line(&c, bead);
    assert!(local_events(a, "claim.lost").is_empty(), "{seq:?}");
    assert_eq!(h[0]["outcome"], "awaiting-approval", "{seq:?}");
    assert_eq!(
        h[0]["generation"], 1,
        "result discarded and bead re-run: {seq:?} {}",
        r.stdout
    );
}

#[test]
fn ledger_verify_range_orders_claim_events_by_the_claim_history_not_by_clocks() {
    let c = configured_cluster(3);
    let (a, b, third) = (&c.clones[0], &c.clones[1], &c.clones[2]);
    let bead = &c.beads[0];
    // Generation 1 released at 09:00 and rejected at 09:00 in b; generation 2 taken by a
    // clone whose clock is half an hour behind: its take is stamped before both.
    a.forge(&["tick"]).ok();
    fetch_results(b);
    b.forge(&["reject", &format!("{bead}.1"), "--reason", "no"])
        .ok();
    ok_json(tick_at(third, "2026-11-21T08:30:00Z", &[]));
    assert_eq!(claim(&c, bead)["generation"], 2);
    ok_json(tick(b, &[])); // publishes b's ledger (its settle of generation 1)

    let checker = TestEnv::clone_of(&c.remote, 900_000);
    checker.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/forge/state/main:refs/forge/state/main",
    ]);
    checker.git(&["checkout", "-q", "-B", "review", "refs/forge/state/main"]);
    let ledger = checker.git(&[
        "grep",
        "-c",
        "claim.released",
        "HEAD",
        "--",
        ".forge/ledger",
    ]);
    assert!(!ledger.trim().is_empty());
    let run = checker.forge(&["--json", "ledger", "verify", "--range", "origin/main..HEAD"]);
    let json = run.json();
    assert!(
        json["approvals"]["problems"].as_array().unwrap().is_empty(),
        "a settle stamped after the next take is flagged: {json}"
    );
    // With the claims fetched, their commits decide: the same.
    checker.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/forge/claims/*:refs/forge/claims/*",
    ]);
    let json = checker
        .forge(&["--json", "ledger", "verify", "--range", "origin/main..HEAD"])
        .ok()
        .json();
    assert!(
        json["approvals"]["problems"].as_array().unwrap().is_empty(),
        "{json}"
    );
}

#[test]
fn a_claim_that_is_not_a_record_is_skipped_with_a_warning_and_named_by_doctor() {
    let c = cluster(
        1,
        2,
        "echo done > \"$FORGE_BEAD.txt\"",
        &[("breaker = 3", "breaker = 3\nremote = \"origin\"")],
    );
    let env = &c.clones[0];
    let (odd, fine) = (&c.beads[0], &c.beads[1]);
    c.plant_raw_claim(odd, &format!("forge claim {odd}: taken\n\nnot a record"));

    let r = ok_json(tick(env, &[]));
    let ran: Vec<&str> = r["ran"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["bead"].as_str().unwrap())
        .collect();
    assert_eq!(ran, [fine.as_str()], "{r}");
    let warnings = r["warnings"].as_array().unwrap();
    assert!(
        warnings.len() == 1
            && warnings[0].as_str().unwrap().contains(odd.as_str())
            && warnings[0].as_str().unwrap().contains("forge doctor"),
        "{r}"
    );
    assert_eq!(claim_findings_of(env, odd).len(), 1);
    let text = env.forge(&["tick", "--remote", "origin"]).stdout;
    assert!(text.contains(&format!("warning: skipped {odd}")), "{text}");
}

/// `forge doctor`'s findings of the claims that name `bead`, asserting they say what is
/// wrong with its ref and how to clear it.
fn claim_findings_of(env: &TestEnv, bead: &str) -> Vec<Value> {
    let run = env.forge(&["--json", "doctor"]);
    let found: Vec<Value> = claim_findings(&run)
        .into_iter()
        .filter(|f| f["message"].as_str().unwrap().contains(bead))
        .collect();
    for f in &found {
        assert_eq!(f["severity"], "error", "{f}");
        assert!(
            f["message"].as_str().unwrap().contains("cannot be read"),
            "{f}"
        );
        assert!(
            f["fix"]
                .as_str()
                .unwrap()
                .contains(&format!(":refs/forge/claims/{bead}")),
            "{f}"
        );
    }
    found
}
