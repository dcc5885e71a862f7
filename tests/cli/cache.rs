//! The bead cache is never a second source of truth.

use std::fs::File;
use std::time::{Duration, SystemTime};

use crate::env::TestEnv;

fn titles(env: &TestEnv) -> Vec<String> {
    env.forge(&["--json", "bead", "list", "--all"]).ok().json()["beads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_hand_edit_with_same_size_and_old_mtime_is_seen() {
    let env = TestEnv::new();
    let id = env.create(&["aaaa"]);
    let path = env.path(&format!(".forge/beads/{id}.toml"));
    // Age the file well past the racy window, then build the cache.
    let old = SystemTime::now() - Duration::from_secs(3600);
    set_mtime(&path, old);
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(titles(&env), ["aaaa"]);
    assert!(
        env.path(".git/forge/cache/beads.bin").exists(),
        "the cache was not written"
    );

    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("title = \"aaaa\"", "title = \"bbbb\"");
    assert_eq!(text.len(), edited.len());
    std::fs::write(&path, edited).unwrap();
    set_mtime(&path, old);
    assert_eq!(titles(&env), ["bbbb"], "the cache hid a hand edit");
}

#[test]
fn an_edit_right_after_the_cache_was_written_is_seen() {
    let env = TestEnv::new();
    let id = env.create(&["aaaa"]);
    let path = env.path(&format!(".forge/beads/{id}.toml"));
    assert_eq!(titles(&env), ["aaaa"]);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"aaaa\"", "\"cccc\"")).unwrap();
    assert_eq!(titles(&env), ["cccc"]);
}

#[test]
fn a_corrupt_or_missing_cache_is_rebuilt() {
    let env = TestEnv::new();
    env.create(&["one"]);
    env.create(&["two"]);
    assert_eq!(sorted_titles(&env), ["one", "two"]);
    let cache = env.path(".git/forge/cache/beads.bin");
    std::fs::write(&cache, b"garbage").unwrap();
    assert_eq!(sorted_titles(&env), ["one", "two"]);
    std::fs::remove_file(&cache).unwrap();
    assert_eq!(sorted_titles(&env), ["one", "two"]);
}

#[test]
fn deleted_and_added_files_are_seen() {
    let env = TestEnv::new();
    let a = env.create(&["one"]);
    env.create(&["two"]);
    assert_eq!(sorted_titles(&env), ["one", "two"]);
    std::fs::remove_file(env.path(&format!(".forge/beads/{a}.toml"))).unwrap();
    assert_eq!(titles(&env), ["two"]);
    env.create(&["three"]);
    assert_eq!(sorted_titles(&env), ["three", "two"]);
}

#[test]
fn orphaned_temp_files_are_swept() {
    let env = TestEnv::new();
    env.create(&["one"]);
    let orphan = env.path(".forge/beads/.tmp-999999999-0badf00d-fg-x.toml");
    std::fs::write(&orphan, "half a bead").unwrap();
    assert_eq!(titles(&env), ["one"]);
    assert!(!orphan.exists());
}

/// Once the directory is older than the racy window, forge trusts the cached listing and
/// skips `readdir`; editing, adding and removing files must all still be seen.
#[test]
fn an_aged_directory_still_shows_every_change() {
    let env = TestEnv::new();
    let a = env.create(&["one"]);
    let b = env.create(&["two"]);
    // Past the racy window: the next read writes a cache that trusts the directory's
    // stamp, and the one after uses it.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(sorted_titles(&env), ["one", "two"]);
    assert_eq!(sorted_titles(&env), ["one", "two"]);

    // Same size, mtime restored: only the ctime tells.
    let path = env.path(&format!(".forge/beads/{a}.toml"));
    let old = std::fs::metadata(&path).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"one\"", "\"ONE\"")).unwrap();
    set_mtime(&path, old);
    assert_eq!(
        sorted_titles(&env),
        ["ONE", "two"],
        "an in-place edit was hidden"
    );

    // A file added by hand, as `git pull` would.
    let text = std::fs::read_to_string(env.path(&format!(".forge/beads/{b}.toml"))).unwrap();
    std::fs::write(
        env.path(".forge/beads/fg-zzzz.toml"),
        text.replace(&b, "fg-zzzz").replace("\"two\"", "\"three\""),
    )
    .unwrap();
    assert_eq!(
        sorted_titles(&env),
        ["ONE", "three", "two"],
        "a new file was hidden"
    );

    std::fs::remove_file(env.path(&format!(".forge/beads/{b}.toml"))).unwrap();
    assert_eq!(
        sorted_titles(&env),
        ["ONE", "three"],
        "a removed file was listed"
    );
}

fn set_mtime(path: &std::path::Path, time: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

fn sorted_titles(env: &TestEnv) -> Vec<String> {
    let mut titles = titles(env);
    titles.sort();
    titles
}
