use crate::env::{TestEnv, ids};

#[test]
fn create_show_list_with_json() {
    let env = TestEnv::new();
    let run = env
        .forge(&[
            "--json",
            "bead",
            "create",
            "Fix the parser",
            "-d",
            "line one\nline two",
            "-a",
            "parses x",
            "-a",
            "parses y",
            "-k",
            "bug",
            "-p",
            "1",
            "--value",
            "70",
            "--risk",
            "high",
            "-l",
            "parser",
            "-l",
            "core",
        ])
        .ok();
    let bead = run.json();
    let id = bead["id"].as_str().unwrap();
    assert!(id.starts_with("fg-") && id.len() == 7, "{id}");
    assert_eq!(bead["kind"], "bug");
    assert_eq!(bead["priority"], 1);
    assert_eq!(bead["value"], 70);
    assert_eq!(bead["risk"], "high");
    assert_eq!(bead["status"], "open");
    assert_eq!(bead["author"], "Ada Tester <ada@example.com>");
    assert_eq!(bead["created"], crate::env::NOW);
    assert_eq!(
        bead["acceptance"],
        serde_json::json!(["parses x", "parses y"])
    );

    let shown = env.forge(&["--json", "bead", "show", id]).ok().json();
    assert_eq!(shown, bead);
    let shortcut = env.forge(&["--json", "show", &id[3..6]]).ok().json();
    assert_eq!(shortcut, bead);

    let text = env.forge(&["show", id]).ok().stdout;
    assert!(
        text.contains("Fix the parser") && text.contains("line two") && text.contains("parses y"),
        "{text}"
    );

    let file = std::fs::read_to_string(env.path(&format!(".forge/beads/{id}.toml"))).unwrap();
    assert!(file.starts_with("schema = 1\nid = "), "{file}");
    assert!(
        file.contains("line one\nline two"),
        "descriptions stay readable in diffs:\n{file}"
    );

    let list = env.forge(&["--json", "bead", "list"]).ok().json();
    assert_eq!(ids(&list["beads"]), [id]);
    let human = env.forge(&["bead", "list"]).ok().stdout;
    assert!(
        human.contains(id) && human.contains("[parser, core]"),
        "{human}"
    );
}

#[test]
fn list_filters() {
    let env = TestEnv::new();
    let a = env.create(&["a", "-k", "bug", "-p", "0", "-l", "x"]);
    let b = env.create(&["b", "-k", "feature", "-p", "3", "-l", "x", "-l", "y"]);
    let c = env.create(&["c"]);
    env.forge(&["bead", "close", &c]).ok();
    let list = |args: &[&str]| {
        let mut all = vec!["--json", "bead", "list"];
        all.extend_from_slice(args);
        ids(&env.forge(&all).ok().json()["beads"])
    };
    assert_eq!(list(&[]), [a.as_str(), b.as_str()]);
    assert_eq!(list(&["--all"]).len(), 3);
    assert_eq!(list(&["--status", "closed"]), [c.as_str()]);
    assert_eq!(list(&["--kind", "bug"]), [a.as_str()]);
    assert_eq!(list(&["--label", "y"]), [b.as_str()]);
    assert_eq!(list(&["--label", "x"]), [a.as_str(), b.as_str()]);
    assert_eq!(list(&["--priority", "3"]), [b.as_str()]);
    assert!(list(&["--kind", "chore"]).is_empty());
}

#[test]
fn update_changes_fields_and_reports_them() {
    let env = TestEnv::new();
    let id = env.create(&["old title", "-l", "keep", "-l", "drop"]);
    let run = env
        .forge(&[
            "--json",
            "bead",
            "update",
            &id,
            "--title",
            "new title",
            "-p",
            "0",
            "--add-label",
            "new",
            "--remove-label",
            "drop",
            "--risk",
            "medium",
        ])
        .ok()
        .json();
    let fields: Vec<&str> = run["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "priority", "risk", "labels"]);
    assert_eq!(run["bead"]["labels"], serde_json::json!(["keep", "new"]));
    let before = env.snapshot();
    let same = env
        .forge(&["--json", "bead", "update", &id, "--title", "new title"])
        .ok()
        .json();
    assert_eq!(same["changes"], serde_json::json!([]));
    assert_eq!(before, env.snapshot(), "a no-op update wrote something");
}

#[test]
fn close_reopen_defer_record_reasons() {
    let env = TestEnv::new();
    let id = env.create(&["thing"]);
    let closed = env
        .forge(&["--json", "bead", "close", &id, "--reason", "shipped"])
        .ok()
        .json();
    assert_eq!(closed["bead"]["status"], "closed");
    assert_eq!(closed["bead"]["reason"], "shipped");
    assert_eq!(closed["bead"]["closed"], crate::env::NOW);
    let reopened = env
        .forge(&["--json", "bead", "reopen", &id, "-r", "regressed"])
        .ok()
        .json();
    assert_eq!(reopened["bead"]["status"], "open");
    assert!(reopened["bead"].get("closed").is_none());
    let deferred = env
        .forge(&["--json", "bead", "defer", &id, "-r", "next quarter"])
        .ok()
        .json();
    assert_eq!(deferred["bead"]["status"], "deferred");
    let kinds: Vec<String> = env
        .forge(&["--json", "ledger", "show", "--bead", &id])
        .ok()
        .json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "bead.created",
            "bead.closed",
            "bead.reopened",
            "bead.deferred"
        ]
    );
    let again = env
        .forge(&["bead", "defer", &id, "-r", "next quarter"])
        .ok();
    assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);
}

#[test]
fn dep_add_and_rm() {
    let env = TestEnv::new();
    let a = env.create(&["a"]);
    let b = env.create(&["b"]);
    let run = env
        .forge(&["--json", "bead", "dep", "add", &b, &a])
        .ok()
        .json();
    assert_eq!(run["changed"], true);
    assert_eq!(
        run["bead"]["deps"],
        serde_json::json!([{"id": a, "type": "blocks"}])
    );
    let again = env
        .forge(&["--json", "bead", "dep", "add", &b, &a])
        .ok()
        .json();
    assert_eq!(again["changed"], false);
    let rel = env
        .forge(&["--json", "bead", "dep", "add", &b, &a, "--type", "related"])
        .ok()
        .json();
    assert_eq!(rel["bead"]["deps"].as_array().unwrap().len(), 2);
    let rm = env
        .forge(&["--json", "bead", "dep", "rm", &b, &a, "--type", "blocks"])
        .ok()
        .json();
    assert_eq!(
        rm["bead"]["deps"],
        serde_json::json!([{"id": a, "type": "related"}])
    );
    let rm = env
        .forge(&["--json", "bead", "dep", "rm", &b, &a])
        .ok()
        .json();
    assert_eq!(rm["bead"]["deps"], serde_json::json!([]));
    let none = env
        .forge(&["--json", "bead", "dep", "rm", &b, &a])
        .ok()
        .json();
    assert_eq!(none["changed"], false);
}

#[test]
fn second_parent_is_refused() {
    let env = TestEnv::new();
    let e1 = env.create(&["e1", "-k", "epic"]);
    let e2 = env.create(&["e2", "-k", "epic"]);
    let c = env.create(&["c", "--parent", &e1]);
    let run = env
        .forge(&["bead", "dep", "add", &c, &e2, "--type", "parent"])
        .fails_with(7);
    assert!(run.stderr.contains("already has parent"), "{}", run.stderr);
}

#[test]
fn ids_are_unique_and_prefixes_resolve() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..30).map(|i| env.create(&[&format!("b{i}")])).collect();
    let set: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(set.len(), 30);
    for id in &ids {
        // The shortest prefix that is unique among the 30 must resolve to it.
        let n = (1..=id.len() - 3)
            .find(|&n| {
                ids.iter()
                    .filter(|o| o[3..].starts_with(&id[3..3 + n]))
                    .count()
                    == 1
            })
            .unwrap();
        let shown = env.forge(&["--json", "show", &id[3..3 + n]]).ok().json();
        assert_eq!(shown["id"], id.as_str());
    }
}

#[test]
fn every_mutating_command_appends_to_the_ledger() {
    let env = TestEnv::new();
    let a = env.create(&["a"]);
    let b = env.create(&["b"]);
    env.forge(&["bead", "update", &a, "-p", "1"]).ok();
    env.forge(&["bead", "dep", "add", &b, &a]).ok();
    env.forge(&["bead", "dep", "rm", &b, &a]).ok();
    env.forge(&["bead", "close", &a]).ok();
    env.forge(&["bead", "reopen", &a]).ok();
    env.forge(&["bead", "defer", &a]).ok();
    let events = env.forge(&["--json", "ledger", "show"]).ok().json();
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "forge.initialised",
            "bead.created",
            "bead.created",
            "bead.updated",
            "dep.added",
            "dep.removed",
            "bead.closed",
            "bead.reopened",
            "bead.deferred"
        ]
    );
    for e in events["events"].as_array().unwrap() {
        assert_eq!(e["actor"], "Ada Tester <ada@example.com>");
        assert_eq!(e["ts"], crate::env::NOW);
        assert_eq!(e["hash"].as_str().unwrap().len(), 64);
    }
    let text = env.forge(&["ledger", "show", "-n", "2"]).ok().stdout;
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn quiet_create_prints_only_the_id() {
    let env = TestEnv::new();
    let run = env.forge(&["-q", "bead", "create", "scripted"]).ok();
    let id = run.stdout.trim();
    assert!(id.starts_with("fg-") && !id.contains(' '), "{}", run.stdout);
    assert!(run.stderr.is_empty());
    env.forge(&["show", id]).ok();
}
