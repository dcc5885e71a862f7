//! A failed gate shows why: its last lines in the step report, its whole output through
//! `forge log STEP --gate NAME`, and a bounded excerpt in the next attempt's prompt.

use crate::env::{KEEP_PROMPT, TestEnv};

/// A gate that prints a long test run and fails on an assertion near the end.
const GATE: &str = "[[gates]]\nname = \"tests\"\nrun = \"for i in $(seq 1 60); do echo test line $i; done; \
                    echo 'AssertionError: 2 != 3 in test_sum'; echo 'FAILED (failures=1)'; exit 1\"\n";

fn failed_step() -> (TestEnv, String, String) {
    let env = TestEnv::new();
    // Each run keeps its prompt beside the repository.
    env.script_harness(
        "fake",
        &format!("{KEEP_PROMPT}; echo \"$(date +%s%N)\" >> agent.txt"),
    );
    env.default_harness("fake");
    env.sandbox_write_beside_repo();
    env.configure(GATE);
    let bead = env.create(&["Add the sum"]);
    env.commit_all("forge set up");
    let run = env.forge(&["step"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    (env, bead.clone(), format!("{bead}.1"))
}

#[test]
fn the_step_report_shows_the_failing_gates_last_lines_and_where_the_rest_is() {
    let env = TestEnv::new();
    env.script_harness("fake", "echo new > agent.txt");
    env.default_harness("fake");
    env.configure(GATE);
    env.create(&["Add the sum"]);
    env.commit_all("forge set up");
    let run = env.forge(&["step"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(
        out.contains("| AssertionError: 2 != 3 in test_sum"),
        "{out}"
    );
    assert!(out.contains("| FAILED (failures=1)"), "{out}");
    assert!(out.contains("--gate tests`"), "{out}");
    // Bounded: the start of a long output is left to the log.
    assert!(!out.contains("test line 1\n"), "{out}");
    // The reason is short, with the line that says what failed.
    let steps = env.forge(&["--json", "steps"]).ok().json();
    let reason = steps["steps"][0]["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("tests: exit status 1: FAILED (failures=1)"),
        "{reason}"
    );
}

#[test]
fn forge_log_gate_prints_the_whole_output() {
    let (env, _, step) = failed_step();
    let log = env.forge(&["log", &step, "--gate", "tests"]).ok();
    assert!(log.stdout.contains("test line 1\n"), "{}", log.stdout);
    assert!(
        log.stdout.contains("AssertionError: 2 != 3"),
        "{}",
        log.stdout
    );
    let json = env
        .forge(&["--json", "log", &step, "--gate", "tests"])
        .ok()
        .json();
    assert_eq!(json["gate"], "tests");
    let unknown = env.forge(&["log", &step, "--gate", "nope"]);
    assert_ne!(unknown.code, 0);
    assert!(
        unknown.stderr.contains("no output of a gate named 'nope'")
            && unknown.stderr.contains("tests"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn the_next_attempt_gets_the_failing_output() {
    let (env, bead, _) = failed_step();
    env.forge(&["step", &bead]);
    let prompts = env.prompts();
    assert_eq!(prompts.len(), 2, "{prompts:?}");
    let second = &prompts[1];
    assert!(
        second.contains("AssertionError: 2 != 3 in test_sum"),
        "{second}"
    );
    assert!(
        second.contains("The last lines `tests` printed"),
        "{second}"
    );
    // A useful, bounded excerpt, not the whole log.
    assert!(!second.contains("test line 1\n"), "{second}");
    assert!(second.len() < 8000, "{} bytes", second.len());
}
