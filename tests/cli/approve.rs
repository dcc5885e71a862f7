//! Approvals: nothing merges without a valid approval of the exact commit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::env::{KEEP_PROMPT, TestEnv};

/// A repository with one step waiting for approval; returns (env, bead, step).
fn waiting_step(script: &str) -> (TestEnv, String, String) {
    let env = TestEnv::new();
    env.script_harness("fake", script);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    let bead = env.create(&["Improve the readme"]);
    env.commit_all("forge set up");
    // The step may fail (some tests want a failed one); its report names it either way.
    let run = env.forge(&["--json", "step"]).json();
    let step = run["checkpoint"]["step"].as_str().unwrap().to_owned();
    (env, bead, step)
}

const EDIT: &str = "echo 'agent line' >> README; echo new > agent.txt";

fn refs(env: &TestEnv) -> String {
    env.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
}

fn tree_files(env: &TestEnv) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(&env.repo)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn events_of(env: &TestEnv, step: &str) -> Vec<serde_json::Value> {
    env.events()
        .into_iter()
        .filter(|e| e["data"]["step"] == step)
        .collect()
}

#[test]
fn without_a_terminal_or_a_flag_nothing_is_approved() {
    let (env, _, step) = waiting_step(EDIT);
    let (refs_before, files_before) = (refs(&env), tree_files(&env));
    for args in [
        &["approve"][..],
        &["approve", &step],
        &["reject", &step],
        &["revise", &step],
    ] {
        let run = env.forge(args).fails_with(3);
        assert!(
            run.stderr.contains("needs a human") && run.stderr.contains("--"),
            "{}",
            run.stderr
        );
    }
    let json = env
        .forge(&["--json", "approve", &step])
        .fails_with(3)
        .error_json();
    assert_eq!(json["error"]["code"], "needs_human");
    assert!(
        json["error"]["hints"][0]
            .as_str()
            .unwrap()
            .contains(&format!("forge approve {step} --yes"))
    );
    assert_eq!(refs_before, refs(&env));
    assert_eq!(files_before, tree_files(&env));
}

#[test]
fn approve_with_the_flag_merges_records_and_closes() {
    let (env, bead, step) = waiting_step(EDIT);
    // Unrelated uncommitted work in the checked-out base survives the merge.
    std::fs::write(env.path("notes.txt"), "mine, untracked\n").unwrap();
    let head = env.forge(&["--json", "steps"]).ok().json()["steps"][0]["head"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = env
        .forge(&["--json", "approve", &step, "--yes"])
        .ok()
        .json();
    assert_eq!(run["how"], "flag");
    assert_eq!(run["approved_by"], "Ada Tester <ada@example.com>");
    let merge = run["merge_commit"].as_str().unwrap();
    assert_eq!(env.git(&["rev-parse", "main"]).trim(), merge);
    assert_eq!(env.git(&["rev-parse", &format!("{merge}^2")]).trim(), head);
    let message = env.git(&["log", "-1", "--format=%B", "main"]);
    for trailer in [
        format!("Forge-Step: {step}"),
        format!("Forge-Bead: {bead}"),
        "Forge-Approved-By: Ada Tester <ada@example.com>".into(),
        "Forge-Approval: flag".into(),
    ] {
        assert!(message.contains(&trailer), "{trailer} missing:\n{message}");
    }
    assert_eq!(
        std::fs::read_to_string(env.path("notes.txt")).unwrap(),
        "mine, untracked\n"
    );
    assert!(
        std::fs::read_to_string(env.path("README"))
            .unwrap()
            .contains("agent line")
    );
    let shown = env.show(&bead);
    assert_eq!(shown["status"], "closed");
    assert!(shown["reason"].as_str().unwrap().contains(&merge[..12]));
    let approvals: Vec<_> = events_of(&env, &step)
        .into_iter()
        .filter(|e| e["kind"] == "step.approved")
        .collect();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["data"]["head"], head.as_str());
    assert_eq!(approvals[0]["data"]["how"], "flag");
    assert_eq!(
        approvals[0]["data"]["approved_by"],
        "Ada Tester <ada@example.com>"
    );
    // The approval event comes before the merge event.
    let kinds: Vec<String> = events_of(&env, &step)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    let a = kinds.iter().position(|k| k == "step.approved").unwrap();
    let m = kinds.iter().position(|k| k == "step.merged").unwrap();
    assert!(a < m, "{kinds:?}");
    // A merged step cannot be approved again.
    env.forge(&["approve", &step, "--yes"]).fails_with(7);
}

#[test]
fn a_merge_that_would_overwrite_uncommitted_work_is_refused() {
    let (env, _, step) = waiting_step(EDIT);
    std::fs::write(env.path("README"), "hello\nmy own unfinished edit\n").unwrap();
    let main_before = env.git(&["rev-parse", "main"]);
    let run = env.forge(&["approve", &step, "--yes"]).fails_with(7);
    assert!(
        run.stderr.contains("would overwrite uncommitted changes") && run.stderr.contains("README"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("never stashes"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(env.path("README")).unwrap(),
        "hello\nmy own unfinished edit\n"
    );
    assert_eq!(main_before, env.git(&["rev-parse", "main"]));
    assert_eq!(
        env.forge(&["--json", "steps"]).ok().json()["steps"][0]["state"],
        "awaiting-approval"
    );
    // Staged changes, even to other files, also refuse the merge.
    std::fs::write(env.path("README"), "hello\n").unwrap();
    std::fs::write(env.path("other.txt"), "staged\n").unwrap();
    env.git(&["add", "other.txt"]);
    let run = env.forge(&["approve", &step, "--yes"]).fails_with(7);
    assert!(run.stderr.contains("staged changes"), "{}", run.stderr);
    assert_eq!(main_before, env.git(&["rev-parse", "main"]));
}

#[test]
fn a_base_that_is_not_checked_out_is_updated_without_touching_any_worktree() {
    let (env, _, step) = waiting_step(EDIT);
    env.git(&["checkout", "-q", "-b", "elsewhere"]);
    std::fs::write(env.path("wip.txt"), "work in progress\n").unwrap();
    let files_before = tree_files(&env);
    let main_before = env.git(&["rev-parse", "main"]).trim().to_owned();
    let run = env
        .forge(&["--json", "approve", &step, "--yes"])
        .ok()
        .json();
    assert_eq!(run["in_worktree"], serde_json::Value::Null);
    let merge = run["merge_commit"].as_str().unwrap();
    assert_eq!(env.git(&["rev-parse", "main"]).trim(), merge);
    assert_eq!(
        env.git(&["rev-parse", &format!("{merge}^1")]).trim(),
        main_before
    );
    let mut after = tree_files(&env);
    // The approval's own records in .forge/ are the only change.
    after.retain(|p, _| !p.to_string_lossy().contains("/.forge/"));
    let mut before = files_before;
    before.retain(|p, _| !p.to_string_lossy().contains("/.forge/"));
    assert_eq!(before, after, "a working tree was touched");
    assert_eq!(
        env.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "elsewhere"
    );
}

#[test]
fn an_approval_for_a_moved_branch_is_refused() {
    let (env, bead, step) = waiting_step(EDIT);
    let main_before = env.git(&["rev-parse", "main"]);
    let reviewed = env.forge(&["--json", "steps"]).ok().json()["steps"][0]["head"]
        .as_str()
        .unwrap()
        .to_owned();
    // Someone adds a commit to the step branch after the review.
    let wt = env.path(&format!(".git/forge/worktrees/{step}"));
    std::fs::write(wt.join("sneaky.txt"), "unreviewed\n").unwrap();
    let git = |args: &[&str]| {
        let out = crate::env::clean_command("git", &env.home)
            .args(args)
            .current_dir(&wt)
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    git(&["add", "sneaky.txt"]);
    git(&["commit", "-q", "-m", "sneak"]);
    let run = env.forge(&["approve", &step, "--yes"]).fails_with(7);
    assert!(run.stderr.contains("moved"), "{}", run.stderr);
    let run = env
        .forge(&["approve", &step, "--yes", "--head", &reviewed])
        .fails_with(7);
    assert!(run.stderr.contains("nothing was merged"), "{}", run.stderr);
    assert_eq!(main_before, env.git(&["rev-parse", "main"]));
    assert_eq!(env.show(&bead)["status"], "open");
}

#[test]
fn a_hand_edited_checkpoint_or_ledger_cannot_fake_an_approval() {
    // A failed step whose checkpoint is edited to claim it waits for approval.
    let (env, _, step) = waiting_step("echo x > x.txt; exit 1");
    let cp_path = env.path(&format!(".forge/checkpoints/{step}.toml"));
    let text = std::fs::read_to_string(&cp_path).unwrap();
    assert!(text.contains("state = \"failed\""));
    std::fs::write(
        &cp_path,
        text.replace("state = \"failed\"", "state = \"awaiting-approval\""),
    )
    .unwrap();
    let main_before = env.git(&["rev-parse", "main"]);
    let run = env.forge(&["approve", &step, "--yes"]).fails_with(7);
    assert!(run.stderr.contains("edited by hand"), "{}", run.stderr);
    assert_eq!(main_before, env.git(&["rev-parse", "main"]));

    // A waiting step whose ledger line was edited: verify fails and the merge is refused.
    let (env, _, step) = waiting_step(EDIT);
    let file = crate::ledger::ledger_files(&env)
        .into_iter()
        .find(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("step.awaiting_approval")
        })
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"risk\":\"low\"", "\"risk\":\"lol\"")).unwrap();
    env.forge(&["ledger", "verify"]).fails_with(8);
    let run = env.forge(&["approve", &step, "--yes"]).fails_with(7);
    assert!(run.stderr.contains("does not verify"), "{}", run.stderr);
}

#[test]
fn reject_keeps_the_work_in_the_attic_and_feeds_the_next_attempt() {
    let (env, bead, step) = waiting_step(EDIT);
    let head = env.forge(&["--json", "steps"]).ok().json()["steps"][0]["head"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = env
        .forge(&[
            "--json",
            "reject",
            &step,
            "--reason",
            "too broad, touch only the README",
        ])
        .ok()
        .json();
    let attic = format!("refs/forge/attic/{step}");
    assert_eq!(run["attic"], env.git(&["rev-parse", &attic]).trim());
    // The branch head is an ancestor of the attic commit: nothing is lost.
    env.git(&["merge-base", "--is-ancestor", &head, &attic]);
    assert!(!env.path(&format!(".git/forge/worktrees/{step}")).exists());
    let shown = env.show(&bead);
    assert_eq!(shown["status"], "open");
    assert_eq!(
        shown["reason"],
        "rejected: too broad, touch only the README"
    );
    assert_eq!(env.ready(), [bead.as_str()]);
    // The next attempt's prompt carries the reason.
    env.script_harness(
        "spy",
        "cat > \"$FORGE_REPO/../prompt2.txt\"; echo y > y.txt",
    );
    env.forge(&["step", "--harness", "spy"]).ok();
    let prompt = std::fs::read_to_string(env.repo.join("../prompt2.txt")).unwrap();
    assert!(
        prompt.contains("too broad, touch only the README"),
        "{prompt}"
    );
}

#[test]
fn rollback_reverts_a_merged_step_and_reopens_the_bead() {
    let (env, bead, step) = waiting_step(EDIT);
    env.forge(&["approve", &step, "--yes"]).ok();
    let merge = env.git(&["rev-parse", "main"]).trim().to_owned();
    let run = env
        .forge(&["--json", "rollback", &step, "--reason", "broke the build"])
        .ok()
        .json();
    let revert = run["revert_commit"].as_str().unwrap();
    assert_eq!(env.git(&["rev-parse", "main"]).trim(), revert);
    assert_eq!(env.git(&["rev-parse", &format!("{revert}^")]).trim(), merge);
    assert_eq!(
        std::fs::read_to_string(env.path("README")).unwrap(),
        "hello\n"
    );
    assert!(!env.path("agent.txt").exists());
    let message = env.git(&["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains(&format!("Forge-Step: {step}")) && message.contains("broke the build"),
        "{message}"
    );
    assert_eq!(env.show(&bead)["status"], "open");
    // The merged work stays reachable in history.
    env.git(&["merge-base", "--is-ancestor", &merge, "main"]);
}

#[test]
fn rollback_of_a_pending_step_discards_it_into_the_attic() {
    let (env, bead, step) = waiting_step(EDIT);
    let run = env.forge(&["--json", "rollback", &step]).ok().json();
    let attic = run["attic"].as_str().unwrap();
    assert_eq!(env.git(&["show", &format!("{attic}:agent.txt")]), "new\n");
    assert_eq!(env.show(&bead)["status"], "open");
}

#[test]
fn a_conflicting_merge_leaves_the_step_waiting_and_rebase_replays_it() {
    let (env, _, step) = waiting_step(EDIT);
    // The base moves with a change to the same line.
    std::fs::write(env.path("README"), "hello\nhuman line\n").unwrap();
    env.commit_all("human edit");
    let run = env.forge(&["approve", &step, "--yes"]).fails_with(7);
    assert!(
        run.stderr
            .contains("conflicts with refs/heads/main: README"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("forge step --rebase {step}")),
        "{}",
        run.stderr
    );
    assert_eq!(
        env.forge(&["--json", "steps"]).ok().json()["steps"][0]["state"],
        "awaiting-approval"
    );
    // The conflict goes to the agent; this one only appends, so the markers stay and the
    // `conflicts` gate fails the step (tests/cli/conflicts.rs has agents that resolve).
    let run = env.forge(&["step", "--rebase", &step]).fails_with(1);
    assert!(
        run.stdout.contains("conflict markers left in README"),
        "{}",
        run.stdout
    );

    // A base change elsewhere: rebase replays the step, the gates run again, approve works.
    let (env, _, step) = waiting_step(EDIT);
    std::fs::write(env.path("other.txt"), "unrelated\n").unwrap();
    env.commit_all("unrelated");
    let run = env
        .forge(&["--json", "step", "--rebase", &step])
        .ok()
        .json();
    assert_eq!(
        run["checkpoint"]["base_commit"],
        env.git(&["rev-parse", "main"]).trim()
    );
    env.forge(&["approve", &step, "--yes"]).ok();
    assert!(env.path("agent.txt").exists() && env.path("other.txt").exists());
}

#[test]
fn revise_without_a_resumable_session_reruns_with_the_feedback() {
    let (env, _, step) = waiting_step(&format!(
        "{KEEP_PROMPT}; echo \"$(date +%s%N)\" >> agent.txt"
    ));
    let run = env
        .forge(&[
            "--json",
            "revise",
            &step,
            "--feedback",
            "also add a heading",
        ])
        .ok()
        .json();
    assert_eq!(run["checkpoint"]["state"], "awaiting-approval");
    let branch = run["checkpoint"]["branch"].as_str().unwrap().to_owned();
    let commits = env.git(&["rev-list", "--count", &format!("main..{branch}")]);
    assert_eq!(
        commits.trim(),
        "2",
        "the revision adds a commit on the same branch"
    );
    let prompts = env.prompts();
    assert_eq!(prompts.len(), 2);
    assert!(
        prompts.iter().any(|p| p.contains("also add a heading")),
        "{prompts:?}"
    );
    assert!(
        events_of(&env, &step)
            .iter()
            .any(|e| e["kind"] == "step.revise")
    );
}

mod pty {
    use rexpect::session::spawn_command;

    use super::*;

    const DOWN: &str = "\x1b[B";

    fn approve_session(env: &TestEnv, args: &[&str]) -> rexpect::session::PtySession {
        let mut cmd = env.command(args);
        cmd.env("TERM", "xterm").env("PAGER", "cat");
        spawn_command(cmd, Some(20_000)).unwrap()
    }

    #[test]
    fn approve_at_the_prompt() {
        let (env, bead, step) = waiting_step(EDIT);
        let mut p = approve_session(&env, &["approve"]);
        p.exp_string(&step).unwrap();
        p.exp_string("approve and merge").unwrap();
        p.send(DOWN).unwrap();
        p.send_line("").unwrap();
        p.exp_string("Type \"merge\"").unwrap();
        p.send_line("merge").unwrap();
        p.exp_string("Merged").unwrap();
        p.exp_eof().unwrap();
        assert_eq!(env.show(&bead)["status"], "closed");
        let approved: Vec<_> = events_of(&env, &step)
            .into_iter()
            .filter(|e| e["kind"] == "step.approved")
            .collect();
        assert_eq!(approved[0]["data"]["how"], "prompt");
    }

    /// Space (or a paste with spaces) at the prompt, and anything but the word at the
    /// confirmation, merge nothing.
    #[test]
    fn space_at_the_prompt_merges_nothing() {
        let (env, bead, step) = waiting_step(EDIT);
        let main = env.git(&["rev-parse", "main"]);
        let mut p = approve_session(&env, &["approve", &step]);
        p.exp_string("approve and merge").unwrap();
        p.send(" ").unwrap();
        p.send("a b c").unwrap();
        // Enter on the highlighted choice only shows the diff.
        p.send_line("").unwrap();
        p.exp_string("+++ b/agent.txt").unwrap();
        p.exp_string("approve and merge").unwrap();
        p.send(DOWN).unwrap();
        p.send(" ").unwrap();
        p.send_line("").unwrap();
        p.exp_string("Type \"merge\"").unwrap();
        p.send_line("yes please").unwrap();
        p.exp_string("Not merged").unwrap();
        p.exp_string("approve and merge").unwrap();
        for _ in 0..4 {
            p.send(DOWN).unwrap();
        }
        p.send_line("").unwrap();
        p.exp_string("still waits").unwrap();
        p.exp_eof().unwrap();
        assert_eq!(env.git(&["rev-parse", "main"]), main, "nothing merged");
        assert_eq!(env.show(&bead)["status"], "open");
        assert!(
            events_of(&env, &step)
                .iter()
                .all(|e| e["kind"] != "step.approved")
        );
    }

    #[test]
    fn reject_at_the_prompt() {
        let (env, bead, step) = waiting_step(EDIT);
        let mut p = approve_session(&env, &["approve", &step]);
        p.exp_string("approve and merge").unwrap();
        p.send(DOWN).unwrap();
        p.send(DOWN).unwrap();
        p.send_line("").unwrap();
        p.exp_string("Why reject it?").unwrap();
        p.send_line("wrong file").unwrap();
        p.exp_string("Rejected").unwrap();
        p.exp_eof().unwrap();
        assert_eq!(env.show(&bead)["reason"], "rejected: wrong file");
    }

    #[test]
    fn view_the_diff_then_revise_then_approve_at_the_prompt() {
        let (env, bead, step) = waiting_step("echo \"edit $(date +%s%N)\" >> agent.txt");
        let mut p = approve_session(&env, &["approve", &step]);
        p.exp_string("approve and merge").unwrap();
        // "view the diff" is the first choice.
        p.send_line("").unwrap();
        p.exp_string("+++ b/agent.txt").unwrap();
        p.exp_string("approve and merge").unwrap();
        for _ in 0..3 {
            p.send(DOWN).unwrap();
        }
        p.send_line("").unwrap();
        p.exp_string("What should change?").unwrap();
        p.send_line("one more line please").unwrap();
        // The revision runs, then the same step is offered again.
        p.exp_string("approve and merge").unwrap();
        p.send(DOWN).unwrap();
        p.send_line("").unwrap();
        p.exp_string("Type \"merge\"").unwrap();
        p.send_line("merge").unwrap();
        p.exp_string("Merged").unwrap();
        p.exp_eof().unwrap();
        assert_eq!(env.show(&bead)["status"], "closed");
        let kinds: Vec<String> = events_of(&env, &step)
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        assert!(kinds.contains(&"step.revise".to_owned()), "{kinds:?}");
        let merged = env.git(&["log", "--format=%s", "main"]);
        assert!(merged.contains(&format!("Merge forge step {step}")));
    }
}

#[test]
fn a_revise_that_changes_nothing_keeps_the_step_waiting_at_its_head() {
    // The agent edits once; asked to double-check, it changes nothing.
    let (env, _, step) = waiting_step("[ -f agent.txt ] || echo new > agent.txt");
    let step_row = |env: &TestEnv| env.forge(&["--json", "steps"]).ok().json()["steps"][0].clone();
    let before = step_row(&env);
    let head = before["head"].as_str().unwrap().to_owned();
    assert!(!head.is_empty(), "{before}");
    let run = env.forge(&["revise", &step, "--feedback", "looks fine, double-check"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("changed nothing"), "{}", run.stdout);
    let after = step_row(&env);
    assert_eq!(after["state"], "awaiting-approval", "{after}");
    assert_eq!(after["head"], head.as_str());
    assert!(
        events_of(&env, &step)
            .iter()
            .any(|e| e["kind"] == "step.unchanged" && e["data"]["head"] == head.as_str())
    );
    env.forge(&["approve", &step, "--yes"]).ok();
    assert_eq!(env.git(&["show", "main:agent.txt"]), "new\n");
}
