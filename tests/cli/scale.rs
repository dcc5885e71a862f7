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
