//! Approvals take effect exactly once, whatever is killed and whatever runs at the same
//! time (S13), and cannot be made from files (S14).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::env::TestEnv;

/// A small deterministic generator for kill delays: runs are repeatable.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A repository whose harness adds one file per bead (so steps never conflict), with `n`
/// beads. `auto` approves low-risk steps by policy.
fn repo(n: usize, auto: bool) -> TestEnv {
    let env = TestEnv::new();
    env.script_harness("fake", "echo \"$FORGE_BEAD\" > \"$FORGE_BEAD.txt\"");
    env.default_harness("fake");
    env.edit_config("breaker = 3", "breaker = 0");
    if auto {
        env.edit_config("auto_approve = []", "auto_approve = [\"low\"]");
    }
    for i in 0..n {
        env.create(&[&format!("item {i}")]);
    }
    env.commit_all("set up");
    env
}

/// Runs `forge tick` until `n` steps wait for approval.
fn waiting_steps(env: &TestEnv, n: usize) -> Vec<String> {
    env.edit_config("steps = 1", &format!("steps = {n}"));
    env.forge(&["tick"]).ok();
    env.edit_config(&format!("steps = {n}"), "steps = 1");
    let status = env.forge(&["--json", "status"]).ok().json();
    let steps: Vec<String> = status["awaiting_approval"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(steps.len(), n, "{status}");
    steps
}

fn spawn(env: &TestEnv, args: &[&str]) -> Child {
    env.command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap()
}

/// `kill -9` of forge after `delay` (not of the git it may be running, which finishes on
/// its own, as after a real `kill -9`). True when it was still running: a kill that counts.
fn kill_after(mut child: Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    let _ = child.wait();
    running
}

/// For every step: merged ⇔ its bead closed ⇔ exactly one `step.merged`; every merge is
/// on main; no bead ran after its merge; the user's index and tree are clean; the ledger
/// verifies.
#[track_caller]
fn assert_exactly_once(env: &TestEnv) {
    let events = env.events();
    let steps = env.forge(&["--json", "steps"]).ok().json();
    let mut merged_events: BTreeMap<String, usize> = BTreeMap::new();
    for e in events.iter().filter(|e| e["kind"] == "step.merged") {
        *merged_events
            .entry(e["data"]["step"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let main_log = env.git(&["log", "--first-parent", "--format=%H %P", "main"]);
    let mut merged_steps_of: BTreeMap<String, usize> = BTreeMap::new();
    for row in steps["steps"].as_array().unwrap() {
        let cp = row;
        let step = cp["step"].as_str().unwrap();
        let bead = cp["bead"].as_str().unwrap();
        let merged = cp["state"] == "merged";
        let n = merged_events.get(step).copied().unwrap_or(0);
        assert!(n <= 1, "{step} merged {n} times");
        assert_eq!(
            merged,
            n == 1,
            "{step}: state {} but {n} step.merged",
            cp["state"]
        );
        if merged {
            *merged_steps_of.entry(bead.to_owned()).or_default() += 1;
        } else {
            merged_steps_of.entry(bead.to_owned()).or_default();
        }
        if merged {
            let head = cp["head"].as_str().unwrap();
            let merge = cp["merge_commit"].as_str().unwrap();
            assert!(
                main_log
                    .lines()
                    .any(|l| l.starts_with(merge) && l.ends_with(head)),
                "{step}: merge {merge} of {head} is not on main's first-parent line"
            );
        }
    }
    // A bead is closed exactly when one of its steps merged (one attempt may be killed and
    // the next merged).
    for (bead, merged) in &merged_steps_of {
        assert!(*merged <= 1, "{bead}: {merged} steps merged");
        let closed = env.show(bead)["status"] == "closed";
        assert_eq!(
            *merged == 1,
            closed,
            "{bead}: {merged} merged steps, closed {closed}"
        );
    }
    // No bead ran after its merge.
    let mut merged_beads: BTreeSet<String> = BTreeSet::new();
    for e in &events {
        let bead = e["data"]["bead"].as_str().unwrap_or_default().to_owned();
        if e["kind"] == "step.merged" {
            merged_beads.insert(bead);
        } else if e["kind"] == "step.claimed" {
            assert!(
                !merged_beads.contains(&bead),
                "{bead} ran again after its merge"
            );
        }
    }
    // The user's index and tree: nothing staged, no merge in progress, nothing changed
    // outside forge's own files.
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]), "");
    assert!(
        !env.path(".git/MERGE_HEAD").exists(),
        "a merge was left in progress"
    );
    let dirty = env.git(&["status", "--porcelain", "--untracked-files=no"]);
    assert!(
        dirty.lines().all(|l| l[3..].starts_with(".forge/")),
        "the checkout was changed: {dirty}"
    );
    env.forge(&["ledger", "verify"]).ok();
}

/// Approves `steps` over and over, killing each run after a random delay below `max_ms`,
/// until `kills` runs died while forge worked (at most 40 rounds); then repairs with
/// `doctor --fix` and approves each once more, which must merge it or find it merged.
fn kill_approvals_then_finish(
    env: &TestEnv,
    steps: &[String],
    mut rng: Lcg,
    max_ms: u64,
    kills: usize,
) {
    let mut killed = 0;
    for _round in 0..40 {
        for step in steps {
            let child = spawn(env, &["approve", step, "--yes"]);
            if kill_after(child, Duration::from_millis(rng.below(max_ms))) {
                killed += 1;
            }
        }
        if killed >= kills {
            break;
        }
    }
    assert!(
        killed >= kills,
        "only {killed} approvals were killed while running"
    );
    env.forge(&["doctor", "--fix"]);
    for step in steps {
        let run = env.forge(&["--json", "approve", step, "--yes"]);
        assert!(
            run.code == 0 || run.stderr.contains("already merged"),
            "{step}: {}",
            run.stderr
        );
    }
}

#[test]
fn killed_approvals_take_effect_exactly_once() {
    const STEPS: usize = 40;
    let env = repo(STEPS, false);
    let steps = waiting_steps(&env, STEPS);
    // Rounds over every step until 200 kills landed while forge ran: a step's first
    // approvals die before, during or after its merge, later ones find it merged (or
    // half-recorded) and die while reconciling.
    kill_approvals_then_finish(&env, &steps, Lcg(13), 100, 200);
    assert_exactly_once(&env);
}

#[test]
fn killed_auto_approving_ticks_never_merge_twice_or_rerun_a_merged_bead() {
    let env = repo(30, true);
    let mut rng = Lcg(7);
    let mut kills = 0;
    let mut made = 30;
    while kills < 200 {
        let ready = env.forge(&["--json", "ready"]).ok().json();
        if ready["beads"].as_array().map_or(0, Vec::len) < 5 {
            for _ in 0..10 {
                env.create(&[&format!("item {made}")]);
                made += 1;
            }
        }
        let child = spawn(&env, &["tick"]);
        let delay = Duration::from_millis(rng.below(450));
        if kill_after(child, delay) {
            kills += 1;
        }
    }
    // One tick reclaims and reconciles what the kills left.
    env.forge(&["tick"]).ok();
    assert_exactly_once(&env);
}

#[test]
fn concurrent_approvals_of_one_step_merge_it_once() {
    const ROUNDS: usize = 50;
    let env = repo(2 * ROUNDS, false);
    let steps = waiting_steps(&env, 2 * ROUNDS);
    for (i, step) in steps.iter().enumerate() {
        let at_once = if i < ROUNDS { 2 } else { 8 };
        let children: Vec<Child> = (0..at_once)
            .map(|_| spawn(&env, &["approve", step, "--yes"]))
            .collect();
        let codes: Vec<i32> = children
            .into_iter()
            .map(|mut c| c.wait().unwrap().code().unwrap_or(-1))
            .collect();
        assert_eq!(
            codes.iter().filter(|&&c| c == 0).count(),
            1,
            "{step}: exit codes {codes:?}"
        );
        assert!(codes.iter().all(|&c| c == 0 || c == 7), "{codes:?}");
        assert_eq!(env.git(&["diff", "--cached", "--name-only"]), "", "{step}");
    }
    assert_exactly_once(&env);
}

/// The forged-evidence scenario of issue 14: a checkpoint, a ledger file with a valid
/// chain and a step branch, all from another clone, for a head nobody reviewed here.
#[test]
fn evidence_from_another_clone_is_never_enough_to_merge() {
    let env = TestEnv::new();
    env.configure("[[gates]]\nname = \"no-evil\"\nrun = \"! grep -rq EVIL --include='*.txt' .\"\n");
    env.script_harness("fake", "echo honest > work.txt");
    env.script_harness("evil", "echo EVIL > work.txt");
    env.default_harness("fake");
    let bead = env.create(&["Do the work"]);
    env.commit_all("set up");
    let run = env.forge(&["--json", "step"]).ok().json();
    let step = run["checkpoint"]["step"].as_str().unwrap().to_owned();
    let honest = run["checkpoint"]["head"].as_str().unwrap().to_owned();

    // Another clone, whose config has no gate, runs the evil harness on the same bead: the
    // same step id, waiting for approval there, with a ledger file whose chain verifies.
    let other = env.repo.parent().unwrap().join("other");
    env.git(&[
        "clone",
        "-q",
        env.repo.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    let config = other.join(".forge/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace("! grep -rq EVIL --include='*.txt' .", "true");
    std::fs::write(&config, text).unwrap();
    let mut cmd = env.command(&["--json", "step", &bead, "--harness", "evil"]);
    cmd.current_dir(&other);
    let forged = crate::env::to_run(cmd.output().unwrap()).json();
    assert_eq!(
        forged["checkpoint"]["state"], "awaiting-approval",
        "{forged}"
    );
    assert_eq!(forged["checkpoint"]["step"], step.as_str());
    let forged_head = forged["checkpoint"]["head"].as_str().unwrap().to_owned();
    // Its checkpoint and ledger file are copied over this clone's, its branch fetched.
    let cp_rel = format!(".forge/checkpoints/{step}.toml");
    std::fs::copy(other.join(&cp_rel), env.path(&cp_rel)).unwrap();
    for entry in walkdir::WalkDir::new(other.join(".forge/ledger")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(&other).unwrap();
            let to = env.repo.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            if !to.exists() {
                std::fs::copy(entry.path(), &to).unwrap();
            }
        }
    }
    let branch = format!("refs/heads/forge/{bead}/1");
    env.git(&[
        "fetch",
        "-q",
        other.to_str().unwrap(),
        &format!("+{branch}:refs/forged"),
    ]);
    env.git(&["update-ref", &branch, "refs/forged"]);
    let main = env.git(&["rev-parse", "main"]);

    // --yes alone: a person must look.
    let run = env.forge(&["approve", &step, "--yes"]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("not written by this clone"),
        "{}",
        run.stderr
    );
    // Naming the head: the gates are re-run on it, fail, and nothing merges.
    let run = env.forge(&["approve", &step, "--yes", "--head", &forged_head]);
    assert_eq!(run.code, 7, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no-evil"), "{}", run.stderr);
    assert_eq!(env.git(&["rev-parse", "main"]), main, "nothing merged");
    let kinds: Vec<Value> = env
        .events()
        .into_iter()
        .filter(|e| e["data"]["step"] == step.as_str())
        .map(|e| e["kind"].clone())
        .collect();
    assert!(!kinds.contains(&Value::from("step.approved")), "{kinds:?}");
    assert!(kinds.contains(&Value::from("step.rederived")), "{kinds:?}");
    assert_ne!(honest, forged_head);
}

/// A `git merge` killed after writing the index but before committing (a power cut, the
/// whole process group killed) leaves the merge staged with no MERGE_HEAD: the next
/// approval finishes it forward instead of refusing on "staged changes".
#[test]
fn a_merge_killed_after_staging_is_finished_forward() {
    let env = repo(1, false);
    let steps = waiting_steps(&env, 1);
    let head = env.forge(&["--json", "steps"]).ok().json()["steps"][0]["head"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = env.git(&["rev-parse", "main"]);
    // What the killed merge left: the merge in the index and tree, nothing else.
    env.git(&["merge", "--no-ff", "--no-commit", "-q", &head]);
    for f in ["MERGE_HEAD", "MERGE_MSG", "MERGE_MODE"] {
        let _ = std::fs::remove_file(env.path(&format!(".git/{f}")));
    }
    assert_ne!(env.git(&["diff", "--cached", "--name-only"]), "");
    env.forge(&["approve", &steps[0], "--yes"]).ok();
    let parents = env.git(&["log", "-1", "--format=%P", "main"]);
    assert_eq!(parents.trim(), format!("{} {head}", base.trim()));
    assert_exactly_once(&env);
}

/// With the merge queue, approvals killed at any moment (while enqueueing, testing the
/// merged result, merging, or recording) still take effect exactly once.
#[test]
fn killed_queue_approvals_take_effect_exactly_once() {
    const STEPS: usize = 20;
    let env = repo(STEPS, false);
    env.edit_config("auto_approve = []", "auto_approve = []\nmerge = \"queue\"");
    let steps = waiting_steps(&env, STEPS);
    kill_approvals_then_finish(&env, &steps, Lcg(29), 200, 20);
    let q = env.forge(&["--json", "queue"]).ok().json();
    assert_eq!(q["queue"].as_array().unwrap().len(), 0, "{q}");
    assert_exactly_once(&env);
    let steps_now = env.forge(&["--json", "steps"]).ok().json();
    for s in steps_now["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "merged", "{s}");
    }
}

/// Approvals, queue runs and ticks running the queue at once merge every step exactly once.
#[test]
fn concurrent_queue_runs_merge_each_step_once() {
    const STEPS: usize = 8;
    let env = repo(STEPS, false);
    env.edit_config("auto_approve = []", "auto_approve = []\nmerge = \"queue\"");
    let steps = waiting_steps(&env, STEPS);
    let mut children: Vec<Child> = Vec::new();
    for step in &steps {
        children.push(spawn(&env, &["approve", step, "--yes"]));
        children.push(spawn(&env, &["queue", "run"]));
    }
    children.push(spawn(&env, &["tick"]));
    for mut c in children {
        c.wait().unwrap();
    }
    env.forge(&["queue", "run"]).ok();
    assert_exactly_once(&env);
    let steps_now = env.forge(&["--json", "steps"]).ok().json();
    for s in steps_now["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "merged", "{s}");
    }
    let tested = env
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "queue.tested")
        .count();
    assert_eq!(tested, STEPS, "each merged result tested once");
}

/// An approval and a rejection of the same step at once: exactly one takes effect. The step
/// ends merged (its work on main, the reject refused) or rejected (nothing merged), never
/// both, because both run under the approval lock.
#[test]
fn approve_and_reject_at_once_never_both_take_effect() {
    const STEPS: usize = 8;
    let env = repo(STEPS, false);
    let steps = waiting_steps(&env, STEPS);
    let main_before = env.git(&["rev-parse", "main"]);
    let racers: Vec<(Child, Child)> = steps
        .iter()
        .map(|step| {
            (
                spawn(&env, &["approve", step, "--yes"]),
                spawn(&env, &["reject", step, "--reason", "no"]),
            )
        })
        .collect();
    let mut merged = 0;
    for (step, (mut approve, mut reject)) in steps.iter().zip(racers) {
        let approved = approve.wait().unwrap().success();
        let rejected = reject.wait().unwrap().success();
        assert!(
            approved != rejected,
            "{step}: approve {approved}, reject {rejected}"
        );
        let steps_json = env.forge(&["--json", "steps"]).ok().json();
        let state = steps_json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == step.as_str())
            .unwrap()["state"]
            .clone();
        let want = if approved { "merged" } else { "rejected" };
        assert_eq!(state, want, "{step}");
        merged += usize::from(approved);
    }
    let merges = env.git(&[
        "rev-list",
        "--merges",
        "--count",
        &format!("{}..main", main_before.trim()),
    ]);
    assert_eq!(
        merges.trim(),
        merged.to_string(),
        "one merge per approval that won"
    );
    env.forge(&["ledger", "verify"]).ok();
}
