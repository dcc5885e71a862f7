//! Gates that see through the diff (symbolic links out of the tree, new binary and
//! executable files, secrets inside binary files) and config paths that cannot leave the
//! repository.

use serde_json::Value;

use crate::env::TestEnv;

fn setup(script: &str) -> (TestEnv, String) {
    let env = TestEnv::new();
    env.script_harness("fake", script);
    env.default_harness("fake");
    let bead = env.create(&["Change the tree"]);
    env.commit_all("forge set up");
    (env, bead)
}

fn gate(cp: &Value, name: &str) -> Option<Value> {
    cp["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .cloned()
}

fn detail(cp: &Value, name: &str) -> String {
    let g = gate(cp, name).unwrap_or_else(|| panic!("no gate {name}: {cp}"));
    g["detail"].as_str().unwrap().to_owned()
}

#[test]
fn symlinks_out_of_the_worktree_fail_the_step() {
    let (env, bead) = setup(
        "ln -s /etc/passwd passwd-link; ln -s ../../../../etc/shadow shadow-link; echo x > f.txt",
    );
    let text = env.forge(&["step"]).fails_with(1).stdout;
    assert!(
        text.contains("gate FAIL symlinks symbolic links out of the worktree: "),
        "{text}"
    );
    assert!(
        text.contains("passwd-link -> /etc/passwd (an absolute path)"),
        "{text}"
    );
    assert!(
        text.contains("shadow-link -> ../../../../etc/shadow (climbs above the worktree root)"),
        "{text}"
    );
    let saved =
        std::fs::read_to_string(env.path(&format!(".forge/checkpoints/{bead}.1.toml"))).unwrap();
    assert!(saved.contains("state = \"failed\""), "{saved}");
    assert!(saved.contains("passwd-link -> /etc/passwd"), "{saved}");
    assert!(saved.contains("gates failed: symlinks"), "{saved}");
}

#[test]
fn links_into_git_or_out_through_another_link_fail() {
    let (env, _) = setup(
        "mkdir -p a/b; ln -s ../../c a/b/up; ln -s a/b/up/../.. sneaky; ln -s .git/config gitcfg",
    );
    let cp = env.forge(&["--json", "step"]).fails_with(1).json()["checkpoint"].clone();
    let d = detail(&cp, "symlinks");
    assert!(
        d.contains("sneaky -> a/b/up/../.. (climbs above the worktree root through a/b/up)"),
        "{d}"
    );
    assert!(d.contains("gitcfg -> .git/config"), "{d}");
    // a/b/up -> ../../c stays inside: it is not named.
    assert!(!d.contains("a/b/up ->"), "{d}");
}

#[test]
fn symlinks_inside_the_worktree_pass() {
    let (env, _) = setup(
        "mkdir docs; echo hi > docs/a.md; ln -s docs/a.md readme-link; ln -s ../README docs/up",
    );
    let run = env.forge(&["--json", "step"]).ok();
    let cp = &run.json()["checkpoint"];
    assert_eq!(cp["state"], "awaiting-approval");
    let g = gate(cp, "symlinks").unwrap();
    assert_eq!(g["ok"], true, "{g}");
    assert_eq!(g["detail"], "");
}

#[test]
fn new_executable_and_binary_files_are_listed_and_raise_the_risk() {
    let (env, bead) = setup(
        "printf '#!/bin/sh\\necho hi\\n' > run.sh; chmod +x run.sh; chmod +x README; \
         printf 'PNG\\000\\001\\002\\003' > image.bin; echo text > plain.txt",
    );
    let run = env.forge(&["--json", "step"]).ok();
    let cp = &run.json()["checkpoint"];
    assert_eq!(cp["state"], "awaiting-approval");
    assert_eq!(cp["risk"], "medium", "{cp}");
    let d = detail(cp, "binaries-executables");
    assert!(d.contains("new binary files: image.bin;"), "{d}");
    assert!(d.contains("new executable files: README, run.sh;"), "{d}");
    assert!(!d.contains("plain.txt"), "{d}");
    assert!(d.contains("risk at least medium"), "{d}");
    let ledger = env
        .forge(&["--json", "ledger", "show", "--bead", &bead])
        .ok()
        .json();
    assert!(
        ledger["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["gate"] == "binaries-executables"
                && e["data"]["detail"].as_str().unwrap().contains("image.bin")),
        "{ledger}"
    );
}

#[test]
fn a_text_only_step_stays_low_risk_with_no_listing() {
    let (env, _) = setup("echo more >> README; echo new > new.txt");
    let cp = env.forge(&["--json", "step"]).ok().json()["checkpoint"].clone();
    assert_eq!(cp["risk"], "low", "{cp}");
    assert!(gate(&cp, "binaries-executables").is_none(), "{cp}");
    assert!(gate(&cp, "symlinks").is_none(), "{cp}");
}

#[test]
fn a_key_inside_a_binary_file_fails_the_secrets_gate() {
    let canary = "ghp_BinCanaryBinCanaryBinCanary0123456";
    // Assembled at run time, so that config.toml does not hold it. The second file is text
    // that a `.gitattributes` written by the agent makes git show as binary.
    let (env, _) = setup(
        "t=ghp_BinCanary; t=${t}BinCanaryBinCanary0123456; \
         printf '\\000\\001\\002' > blob.bin; printf '%s' \"$t\" >> blob.bin; \
         printf '\\000\\377' >> blob.bin; \
         echo '*.txt binary' > .gitattributes; echo \"key $t\" > notes.txt",
    );
    let cp = env.forge(&["--json", "step"]).fails_with(1).json()["checkpoint"].clone();
    assert_eq!(gate(&cp, "secrets").unwrap()["ok"], false, "{cp}");
    let d = detail(&cp, "secrets");
    assert!(d.contains("blob.bin (binary, byte 3)"), "{d}");
    assert!(d.contains("notes.txt:1 (shown by git as binary)"), "{d}");
    assert!(!d.contains(canary), "{d}");
    for (path, bytes) in env.snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(canary),
            "{} holds the secret",
            path.display()
        );
    }
}

/// A repository with a harness that would leave a mark if it ran, and `edit` applied to
/// its config.
fn refused(edit: (&str, &str)) -> (TestEnv, String) {
    let (env, bead) = setup("echo ran > ran.txt");
    env.edit_config(edit.0, edit.1);
    (env, bead)
}

fn assert_refused(env: &TestEnv, key: &str, value: &str, fix: &str) {
    let run = env.forge(&["step"]).fails_with(5);
    let first = run.stderr.lines().next().unwrap_or("");
    assert!(first.contains(".forge/config.toml:"), "{}", run.stderr);
    assert!(first.contains(key), "{}", run.stderr);
    assert!(first.contains(&format!("\"{value}\"")), "{}", run.stderr);
    assert!(first.contains(fix), "{}", run.stderr);
    let json = env.forge(&["--json", "step"]).fails_with(5).error_json();
    assert_eq!(json["error"]["code"], "parse_error", "{json}");
    assert_eq!(json["error"]["exit"], 5);
    // Every command reads the config: all refuse it the same way.
    env.forge(&["ready"]).fails_with(5);
    // No step started.
    let branches = env.git(&["branch", "--list", "forge/*"]);
    assert_eq!(branches.trim(), "", "a step ran");
}

#[test]
fn an_absolute_copy_path_is_refused_and_the_file_is_untouched() {
    let (env, _) = setup("echo ran > ran.txt");
    let file = env.repo.join("../precious.txt");
    std::fs::write(&file, b"keep me\n").unwrap();
    let file = file.canonicalize().unwrap();
    let abs = file.display().to_string();
    env.edit_config("copy = []", &format!("copy = [{:?}]", abs));
    assert_refused(&env, "[worktree] copy", &abs, "relative to its root");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me\n");
}

#[test]
fn a_copy_path_with_dotdot_is_refused() {
    let (env, _) = refused(("copy = []", "copy = [\"../x\"]"));
    std::fs::write(env.repo.join("../x"), b"outside\n").unwrap();
    assert_refused(&env, "[worktree] copy", "../x", "contains '..'");
    assert_eq!(std::fs::read(env.repo.join("../x")).unwrap(), b"outside\n");
}

#[test]
fn an_absolute_prompt_template_is_refused() {
    let (env, _) = refused((
        "# prompt_template = \"prompt.md\"",
        "prompt_template = \"/etc/passwd\"",
    ));
    assert_refused(
        &env,
        "[step] prompt_template",
        "/etc/passwd",
        "name a file under .forge/",
    );
}

/// A link that stays inside when it is added can be made to escape by a later step that
/// turns a directory it passes through into a link (`l -> d/d/../../..`, then `d -> .`).
#[test]
fn a_link_made_to_escape_by_a_later_step_fails_that_step() {
    let env = TestEnv::new();
    env.script_harness(
        "first",
        "mkdir -p d/d && echo x > d/d/f && ln -s d/d/../../../etc/passwd l",
    );
    env.script_harness("second", "rm -r d && ln -s . d");
    env.create(&["Add the link"]);
    env.create(&["Replace the directory"]);
    env.commit_all("forge set up");
    let first = env.forge(&["--json", "step", "--harness", "first"]).json();
    let cp = &first["checkpoint"];
    assert_eq!(
        cp["state"], "failed",
        "the link climbs above the root: {cp}"
    );
    // A link that stays inside passes on its own...
    let env = TestEnv::new();
    env.script_harness(
        "first",
        "mkdir -p d/d && echo x > d/d/f && ln -s d/d/../../etc l",
    );
    env.script_harness("second", "rm -r d && ln -s . d");
    env.create(&["Add the link"]);
    env.commit_all("forge set up");
    let first = env.forge(&["--json", "step", "--harness", "first"]).json();
    let cp = &first["checkpoint"];
    assert_eq!(cp["state"], "awaiting-approval", "{cp}");
    let step = cp["step"].as_str().unwrap();
    env.forge(&["approve", step, "--yes"]).ok();
    // ... and the step that makes it escape fails, naming it.
    env.create(&["Replace the directory"]);
    let second = env.forge(&["--json", "step", "--harness", "second"]).json();
    let cp = &second["checkpoint"];
    assert_eq!(cp["state"], "failed", "{cp}");
    assert!(
        detail(cp, "symlinks").contains("l -> d/d/../../etc"),
        "{}",
        detail(cp, "symlinks")
    );
}

/// `[worktree] copy` through a directory the base commit has as a link out of the tree:
/// nothing is created outside (not even the directories above the file), the step says why.
#[test]
fn a_copy_behind_a_committed_link_creates_nothing_outside() {
    let (env, _) = setup("echo ran > ran.txt");
    let outside = env.repo.parent().unwrap().join("outside");
    std::fs::create_dir(&outside).unwrap();
    // The base commit has `a -> outside`; the user's checkout has a real `a/b/c.env` there.
    std::os::unix::fs::symlink(&outside, env.path("a")).unwrap();
    env.commit_all("a link");
    std::fs::remove_file(env.path("a")).unwrap();
    std::fs::create_dir_all(env.path("a/b")).unwrap();
    std::fs::write(env.path("a/b/c.env"), "SECRET=1\n").unwrap();
    env.edit_config("copy = []", "copy = [\"a/b/c.env\"]");
    let run = env.forge(&["--json", "step"]);
    let cp = &run.json()["checkpoint"];
    assert_eq!(cp["state"], "failed", "{cp}");
    assert!(
        cp["reason"].as_str().unwrap().contains("behind a symlink"),
        "{cp}"
    );
    let made: Vec<_> = std::fs::read_dir(&outside).unwrap().flatten().collect();
    assert!(made.is_empty(), "created outside the worktree: {made:?}");
}
