//! `forge hooks install|uninstall|status` and what the hooks do: pre-commit refuses broken
//! staged `.forge/` files, post-commit links and closes beads named in trailers.

use std::os::unix::fs::PermissionsExt;

use crate::env::{TestEnv, clean_command, to_run};
use crate::merge::git_raw;

const USER_PRE_COMMIT: &str =
    "#!/bin/sh\n# my own checks\necho user-pre-commit >> \"$(git rev-parse --git-dir)/ran\"\n";
const USER_POST_COMMIT: &str =
    "#!/usr/bin/env bash\necho user-post-commit >> \"$(git rev-parse --git-dir)/ran\"\nexit 0";

fn write_hook(env: &TestEnv, name: &str, text: &str, mode: u32) {
    let path = env.path(&format!(".git/hooks/{name}"));
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn hook_file(env: &TestEnv, name: &str) -> (Vec<u8>, u32) {
    let path = env.path(&format!(".git/hooks/{name}"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    (std::fs::read(&path).unwrap(), mode)
}

fn commit(env: &TestEnv, message: &str) -> crate::env::Run {
    git_raw(env, &["commit", "-q", "-m", message])
}

#[test]
fn hooks_installed_next_to_user_hooks_both_run_and_uninstall_restores_them() {
    let env = TestEnv::new();
    write_hook(&env, "pre-commit", USER_PRE_COMMIT, 0o755);
    write_hook(&env, "post-commit", USER_POST_COMMIT, 0o700);
    let before = (
        hook_file(&env, "pre-commit"),
        hook_file(&env, "post-commit"),
    );

    let run = env.forge(&["--json", "hooks", "install"]).ok().json();
    assert_eq!(run["hooks"][0]["state"], "installed");
    assert_eq!(run["hooks"][0]["user_lines"], true);
    assert_eq!(run["merge_driver"]["configured"], true);
    // Reinstalling changes nothing.
    let pre = hook_file(&env, "pre-commit");
    let again = env.forge(&["--json", "hooks", "install"]).ok().json();
    assert_eq!(again["actions"][0][1], "unchanged");
    assert_eq!(hook_file(&env, "pre-commit"), pre);

    // Both run: the user's lines write `ran`; forge's post-commit closes the bead.
    let id = env.create(&["Hooked"]);
    env.git(&["add", "-A"]);
    let done = commit(&env, &format!("Work\n\nCloses: {id}\n"));
    assert_eq!(done.code, 0, "{}", done.stderr);
    let ran = std::fs::read_to_string(env.path(".git/ran")).unwrap();
    assert_eq!(ran, "user-pre-commit\nuser-post-commit\n");
    let bead = env.show(&id);
    assert_eq!(bead["status"], "closed");

    let run = env.forge(&["--json", "hooks", "uninstall"]).ok().json();
    assert_eq!(run["hooks"][0]["state"], "missing");
    assert_eq!(
        (
            hook_file(&env, "pre-commit"),
            hook_file(&env, "post-commit")
        ),
        before,
        "uninstall must restore the user's hooks byte for byte"
    );
}

#[test]
fn files_forge_created_are_removed_and_odd_files_are_restored_exactly() {
    let env = TestEnv::new();
    // A user hook whose only line has no newline, and no hook at all for post-commit.
    write_hook(&env, "pre-commit", "#!/bin/sh", 0o755);
    env.forge(&["hooks", "install"]).ok();
    let text = String::from_utf8(hook_file(&env, "post-commit").0).unwrap();
    assert!(text.starts_with("#!/bin/sh\n# >>> forge >>>"), "{text}");
    assert!(
        hook_file(&env, "post-commit").1 & 0o111 != 0,
        "created hooks are executable"
    );
    env.forge(&["hooks", "uninstall"]).ok();
    assert_eq!(hook_file(&env, "pre-commit").0, b"#!/bin/sh");
    assert!(!env.path(".git/hooks/post-commit").exists());
    // A second uninstall has nothing to do.
    env.forge(&["hooks", "uninstall"]).ok();
    assert_eq!(hook_file(&env, "pre-commit").0, b"#!/bin/sh");
    assert!(!env.path(".git/hooks/post-commit").exists());
}

#[test]
fn hooks_in_another_language_are_refused_untouched() {
    let env = TestEnv::new();
    write_hook(
        &env,
        "pre-commit",
        "#!/usr/bin/env python3\nprint('hi')\n",
        0o755,
    );
    let run = env.forge(&["hooks", "install"]).fails_with(7);
    assert!(run.stderr.contains("python3 script"), "{}", run.stderr);
    assert!(run.stderr.contains("docs/hooks.md"), "{}", run.stderr);
    assert_eq!(
        hook_file(&env, "pre-commit").0,
        b"#!/usr/bin/env python3\nprint('hi')\n"
    );
    assert!(
        !env.path(".git/hooks/post-commit").exists(),
        "nothing half done"
    );
}

#[test]
fn core_hooks_path_is_honoured_and_linked_worktrees_run_the_hooks() {
    let env = TestEnv::new();
    env.git(&["config", "core.hooksPath", "githooks"]);
    env.forge(&["hooks", "install"]).ok();
    assert!(env.path("githooks/pre-commit").exists());
    assert!(!env.path(".git/hooks/pre-commit").exists());
    let status = env.forge(&["--json", "hooks", "status"]).ok().json();
    assert_eq!(status["hooks_path"], "githooks");
    env.commit_all("forge state and hooks");

    // A linked worktree: its commits run the same hooks, against its own index.
    let wt = env.repo.parent().unwrap().join("linked");
    env.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    let bead = std::fs::read_dir(wt.join(".forge/beads")).unwrap().count();
    assert_eq!(bead, 1, "only .gitkeep");
    std::fs::write(wt.join(".forge/beads/fg-bad.toml"), "not = [toml\n").unwrap();
    let git = |args: &[&str]| {
        to_run(
            clean_command("git", &env.home)
                .args(args)
                .current_dir(&wt)
                .output()
                .unwrap(),
        )
    };
    assert_eq!(git(&["add", "-A"]).code, 0);
    let refused = git(&["commit", "-q", "-m", "bad"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains(".forge/beads/fg-bad.toml:1"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_missing_forge_warns_but_never_blocks_a_commit() {
    let env = TestEnv::new();
    env.forge(&["hooks", "install"]).ok();
    for hook in ["pre-commit", "post-commit"] {
        let path = env.path(&format!(".git/hooks/{hook}"));
        let text = std::fs::read_to_string(&path).unwrap();
        let exe = crate::env::forge_bin().canonicalize().unwrap();
        let moved = text.replace(exe.to_str().unwrap(), "/nonexistent/forge");
        assert_ne!(moved, text);
        std::fs::write(&path, moved).unwrap();
    }
    std::fs::write(env.path("file"), "x").unwrap();
    env.git(&["add", "-A"]);
    let out = to_run(
        clean_command("git", &env.home)
            .args(["commit", "-q", "-m", "no forge here"])
            .current_dir(&env.repo)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("forge: not found"), "{}", out.stderr);
}

fn installed() -> TestEnv {
    let env = TestEnv::new();
    env.forge(&["hooks", "install"]).ok();
    env.create(&["A bead"]);
    env.git(&["add", "-A"]);
    assert_eq!(commit(&env, "forge state").code, 0);
    env
}

fn refused(env: &TestEnv, needles: &[&str]) {
    env.git(&["add", "-A"]);
    let out = commit(env, "should be refused");
    assert_ne!(out.code, 0, "the commit went through:\n{}", out.stderr);
    for n in needles {
        assert!(out.stderr.contains(n), "{n} missing from:\n{}", out.stderr);
    }
    assert!(env.git(&["log", "-1", "--format=%s"]).trim() == "forge state");
}

#[test]
fn pre_commit_refuses_a_rewritten_committed_ledger_line() {
    let env = installed();
    let file = crate::ledger::ledger_files(&env).pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("A bead", "B bead", 1)).unwrap();
    let rel = file.strip_prefix(&env.repo).unwrap().display().to_string();
    refused(
        &env,
        &[
            &format!("{rel}:1: line 1 of the committed ledger file was changed"),
            "append-only",
        ],
    );
    // Deleting a committed ledger file is refused too.
    std::fs::remove_file(&file).unwrap();
    refused(&env, &["a committed ledger file is deleted"]);
}

#[test]
fn pre_commit_refuses_staged_conflict_markers() {
    let env = installed();
    let id = env.create(&["Another"]);
    let path = env.path(&format!(".forge/beads/{id}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen(
        "kind = ",
        "<<<<<<< HEAD\ntitle = \"x\"\n=======\ntitle = \"y\"\n>>>>>>> other\nkind = ",
        1,
    );
    std::fs::write(&path, broken).unwrap();
    refused(
        &env,
        &[
            &format!(".forge/beads/{id}.toml:4: an unresolved git conflict marker"),
            "forge resolve",
        ],
    );
}

#[test]
fn pre_commit_refuses_a_staged_secret_without_repeating_it() {
    let env = installed();
    let secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    std::fs::write(
        env.path(".forge/notes.md"),
        format!("# notes\n\ntoken: {secret}\n"),
    )
    .unwrap();
    env.git(&["add", "-A"]);
    let out = commit(&env, "leak");
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains(".forge/notes.md:3: what looks like a secret"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains(secret),
        "the refusal must not print the secret"
    );
}

#[test]
fn pre_commit_reads_the_index_not_the_working_tree() {
    let env = installed();
    let id = env.create(&["Staged fine"]);
    env.git(&["add", "-A"]);
    // Broken in the working tree after staging: the staged version is what counts.
    std::fs::write(
        env.path(&format!(".forge/beads/{id}.toml")),
        "garbage = [\n",
    )
    .unwrap();
    let out = commit(&env, "fine as staged");
    assert_eq!(out.code, 0, "{}", out.stderr);
    // And a partial commit (`git commit FILE`) is checked against the index git builds.
    std::fs::write(env.path("other"), "x").unwrap();
    env.git(&["add", "other"]);
    let out = git_raw(
        &env,
        &[
            "commit",
            "-q",
            "-m",
            "partial",
            "--",
            &format!(".forge/beads/{id}.toml"),
        ],
    );
    assert_ne!(
        out.code, 0,
        "the broken working-tree file is what `git commit FILE` commits"
    );
    assert!(
        out.stderr.contains(&format!(".forge/beads/{id}.toml:")),
        "{}",
        out.stderr
    );
}

#[test]
fn post_commit_closes_and_links_beads_named_in_trailers() {
    let env = installed();
    let a = env.create(&["Closed by a commit"]);
    let b = env.create(&["Linked by a commit"]);
    env.git(&["add", "-A"]);
    assert_eq!(commit(&env, "beads").code, 0);
    std::fs::write(env.path("work.txt"), "done\n").unwrap();
    env.git(&["add", "work.txt"]);
    let out = commit(
        &env,
        &format!("Do the work\n\nCloses: {a}\nForge-Bead: {b}\nFixes: #12\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let head = env.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let closed = env.show(&a);
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        closed["reason"],
        format!("closed by commit {}", &head[..12])
    );
    let linked = env.show(&b);
    assert_eq!(linked["status"], "open");
    let events = env.forge(&["--json", "ledger", "show"]).ok().json();
    let links: Vec<&serde_json::Value> = events
        .as_array()
        .or_else(|| events["events"].as_array())
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "bead.linked")
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(links.iter().all(|e| e["data"]["commit"] == head.as_str()));
    assert!(links.iter().any(|e| e["data"]["bead"] == b.as_str()));
}

#[test]
fn post_commit_never_fails_the_commit() {
    let env = installed();
    std::fs::write(env.path("x"), "x").unwrap();
    env.git(&["add", "x"]);
    let out = commit(&env, "Work\n\nCloses: fg-zzzzzzzz\n");
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("fg-zzzzzzzz"), "{}", out.stderr);
}
