//! Conflicts seen before they happen: `status`, `steps` and `approve` name what a waiting
//! step would conflict with, the base's tip or another waiting step, before anyone merges.

use crate::env::TestEnv;

/// Two beads whose steps both rewrite README's second line, each waiting for approval.
fn two_waiting_steps() -> (TestEnv, String, String) {
    let env = TestEnv::new();
    env.script_harness("fake", "printf 'hello\\n%s\\n' \"$FORGE_BEAD\" > README");
    env.default_harness("fake");
    let a = env.create(&["First"]);
    let b = env.create(&["Second"]);
    env.commit_all("forge set up");
    env.forge(&["step", &a]).ok();
    env.forge(&["step", &b]).ok();
    (env, format!("{a}.1"), format!("{b}.1"))
}

#[test]
fn waiting_steps_that_overlap_are_named_by_status_and_steps() {
    let (env, a, b) = two_waiting_steps();
    let status = env.forge(&["status"]).ok().stdout;
    assert!(
        status.contains(&format!("{a} overlaps {b} in README")),
        "{status}"
    );
    let json = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(
        json["conflicts"][0]["overlaps"][0]["files"][0], "README",
        "{json}"
    );
    let steps = env.forge(&["steps"]).ok().stdout;
    assert!(
        steps.contains(&format!("overlaps {a} in README")),
        "{steps}"
    );
}

#[test]
fn a_conflict_with_the_moved_base_is_named_before_approval() {
    let (env, a, _) = two_waiting_steps();
    std::fs::write(env.path("README"), "hello\nhuman line\n").unwrap();
    env.commit_all("human edit");
    let status = env.forge(&["status"]).ok().stdout;
    assert!(
        status.contains(&format!("{a} conflicts with main in README")),
        "{status}"
    );
    let steps = env.forge(&["--json", "steps"]).ok().json();
    let row = steps["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == a.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["conflicts"]["with_base"][0], "README", "{row}");
}

#[test]
fn steps_on_different_files_predict_nothing() {
    let env = TestEnv::new();
    env.script_harness("fake", "echo x > \"$FORGE_BEAD.txt\"");
    env.default_harness("fake");
    let a = env.create(&["First"]);
    let b = env.create(&["Second"]);
    env.commit_all("forge set up");
    env.forge(&["step", &a]).ok();
    env.forge(&["step", &b]).ok();
    let json = env.forge(&["--json", "status"]).ok().json();
    assert_eq!(json["conflicts"], serde_json::json!([]), "{json}");
    assert!(
        !env.forge(&["status"])
            .ok()
            .stdout
            .contains("conflict ahead")
    );
}
