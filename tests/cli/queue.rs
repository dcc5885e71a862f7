//! The merge queue (`[policy] merge = "queue"`): an approval enqueues the step; the queue
//! merges each approved head onto the base tip, runs the gates on that merged result, and
//! only then advances the base. A conflict or a failing merged result goes back to the
//! agent; the approval of the old head does not carry over.

use serde_json::Value;

use crate::env::TestEnv;

/// The agent: writes the file its bead's title names (`file:NAME`); on a README with
/// conflict markers, keeps both sides. Every prompt is kept beside the repository.
const AGENT: &str = r#"p=$(cat); printf '%s' "$p" > "$FORGE_REPO/../prompt-$(date +%s%N).txt"
if grep -q '^<<<<<<< ' README 2>/dev/null; then
  printf 'hello\nfirst line\nsecond line\n' > README
  exit 0
fi
f=$(printf '%s' "$p" | sed -n 's/.*file:\([A-Za-z.]*\).*/\1/p' | head -n 1)
case "$f" in
  README) printf 'hello\n%s\n' "$(printf '%s' "$p" | sed -n 's/.*line:\([a-z]*\).*/\1/p' | head -n 1) line" > README ;;
  *) echo "made by the agent" > "$f" ;;
esac"#;

fn queue_env(gates: &str) -> TestEnv {
    let env = TestEnv::new();
    env.script_harness("fake", AGENT);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    env.edit_config("auto_approve = []", "auto_approve = []\nmerge = \"queue\"");
    if !gates.is_empty() {
        env.configure(gates);
    }
    env
}

/// Runs a step on `bead`; returns its step id, waiting for approval.
fn step(env: &TestEnv, bead: &str) -> String {
    let run = env.forge(&["--json", "step", bead]).ok().json();
    assert_eq!(run["checkpoint"]["state"], "awaiting-approval", "{run}");
    run["checkpoint"]["step"].as_str().unwrap().to_owned()
}

fn kind(env: &TestEnv, kind: &str) -> Vec<Value> {
    env.events()
        .into_iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn checkpoint(env: &TestEnv, step: &str) -> Value {
    let steps = env.forge(&["--json", "steps"]).ok().json();
    steps["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == step)
        .cloned()
        .unwrap()
}

fn tree(env: &TestEnv, commit: &str) -> String {
    env.git(&["rev-parse", &format!("{commit}^{{tree}}")])
        .trim()
        .to_owned()
}

#[test]
fn three_approved_steps_land_each_tested_on_the_merged_tree() {
    // The gate lists the tree it ran on, so the ledger shows what was tested.
    let env = queue_env("[[gates]]\nname = \"tests\"\nrun = \"ls\"\n");
    let beads: Vec<String> = ["file:a.txt", "file:b.txt", "file:c.txt"]
        .iter()
        .map(|t| env.create(&[t]))
        .collect();
    env.commit_all("forge set up");
    let steps: Vec<String> = beads.iter().map(|b| step(&env, b)).collect();
    for s in &steps {
        let out = env.forge(&["--json", "approve", s, "--yes"]).ok().json();
        assert!(
            !out["merge_commit"].as_str().unwrap().is_empty(),
            "{s} was not merged: {out}"
        );
    }
    for f in ["a.txt", "b.txt", "c.txt"] {
        assert!(env.path(f).exists(), "{f} did not land");
    }
    let tested = kind(&env, "queue.tested");
    assert_eq!(tested.len(), 3, "{tested:?}");
    let merged = kind(&env, "step.merged");
    assert_eq!(merged.len(), 3, "{merged:?}");
    for (i, t) in tested.iter().enumerate() {
        let d = &t["data"];
        assert_eq!(d["ok"], true, "{t}");
        assert_eq!(d["step"], steps[i].as_str());
        // Tested on the merged result: onto the previous merge, holding every earlier file.
        let m = &merged[i]["data"];
        assert_eq!(
            tree(&env, d["merge_commit"].as_str().unwrap()),
            tree(&env, m["merge_commit"].as_str().unwrap()),
            "the base holds exactly the tree the gates ran on"
        );
        if i > 0 {
            assert_eq!(d["base"], merged[i - 1]["data"]["merge_commit"], "{t}");
        }
        let listed = d["gates"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let files = env.git(&[
            "ls-tree",
            "--name-only",
            d["merge_commit"].as_str().unwrap(),
        ]);
        for f in ["a.txt", "b.txt", "c.txt"].iter().take(i + 1) {
            assert!(files.lines().any(|l| l == *f), "{f} not in the tested tree");
        }
        let _ = listed;
    }
    assert!(kind(&env, "queue.enqueued").len() == 3);
    let q = env.forge(&["--json", "queue"]).ok().json();
    assert_eq!(q["queue"].as_array().unwrap().len(), 0, "{q}");
}

#[test]
fn a_conflicting_step_is_sent_back_with_the_file_named_and_revised_on_the_new_base() {
    let env = queue_env("");
    std::fs::write(env.path("README"), "hello\n").unwrap();
    let first = env.create(&["file:README line:first"]);
    let second = env.create(&["file:README line:second"]);
    env.commit_all("forge set up");
    let s1 = step(&env, &first);
    let s2 = step(&env, &second);
    env.forge(&["approve", &s1, "--yes"]).ok();
    let main_before = env.git(&["rev-parse", "main"]);
    let run = env.forge(&["--json", "approve", &s2, "--yes"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        env.git(&["rev-parse", "main"]),
        main_before,
        "nothing merged"
    );
    let back = kind(&env, "queue.sent_back");
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0]["data"]["conflicts"][0], "README");
    let cp = checkpoint(&env, &s2);
    assert_eq!(cp["state"], "failed", "{cp}");
    assert!(cp["reason"].as_str().unwrap().contains("README"), "{cp}");
    // The approval of the old head does not carry over.
    assert!(env.forge(&["approve", &s2, "--yes"]).code != 0);
    // `forge revise` runs the agent on the new base with the conflict in the prompt.
    let revised = env.forge(&["--json", "revise", &s2]).ok().json();
    assert_eq!(
        revised["checkpoint"]["state"], "awaiting-approval",
        "{revised}"
    );
    let prompt = env.prompts().pop().unwrap();
    assert!(prompt.contains("conflicts in: README"), "{prompt}");
    assert!(prompt.contains("merge queue"), "{prompt}");
    let out = env.forge(&["--json", "approve", &s2, "--yes"]).ok().json();
    assert!(!out["merge_commit"].as_str().unwrap().is_empty(), "{out}");
    assert_eq!(
        std::fs::read_to_string(env.path("README")).unwrap(),
        "hello\nfirst line\nsecond line\n"
    );
}

#[test]
fn a_merged_result_that_fails_the_gates_is_not_merged_though_its_head_passed() {
    let env = queue_env(
        "[[gates]]\nname = \"tests\"\nrun = \"if test -f a.txt && test -f b.txt; then echo 'a.txt and b.txt clash'; exit 1; fi\"\n",
    );
    let a = env.create(&["file:a.txt"]);
    let b = env.create(&["file:b.txt"]);
    env.commit_all("forge set up");
    let sa = step(&env, &a);
    let sb = step(&env, &b);
    env.forge(&["approve", &sa, "--yes"]).ok();
    assert!(env.path("a.txt").exists());
    let run = env.forge(&["--json", "approve", &sb, "--yes"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        !env.path("b.txt").exists(),
        "a failing merged result reached main"
    );
    let main_files = env.git(&["ls-tree", "--name-only", "main"]);
    assert!(!main_files.lines().any(|l| l == "b.txt"), "{main_files}");
    let tested = kind(&env, "queue.tested");
    assert_eq!(tested.len(), 2, "{tested:?}");
    assert_eq!(tested[1]["data"]["ok"], false, "{:?}", tested[1]);
    let cp = checkpoint(&env, &sb);
    assert_eq!(cp["state"], "failed", "{cp}");
    let reason = cp["reason"].as_str().unwrap();
    assert!(reason.contains("gate tests failed"), "{reason}");
    assert!(reason.contains("clash"), "{reason}");
    assert_eq!(kind(&env, "queue.sent_back").len(), 1);
}

#[test]
fn queue_move_and_remove_reorder_it_and_are_recorded() {
    let env = queue_env("");
    let a = env.create(&["file:a.txt"]);
    let b = env.create(&["file:b.txt"]);
    env.commit_all("forge set up");
    let sa = step(&env, &a);
    let sb = step(&env, &b);
    // The user's checkout holds a conflicting change to a.txt: the queue stops at it.
    std::fs::write(env.path("a.txt"), "mine\n").unwrap();
    let out = env.forge(&["--json", "approve", &sa, "--yes"]).ok().json();
    assert_eq!(out["merge_commit"], "", "{out}");
    let out = env.forge(&["--json", "approve", &sb, "--yes"]).ok().json();
    assert_eq!(out["merge_commit"], "", "{out}");
    let q = env.forge(&["--json", "queue"]).ok().json();
    let order: Vec<&str> = q["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(order, [sa.as_str(), sb.as_str()]);
    // A bead whose step waits in the queue is not ready: no second attempt races it.
    assert!(env.ready().is_empty(), "{:?}", env.ready());
    env.forge(&["step", &a]).fails_with(7);
    // `forge status` lists the queue in its order too.
    let status = env.forge(&["status"]).ok().stdout;
    assert!(
        status.contains(&format!("merge queue:       {sa} {sb}")),
        "{status}"
    );
    let json = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(json["queued"], serde_json::json!([sa, sb]), "{json}");
    env.forge(&["queue", "move", &sb, "--to", "1"]).ok();
    let q = env.forge(&["--json", "queue", "remove", &sa]).ok().json();
    assert_eq!(q["queue"].as_array().unwrap().len(), 1, "{q}");
    assert_eq!(checkpoint(&env, &sa)["state"], "awaiting-approval");
    let ran = env.forge(&["--json", "queue", "run"]).ok().json();
    assert_eq!(ran["ran"][0]["outcome"], "merged", "{ran}");
    assert!(env.path("b.txt").exists());
    assert_eq!(kind(&env, "queue.moved").len(), 1);
    assert_eq!(kind(&env, "queue.removed").len(), 1);
}

/// A tick takes a step the merge queue sent back to its agent itself: a revision on the new
/// base with the conflict in the prompt (the work is fixed, not started over), which then
/// waits for approval again.
#[test]
fn a_tick_revises_a_step_the_queue_sent_back() {
    let env = queue_env("");
    std::fs::write(env.path("README"), "hello\n").unwrap();
    let first = env.create(&["file:README line:first"]);
    let second = env.create(&["file:README line:second"]);
    env.commit_all("forge set up");
    let s1 = step(&env, &first);
    let s2 = step(&env, &second);
    env.forge(&["approve", &s1, "--yes"]).ok();
    assert_eq!(env.forge(&["approve", &s2, "--yes"]).code, 1);
    assert_eq!(checkpoint(&env, &s2)["state"], "failed");
    let r = env.forge(&["--json", "tick"]).ok().json();
    let ran = r["ran"].as_array().unwrap();
    assert_eq!(ran.len(), 1, "{r}");
    // The same step, revised; no new attempt.
    assert_eq!(ran[0]["step"], s2.as_str(), "{r}");
    assert_eq!(ran[0]["state"], "awaiting-approval", "{r}");
    let prompt = env.prompts().pop().unwrap();
    assert!(prompt.contains("conflicts in: README"), "{prompt}");
    assert!(!checkpoint(&env, &s2)["head"].as_str().unwrap().is_empty());
    env.forge(&["approve", &s2, "--yes"]).ok();
    assert_eq!(
        std::fs::read_to_string(env.path("README")).unwrap(),
        "hello\nfirst line\nsecond line\n"
    );
}
