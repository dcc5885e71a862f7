//! `forge ledger verify --range` as a check CI can require (RELIABILITY.md S14): every
//! commit in the range carrying a `Forge-Step:` trailer reached HEAD only through a merge
//! that the committed ledger records as the approval of exactly that step's head, and
//! with `--require-signed` every approval merge carries a good signature.
//!
//! The agent commits are real: `forge step` with a script harness, `forge approve --yes`
//! and `forge rollback`; the ways around an approval are made with plain git.

use std::path::Path;

use forge::clock::Clock;
use forge::ledger::LedgerWriter;
use forge::redact::Redactor;
use serde_json::{Value, json};

use crate::env::{Run, TestEnv, clean_command};

const EDIT: &str =
    "echo \"agent line $FORGE_STEP\" >> README; echo \"$FORGE_STEP\" > \"agent-$FORGE_STEP.txt\"";

/// A repository with a script harness that edits files, all committed.
fn setup() -> TestEnv {
    let env = TestEnv::new();
    env.script_harness("fake", EDIT);
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    env.commit_all("forge set up");
    env
}

struct Step {
    bead: String,
    step: String,
    /// The agent's commit on the step branch.
    head: String,
}

/// Creates a bead (committed) and runs `forge step` on it until it waits for approval;
/// what the step wrote to `.forge/` is left uncommitted.
fn step(env: &TestEnv, title: &str) -> Step {
    let bead = env.create(&[title]);
    env.commit_all(&format!("bead {title}"));
    let run = env.forge(&["--json", "step", &bead]).ok().json();
    let cp = &run["checkpoint"];
    assert_eq!(cp["state"], "awaiting-approval", "{run}");
    Step {
        bead,
        step: cp["step"].as_str().unwrap().to_owned(),
        head: cp["head"].as_str().unwrap().to_owned(),
    }
}

/// `forge approve STEP --yes`, then commits the ledger; returns the merge commit.
fn approve(env: &TestEnv, s: &Step) -> String {
    let run = env
        .forge(&["--json", "approve", &s.step, "--yes"])
        .ok()
        .json();
    let merge = run["merge_commit"].as_str().unwrap().to_owned();
    env.commit_all(&format!("ledger: {} approved", s.step));
    merge
}

fn rev(env: &TestEnv, rev: &str) -> String {
    env.git(&["rev-parse", rev]).trim().to_owned()
}

fn verify(env: &TestEnv, range: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--json", "ledger", "verify", "--range", range];
    args.extend_from_slice(extra);
    env.forge(&args)
}

#[track_caller]
fn passes(env: &TestEnv, range: &str, extra: &[&str]) -> Value {
    let json = verify(env, range, extra).ok().json();
    assert_eq!(
        json["approvals"]["problems"],
        serde_json::json!([]),
        "{json}"
    );
    json
}

/// The approval problems of a failing `verify --range`: (commit, step, message).
#[track_caller]
fn violations(env: &TestEnv, range: &str, extra: &[&str]) -> Vec<(String, String, String)> {
    let run = verify(env, range, extra).fails_with(8);
    assert_eq!(
        run.error_json()["error"]["code"],
        "verify_failed",
        "{}",
        run.stderr
    );
    let json = run.json();
    assert_eq!(json["problems"], serde_json::json!([]), "{json}");
    assert_eq!(json["history"]["problems"], serde_json::json!([]), "{json}");
    json["approvals"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["commit"].as_str().unwrap().to_owned(),
                p["step"].as_str().unwrap().to_owned(),
                p["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[track_caller]
fn named<'a>(
    v: &'a [(String, String, String)],
    commit: &str,
    step: &str,
) -> &'a (String, String, String) {
    v.iter()
        .find(|p| p.0 == commit && p.1 == step)
        .unwrap_or_else(|| panic!("{commit} ({step}) is not named in {v:#?}"))
}

/// A commit on top of `parent` that adds `file`, with `message`: work that nobody
/// reviewed, made with plumbing so that no checkout changes.
fn commit_on(env: &TestEnv, parent: &str, file: &str, message: &str) -> String {
    let index = env.home.join("scratch-index");
    let git = |args: &[&str], input: Option<&str>| -> String {
        let mut cmd = clean_command("git", &env.home);
        cmd.args(args)
            .current_dir(&env.repo)
            .env("GIT_INDEX_FILE", &index)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = input {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    git(&["read-tree", parent], None);
    let blob = git(&["hash-object", "-w", "--stdin"], Some("unreviewed\n"));
    git(
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{blob},{file}"),
        ],
        None,
    );
    let tree = git(&["write-tree"], None);
    git(&["commit-tree", &tree, "-p", parent], Some(message))
}

fn agent_message(s: &Step) -> String {
    format!(
        "More work\n\nforge step {} (fake)\n\nForge-Bead: {}\nForge-Step: {}\n",
        s.step, s.bead, s.step
    )
}

// ---------------------------------------------------------------------------------------

#[test]
fn an_honest_history_passes_and_says_who_approved_how() {
    let env = setup();
    let base = rev(&env, "HEAD");
    let a = step(&env, "Parse the config");
    let merge_a = approve(&env, &a);
    let b = step(&env, "Document the parser");
    let merge_b = approve(&env, &b);
    let json = passes(&env, &format!("{base}..HEAD"), &[]);
    let approvals = &json["approvals"];
    assert_eq!(approvals["step_commits"], 4, "{approvals}");
    let merges = approvals["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 2, "{approvals}");
    for (m, (s, merge)) in merges.iter().zip([(&a, &merge_a), (&b, &merge_b)]) {
        assert_eq!(m["commit"], merge.as_str());
        assert_eq!(m["step"], s.step.as_str());
        assert_eq!(m["bead"], s.bead.as_str());
        assert_eq!(m["head"], s.head.as_str());
        assert_eq!(m["approved_by"], "Ada Tester <ada@example.com>");
        assert_eq!(m["how"], "flag");
        assert_eq!(m["commits"], 1);
        assert!(m.get("signature").is_none(), "{m}");
    }
    let text = env
        .forge(&["ledger", "verify", "--range", &format!("{base}..HEAD")])
        .ok()
        .stdout;
    let line = format!(
        "approved: merge {} of {} at {} (1 commit), by Ada Tester <ada@example.com> (flag)",
        &merge_a[..12],
        a.step,
        &a.head[..12]
    );
    assert!(text.contains(&line), "{line} not in\n{text}");
    assert!(
        text.contains(
            "approvals ok: 4 commits carrying Forge-Step, 2 approval merges, 0 rollbacks"
        ),
        "{text}"
    );
}

#[test]
fn a_pull_request_merging_a_branch_of_approved_steps_passes() {
    // As CI sees it: the steps were approved into `feature`, and HEAD is the merge of
    // `feature` into main that the pull request would make.
    let env = setup();
    env.git(&["checkout", "-q", "-b", "feature"]);
    let a = step(&env, "Parse the config");
    let merge = approve(&env, &a);
    env.git(&["checkout", "-q", "--detach", "main"]);
    env.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);
    let json = passes(&env, "main...HEAD", &[]);
    assert_eq!(json["approvals"]["merges"][0]["commit"], merge.as_str());
    assert_eq!(json["approvals"]["merges"][0]["head"], a.head.as_str());

    // The same branch with one agent commit fast-forwarded onto it fails, naming it.
    env.git(&["checkout", "-q", "feature"]);
    let b = step(&env, "Document the parser");
    env.git(&["merge", "-q", "--ff-only", &format!("forge/{}/1", b.bead)]);
    env.commit_all("ledger");
    env.git(&["checkout", "-q", "--detach", "main"]);
    env.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);
    let v = violations(&env, "main...HEAD", &[]);
    assert_eq!(v.len(), 1, "{v:#?}");
    let (_, _, message) = named(&v, &b.head, &b.step);
    assert!(
        message.contains("which is not an approval merge"),
        "{message}"
    );
}

#[test]
fn an_agent_commit_fast_forwarded_onto_main_is_named() {
    let env = setup();
    let base = rev(&env, "HEAD");
    let s = step(&env, "Parse the config");
    // The step branch fast-forwards main: the agent's commit is on main, unapproved.
    env.git(&["merge", "-q", "--ff-only", &format!("forge/{}/1", s.bead)]);
    env.commit_all("ledger");
    let v = violations(&env, &format!("{base}..HEAD"), &[]);
    assert_eq!(v.len(), 1, "{v:#?}");
    let (_, _, message) = named(&v, &s.head, &s.step);
    assert!(
        message.contains("first-parent line") && message.contains("fast-forwarded"),
        "{message}"
    );
    assert!(
        message.contains(&format!("the ledger records no approval of {}", s.step)),
        "{message}"
    );
    // The text names the commit and step too.
    let run = env
        .forge(&["ledger", "verify", "--range", &format!("{base}..HEAD")])
        .fails_with(8);
    let place = format!("commit {}: {}: agent work", &s.head[..12], s.step);
    assert!(
        run.stdout.contains(&place),
        "{place} not in\n{}",
        run.stdout
    );
    assert!(run.stderr.contains(&place), "{}", run.stderr);
}

#[test]
fn cherry_picks_and_unrecorded_merges_are_named() {
    let env = setup();
    let base = rev(&env, "HEAD");
    let s = step(&env, "Parse the config");
    env.commit_all("ledger");
    let branch = format!("forge/{}/1", s.bead);

    // A cherry-pick copies the trailers onto a commit no approval merged.
    env.git(&["checkout", "-q", "-b", "picked", "main"]);
    env.git(&["cherry-pick", "-x", &branch]);
    let picked = rev(&env, "HEAD");
    let v = violations(&env, &format!("{base}..HEAD"), &[]);
    assert_eq!(v.len(), 1, "{v:#?}");
    named(&v, &picked, &s.step);

    // A merge of the step branch that forge did not make and the ledger does not record.
    env.git(&["checkout", "-q", "-b", "merged", "main"]);
    env.git(&["merge", "-q", "--no-ff", "-m", "just merge it", &branch]);
    let merge = rev(&env, "HEAD");
    let v = violations(&env, &format!("{base}..HEAD"), &[]);
    assert_eq!(v.len(), 1, "{v:#?}");
    let (_, _, message) = named(&v, &s.head, &s.step);
    assert!(
        message.contains(&format!(
            "merged by {}, which is not an approval merge",
            &merge[..12]
        )),
        "{message}"
    );

    // A merge dressed as forge's, with no approval in the ledger.
    env.git(&["checkout", "-q", "-b", "dressed", "main"]);
    env.git(&["merge", "-q", "--no-ff", "-m", &merge_message(&s), &branch]);
    let dressed = rev(&env, "HEAD");
    let v = violations(&env, &format!("{base}..HEAD"), &[]);
    assert_eq!(v.len(), 2, "{v:#?}");
    let (_, _, message) = named(&v, &dressed, &s.step);
    assert!(
        message.contains(&format!("the ledger records no approval of {}", s.step)),
        "{message}"
    );
    named(&v, &s.head, &s.step);
}

#[test]
fn an_approval_recorded_for_a_different_head_is_named() {
    let env = setup();
    let base = rev(&env, "HEAD");
    let s = step(&env, "Parse the config");
    // After the review, more unreviewed work lands on top of the approved head.
    let sneaked = commit_on(&env, &s.head, "sneaked.txt", &agent_message(&s));
    let approved_merge = approve(&env, &s);
    // The honest history passes.
    passes(&env, &format!("{base}..HEAD"), &[]);

    // Replay the approval merge with the later head: same message, same ledger (committed
    // on top), but the merge's second parent is not the head the ledger approves.
    let ledger_commit = rev(&env, "HEAD");
    env.git(&[
        "checkout",
        "-q",
        "-b",
        "tampered",
        &format!("{approved_merge}^1"),
    ]);
    let message = env.git(&["log", "-1", "--format=%B", &approved_merge]);
    env.git(&["merge", "-q", "--no-ff", "-m", message.trim(), &sneaked]);
    let tampered = rev(&env, "HEAD");
    env.git(&["checkout", &ledger_commit, "--", ".forge"]);
    env.commit_all("ledger");
    let v = violations(&env, &format!("{base}..HEAD"), &[]);
    let (_, _, message) = named(&v, &tampered, &s.step);
    assert!(
        message.contains(&format!(
            "the ledger approves {} only at {}, not at this merge's second parent {}",
            s.step,
            &s.head[..12],
            &sneaked[..12]
        )),
        "{message}"
    );
    let (_, _, message) = named(&v, &sneaked, &s.step);
    assert!(
        message.contains(&format!("merged by {}", &tampered[..12])),
        "{message}"
    );
    // The approved head below it came in through the same unbacked merge.
    named(&v, &s.head, &s.step);
    assert_eq!(v.len(), 3, "{v:#?}");
}

/// Ledger events written by hand with forge's own writer (valid chains), as a forged or
/// edited ledger would hold them.
fn record(env: &TestEnv, events: &[(&str, Value)]) {
    let mut w = LedgerWriter::new(
        &env.path(".forge/ledger"),
        "20261121T100000.000000Z-byhand01".into(),
        "Ada Tester <ada@example.com>".into(),
    );
    for (kind, data) in events {
        w.append(
            &Clock::Fixed(1_795_251_600),
            &Redactor::default(),
            kind,
            data.clone(),
        )
        .unwrap();
    }
}

fn merge_message(s: &Step) -> String {
    format!(
        "Merge forge step {0}: title\n\nForge-Step: {0}\nForge-Bead: {1}\nForge-Approved-By: Ada Tester <ada@example.com>\nForge-Approval: flag\n",
        s.step, s.bead
    )
}

#[test]
fn an_approval_of_one_step_does_not_admit_another_steps_commit() {
    let env = setup();
    let base = rev(&env, "HEAD");
    let a = step(&env, "Parse the config");
    let b = step(&env, "Document the parser");
    env.commit_all("ledger");
    // A commit of b slipped under a later head of a, and that head approved and merged.
    let b_under = commit_on(&env, &a.head, "b.txt", &agent_message(&b));
    let a_top = commit_on(&env, &b_under, "a-more.txt", &agent_message(&a));
    env.git(&["merge", "-q", "--no-ff", "-m", &merge_message(&a), &a_top]);
    let merge = rev(&env, "HEAD");
    record(
        &env,
        &[
            (
                "step.approved",
                json!({ "step": a.step, "bead": a.bead, "head": a_top,
                        "approved_by": "Ada Tester <ada@example.com>", "how": "prompt" }),
            ),
            (
                "step.merged",
                json!({ "step": a.step, "bead": a.bead, "head": a_top, "merge_commit": merge,
                        "base_ref": "refs/heads/main" }),
            ),
        ],
    );
    env.commit_all("ledger: a approved");
    let v = violations(&env, &format!("{base}..HEAD"), &[]);
    assert_eq!(v.len(), 1, "{v:#?}");
    let (_, _, message) = named(&v, &b_under, &b.step);
    assert!(
        message.contains(&format!(
            "merged by {}, the approval of {}, not of {}",
            &merge[..12],
            a.step,
            b.step
        )),
        "{message}"
    );
    // a itself is admitted, with who approved it and how.
    let json = verify(&env, &format!("{base}..HEAD"), &[]).json();
    let m = &json["approvals"]["merges"][0];
    assert_eq!(
        (m["commit"].as_str(), m["how"].as_str()),
        (Some(merge.as_str()), Some("prompt"))
    );
    assert_eq!(m["commits"], 2, "{m}");
}

#[test]
fn an_approval_on_a_line_that_does_not_verify_is_no_evidence() {
    let env = setup();
    let base = rev(&env, "HEAD");
    let s = step(&env, "Parse the config");
    env.commit_all("ledger");
    env.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        &merge_message(&s),
        &format!("forge/{}/1", s.bead),
    ]);
    let merge = rev(&env, "HEAD");
    record(
        &env,
        &[
            (
                "step.approved",
                json!({ "step": s.step, "bead": s.bead, "head": s.head,
                        "approved_by": "Ada Tester <ada@example.com>", "how": "flag" }),
            ),
            (
                "step.merged",
                json!({ "step": s.step, "bead": s.bead, "head": s.head, "merge_commit": merge,
                        "base_ref": "refs/heads/main" }),
            ),
        ],
    );
    env.commit_all("ledger: approved");
    let file = ".forge/ledger/2026-11/20261121T100000.000000Z-byhand01.jsonl";
    let intact = env.git(&["show", &format!("HEAD:{file}")]);
    // With valid chains, the hand-written approval backs the merge: the check trusts the
    // committed ledger, which the pull request's review shows.
    passes(&env, &format!("{base}..HEAD"), &[]);

    // The same two lines in the other order: each still carries a valid hash of its own,
    // but the chain is broken, and a line that breaks it is no evidence.
    env.git(&["checkout", "-q", "-b", "reordered", &merge]);
    let lines: Vec<&str> = intact.lines().collect();
    assert_eq!(lines.len(), 2);
    std::fs::create_dir_all(env.path(file).parent().unwrap()).unwrap();
    std::fs::write(env.path(file), format!("{}\n{}\n", lines[1], lines[0])).unwrap();
    env.commit_all("ledger: approved (reordered)");
    let json = verify(&env, &format!("{base}..HEAD"), &[])
        .fails_with(8)
        .json();
    let history = json["history"]["problems"].as_array().unwrap();
    assert!(
        history.iter().any(|p| p["file"] == file && p["line"] == 1),
        "{json}"
    );
    let problems = json["approvals"]["problems"].as_array().unwrap();
    let of = |commit: &str| {
        problems
            .iter()
            .find(|p| p["commit"] == commit)
            .unwrap_or_else(|| panic!("{commit} not named in {json}"))["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        of(&merge).contains(&format!("the ledger records no approval of {}", s.step)),
        "{json}"
    );
    of(&s.head);
}

#[test]
fn a_recorded_rollback_passes_and_an_unrecorded_one_is_named() {
    let env = setup();
    let base = rev(&env, "HEAD");
    let s = step(&env, "Parse the config");
    approve(&env, &s);
    let run = env
        .forge(&["--json", "rollback", &s.step, "--reason", "broke the build"])
        .ok()
        .json();
    let revert = run["revert_commit"].as_str().unwrap().to_owned();
    env.commit_all("ledger: rolled back");
    let json = passes(&env, &format!("{base}..HEAD"), &[]);
    let rollbacks = json["approvals"]["rollbacks"].as_array().unwrap();
    assert_eq!(rollbacks.len(), 1, "{json}");
    assert_eq!(rollbacks[0]["commit"], revert.as_str());
    assert_eq!(rollbacks[0]["step"], s.step.as_str());
    assert_eq!(rollbacks[0]["by"], "Ada Tester <ada@example.com>");

    // A commit that claims to be a rollback without the ledger recording it.
    let claimed = format!(
        "Revert forge step {0}: not really\n\nForge-Step: {0}\nForge-Bead: {1}\nForge-Rollback-By: Mallory <m@example.com>\n",
        s.step, s.bead
    );
    std::fs::write(env.path("README"), "anything at all\n").unwrap();
    env.git(&["commit", "-q", "-a", "-m", &claimed]);
    let fake = rev(&env, "HEAD");
    let v = violations(&env, &format!("{base}..HEAD"), &[]);
    assert_eq!(v.len(), 1, "{v:#?}");
    let (_, _, message) = named(&v, &fake, &s.step);
    assert!(message.contains("records no rollback"), "{message}");
}

#[test]
fn require_signed_fails_on_an_unsigned_approval_merge() {
    let env = setup();
    let base = rev(&env, "HEAD");
    let s = step(&env, "Parse the config");
    let merge = approve(&env, &s);
    let range = format!("{base}..HEAD");
    passes(&env, &range, &[]);
    let v = violations(&env, &range, &["--require-signed"]);
    assert_eq!(v.len(), 1, "{v:#?}");
    let (_, _, message) = named(&v, &merge, &s.step);
    assert!(message.contains("is not signed"), "{message}");
    // --require-signed means nothing without a range.
    env.forge(&["ledger", "verify", "--require-signed"])
        .fails_with(2);
}

/// A throwaway SSH signing key in the test's HOME; git signs every commit in the test
/// repository with it and trusts it for `verify-commit`. Returns the allowed-signers file.
fn ssh_signing(env: &TestEnv) -> std::path::PathBuf {
    let key = env.home.join("signing-key");
    let out = clean_command("ssh-keygen", &env.home)
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "ada@example.com",
            "-f",
        ])
        .arg(&key)
        .output()
        .expect("ssh-keygen is needed to test signed approvals (install openssh-client)");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = key.with_file_name("signing-key.pub");
    let allowed = env.home.join("allowed_signers");
    std::fs::write(
        &allowed,
        format!(
            "ada@example.com namespaces=\"git\" {}",
            std::fs::read_to_string(&public).unwrap()
        ),
    )
    .unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    env.git(&["config", "gpg.format", "ssh"]);
    env.git(&["config", "user.signingkey", &path(&public)]);
    env.git(&["config", "commit.gpgsign", "true"]);
    env.git(&["config", "gpg.ssh.allowedSignersFile", &path(&allowed)]);
    allowed
}

#[test]
fn require_signed_passes_on_an_ssh_signed_approval_merge() {
    let env = setup();
    let allowed = ssh_signing(&env);
    let base = rev(&env, "HEAD");
    let s = step(&env, "Parse the config");
    // forge merges with the approver's own git, so the approval merge is signed.
    let merge = approve(&env, &s);
    env.git(&["verify-commit", &merge]);
    let range = format!("{base}..HEAD");
    let json = passes(&env, &range, &["--require-signed"]);
    let m = &json["approvals"]["merges"][0];
    assert_eq!(m["commit"], merge.as_str());
    assert_eq!(m["signature"]["good"], true, "{m}");
    assert!(
        m["signature"]["detail"]
            .as_str()
            .unwrap()
            .contains("Good \"git\" signature for ada@example.com"),
        "{m}"
    );
    assert_eq!(json["approvals"]["require_signed"], true);
    let text = env
        .forge(&["ledger", "verify", "--range", &range, "--require-signed"])
        .ok()
        .stdout;
    assert!(
        text.contains(", signed: Good \"git\" signature for ada@example.com"),
        "{text}"
    );

    // A signature by a key the verifier does not trust is not good enough.
    std::fs::write(&allowed, "").unwrap();
    let v = violations(&env, &range, &["--require-signed"]);
    assert_eq!(v.len(), 1, "{v:#?}");
    let (_, _, message) = named(&v, &merge, &s.step);
    assert!(message.contains("carries no good signature"), "{message}");
}
