//! `forge plan`: fake planner harnesses (fixtures/planners/), plans from files, all-or-nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::env::{TestEnv, fixture, ids, toml_string};

fn with_planner(name: &str) -> TestEnv {
    let env = TestEnv::new();
    let script = fixture(&format!("planners/{name}"));
    env.configure(&format!(
        "[harness.planner]\npreset = \"command\"\ncommand = [{}]\ntimeout = 30\n",
        toml_string(script.to_str().unwrap())
    ));
    // The [plan] section's commented harness line, not the [step] one.
    env.edit_config(
        "# harness = \"claude\"\n\n# A harness",
        "harness = \"planner\"\n\n# A harness",
    );
    env.commit_all("set up");
    env
}

fn beads(env: &TestEnv) -> Vec<String> {
    ids(&env.forge(&["--json", "bead", "list", "--all"]).ok().json()["beads"])
}

#[test]
fn a_valid_plan_creates_the_goal_items_and_assumptions() {
    let env = with_planner("valid");
    let run = env
        .forge(&[
            "--json",
            "plan",
            "Let users log in with GitHub",
            "--harness",
            "planner",
            "--yes",
        ])
        .ok()
        .json();
    let epic = run["epic"].as_str().unwrap().to_owned();
    let items: Vec<String> = run["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(items.len(), 3);
    let (users, callback, button) = (&items[0], &items[1], &items[2]);
    // ready follows the dependencies: users, then callback, then button, then the goal.
    assert_eq!(env.ready(), [users.as_str()]);
    env.forge(&["bead", "close", users]).ok();
    assert_eq!(env.ready(), [callback.as_str()]);
    env.forge(&["bead", "close", callback]).ok();
    assert_eq!(env.ready(), [button.as_str()]);
    env.forge(&["bead", "close", button]).ok();
    // The goal closes with its last item; it is never sent to a harness.
    assert!(env.ready().is_empty(), "{:?}", env.ready());
    assert_eq!(env.show(&epic)["status"], "closed");

    let a = env.forge(&["--json", "assumptions"]).ok().json();
    let a = &a["assumptions"][0];
    assert_eq!(a["text"], "GitHub OAuth apps support PKCE");
    assert_eq!(a["beads"], serde_json::json!([callback]));
    // The ledger lists the plan run and every created item.
    let events = env.forge(&["--json", "ledger", "show"]).ok().json();
    let events = events["events"].as_array().unwrap();
    let accepted = events
        .iter()
        .find(|e| e["kind"] == "plan.accepted")
        .unwrap();
    assert_eq!(accepted["data"]["epic"], epic.as_str());
    assert_eq!(accepted["data"]["items"].as_array().unwrap().len(), 3);
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "plan.run" && e["data"]["rounds"] == 1)
    );
    for id in items.iter().chain([&epic]) {
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == "bead.created" && e["data"]["bead"] == id.as_str()),
            "{id}"
        );
    }
    // The planner's own edits were discarded with its worktree.
    assert_eq!(
        std::fs::read_to_string(env.path("README")).unwrap(),
        "hello\n"
    );
    assert!(
        std::fs::read_dir(env.path(".git/forge/plans"))
            .unwrap()
            .flatten()
            .all(|d| !d.path().join("worktree").exists())
    );
    assert!(!env.git(&["worktree", "list"]).contains("plans"));
}

#[test]
fn an_invalid_plan_is_repaired_in_a_second_round() {
    let env = with_planner("repair");
    let run = env
        .forge(&["--json", "plan", "Speed up the build", "--yes"])
        .ok();
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("error"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["items"].as_array().unwrap().len(), 2);
    let events = env.forge(&["--json", "ledger", "show"]).ok().json();
    let planned = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "plan.run")
        .unwrap()
        .clone();
    assert_eq!(planned["data"]["rounds"], 2);
    let repaired = planned["data"]["repaired"].to_string();
    assert!(
        repaired.contains("no acceptance criteria") && repaired.contains("xl"),
        "{repaired}"
    );
}

#[test]
fn a_cyclic_plan_is_refused_and_the_cycle_named() {
    let env = with_planner("cyclic");
    let before = env.snapshot();
    let run = env.forge(&["plan", "Untangle", "--yes"]).fails_with(7);
    assert!(
        run.stderr
            .contains("the dependencies form a cycle: a -> c -> b -> a"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("after a repair round"),
        "{}",
        run.stderr
    );
    assert!(beads(&env).is_empty());
    // Only the ledger gained lines (none: a refused plan records nothing); no state files.
    let after = env.snapshot();
    let state = |files: BTreeMap<PathBuf, Vec<u8>>| {
        files
            .into_iter()
            .filter(|(k, _)| !k.to_string_lossy().contains("ledger"))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(state(before), state(after));
}

#[test]
fn garbage_output_is_a_clear_error_and_writes_nothing() {
    let env = with_planner("garbage");
    let run = env
        .forge(&["--json", "plan", "Anything", "--yes"])
        .fails_with(7);
    let err = run.error_json();
    assert_eq!(err["error"]["code"], "invalid_plan");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("forge-plan.toml"),
        "{err}"
    );
    assert!(beads(&env).is_empty());
    assert!(
        env.forge(&["--json", "assumptions"]).ok().json()["assumptions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_plan_referencing_an_unknown_bead_is_refused() {
    let env = with_planner("unknown-bead");
    let run = env.forge(&["plan", "Finish", "--yes"]).fails_with(7);
    assert!(
        run.stderr
            .contains("depends on 'fg-zzzz9', which is neither an item"),
        "{}",
        run.stderr
    );
    assert!(beads(&env).is_empty());
}

const PLAN: &str = r#"goal = "Ship search"
[[assumptions]]
key = "index"
text = "The index fits in memory"
[[items]]
key = "indexer"
title = "Build the indexer"
size = "m"
acceptance = ["documents are indexed"]
assumptions = ["index"]
[[items]]
key = "query"
title = "Answer queries"
size = "s"
acceptance = ["a query returns hits"]
depends_on = ["indexer", "EXISTING"]
"#;

#[test]
fn plans_from_files_dry_run_schema_and_json() {
    let env = TestEnv::new();
    let existing = env.create(&["Existing groundwork"]);
    std::fs::write(env.path("plan.toml"), PLAN.replace("EXISTING", &existing)).unwrap();
    let before = env.snapshot();
    let dry = env
        .forge(&["--json", "plan", "--from", "plan.toml", "--dry-run"])
        .ok()
        .json();
    assert_eq!(dry["created"], false);
    assert_eq!(dry["plan"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(before, env.snapshot(), "a dry run wrote something");
    let text = env
        .forge(&["plan", "--from", "plan.toml", "--dry-run"])
        .ok()
        .stdout;
    assert!(
        text.contains("after: indexer") && text.contains("rests on: index"),
        "{text}"
    );
    // Without a terminal and without --yes, nothing is created.
    env.forge(&["plan", "--from", "plan.toml"]).fails_with(3);
    assert_eq!(before, env.snapshot());

    let schema = env.forge(&["plan", "--schema"]).ok().json();
    assert_eq!(schema["title"], "forge plan");

    // The same plan as JSON.
    let json_plan = serde_json::to_string(&dry["plan"]).unwrap();
    std::fs::write(env.path("plan.json"), json_plan).unwrap();
    let run = env
        .forge(&["--json", "plan", "--from", "plan.json", "--yes"])
        .ok()
        .json();
    let query = run["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "query")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = env.show(&query);
    let deps: Vec<&str> = shown["deps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(deps.contains(&existing.as_str()), "{deps:?}");

    // A broken file names its line.
    std::fs::write(env.path("bad.toml"), "goal = \"x\"\n[[items]]\nkey = 3\n").unwrap();
    let run = env
        .forge(&["plan", "--from", "bad.toml", "--dry-run"])
        .fails_with(5);
    assert!(run.stderr.contains("bad.toml:3:"), "{}", run.stderr);
}

#[test]
fn a_plan_killed_while_writing_leaves_none_or_all_of_its_beads() {
    let env = TestEnv::new();
    std::fs::write(env.path("plan.toml"), PLAN.replace(", \"EXISTING\"", "")).unwrap();
    // Kill anywhere in a whole run: time a few first (and keep what they created).
    let started = std::time::Instant::now();
    for _ in 0..3 {
        env.forge(&["plan", "--from", "plan.toml", "--yes"]).ok();
    }
    let window = (started.elapsed().as_micros() as u64 / 3) * 3 / 2;
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut outcomes = (0, 0);
    for _ in 0..60 {
        let before = beads(&env).len();
        let mut child = env
            .command(&["plan", "--from", "plan.toml", "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(seed % window));
        let _ = child.kill();
        let _ = child.wait();
        // Any command rolls a committed batch forward before reading.
        let added = beads(&env).len() - before;
        assert!(
            added == 0 || added == 3,
            "a killed plan left {added} of 3 beads"
        );
        if added == 0 {
            outcomes.0 += 1
        } else {
            outcomes.1 += 1
        }
    }
    eprintln!(
        "killed plans: {} created nothing, {} created everything",
        outcomes.0, outcomes.1
    );
    env.forge(&["ledger", "verify"]).ok();
}

mod pty {
    use super::*;

    #[test]
    fn accept_edit_and_cancel_at_the_prompt() {
        let env = TestEnv::new();
        std::fs::write(env.path("plan.toml"), PLAN.replace(", \"EXISTING\"", "")).unwrap();
        // Cancel creates nothing.
        let mut cmd = env.command(&["plan", "--from", "plan.toml"]);
        cmd.env("TERM", "xterm");
        let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
        p.exp_string("accept: create these beads").unwrap();
        p.send("\x1b[B\x1b[B").unwrap();
        p.send_line("").unwrap();
        p.exp_string("nothing was created").unwrap();
        p.exp_eof().unwrap();
        assert!(beads(&env).is_empty());

        // Edit (an "editor" that renames the goal), then accept.
        let editor = env.repo.parent().unwrap().join("editor.sh");
        std::fs::write(
            &editor,
            "#!/bin/sh\nsed -i 's/Ship search/Ship better search/' \"$1\"\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&editor)
            .status()
            .unwrap();
        let mut cmd = env.command(&["plan", "--from", "plan.toml"]);
        cmd.env("TERM", "xterm").env("EDITOR", &editor);
        let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
        p.exp_string("accept: create these beads").unwrap();
        p.send("\x1b[B").unwrap();
        p.send_line("").unwrap();
        p.exp_string("Ship better search").unwrap();
        p.exp_string("accept: create these beads").unwrap();
        p.send_line("").unwrap();
        p.exp_string("Created").unwrap();
        p.exp_eof().unwrap();
        let titles: Vec<String> = env.forge(&["--json", "bead", "list"]).ok().json()["beads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["title"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            titles.contains(&"Ship better search".to_owned()),
            "{titles:?}"
        );
    }
}
