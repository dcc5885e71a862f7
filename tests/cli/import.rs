//! `forge import beads`: the real beads_rust export (fixtures/beads/), hand-made broken
//! files, re-imports and an import killed while writing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::env::{TestEnv, fixture, ids};

const BR: &str = "beads/br-0.7.6-issues.jsonl";

/// A repository with the real br export copied in as `issues.jsonl`, plus `extra` lines.
fn with_export(extra: &str) -> TestEnv {
    let env = TestEnv::new();
    let mut text = std::fs::read_to_string(fixture(BR)).unwrap();
    text.push_str(extra);
    std::fs::write(env.path("issues.jsonl"), text).unwrap();
    env
}

fn all_beads(env: &TestEnv) -> Vec<String> {
    ids(&env.forge(&["--json", "bead", "list", "--all"]).ok().json()["beads"])
}

fn mapping(report: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(report["mapping"].clone()).unwrap()
}

fn dep_ids(bead: &Value, kind: &str) -> Vec<String> {
    bead["deps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["type"] == kind)
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_real_br_export_becomes_beads_with_their_dependencies() {
    let env = with_export("");
    let report = env
        .forge(&["--json", "import", "beads", "issues.jsonl"])
        .ok()
        .json();
    assert_eq!(report["written"], true);
    let m = mapping(&report);
    assert_eq!(m.len(), 8, "{m:?}");
    assert!(!m.contains_key("shop-jck"), "a tombstone was imported");
    assert_eq!(report["deleted"][0]["beads"], "shop-jck");
    assert_eq!(report["deleted"][0]["line"], 5);
    assert_eq!(all_beads(&env).len(), 8);

    let show = |orig: &str| env.show(&m[orig]);
    let epic = show("shop-pxp");
    assert_eq!(epic["kind"], "epic");
    assert_eq!(epic["priority"], 1);
    for child in ["shop-4rb", "shop-d5v", "shop-ps5"] {
        assert_eq!(dep_ids(&show(child), "parent"), [m["shop-pxp"].clone()]);
    }
    let receipt = show("shop-ps5");
    assert_eq!(receipt["title"], "Receipt e-mail — ünïcode & quotes \"ok\"");
    assert_eq!(dep_ids(&receipt, "blocks"), [m["shop-4rb"].clone()]);
    assert_eq!(
        receipt["labels"],
        serde_json::json!(["email", "beads:shop-ps5"])
    );
    assert_eq!(
        dep_ids(&show("shop-cor"), "related"),
        [m["shop-d5v"].clone()]
    );
    assert_eq!(
        dep_ids(&show("shop-18p"), "discovered-from"),
        [m["shop-d5v"].clone()]
    );
    let cart = show("shop-d5v");
    assert_eq!(cart["status"], "open", "in_progress is open in forge");
    assert_eq!(cart["created"], "2026-12-05T06:52:57.825032457Z");
    let body = cart["description"].as_str().unwrap();
    assert!(
        body.starts_with("## Description\n\nStore amounts as integers (\"cents\"), never floats.")
            && body.contains("## Imported from beads\n\n- id: shop-d5v\n- status: in_progress"),
        "{body}"
    );
    assert_eq!(
        show("shop-cor")["acceptance"],
        serde_json::json!(["passes 100 runs in a row"])
    );
    let old = show("shop-r7w");
    assert_eq!(
        (&old["status"], &old["reason"], &old["closed"]),
        (
            &Value::from("closed"),
            &Value::from("removed in v1.9"),
            &Value::from("2026-12-05T06:53:02.785761691Z")
        )
    );
    assert_eq!(show("shop-sjt")["status"], "deferred");

    // The dependencies work: only the beads nothing blocks are ready, by priority.
    assert_eq!(
        env.ready(),
        [&*m["shop-d5v"], &*m["shop-18p"], &*m["shop-cor"]]
    );
    // The original id finds its bead.
    let found = env
        .forge(&["--json", "bead", "list", "--label", "beads:shop-4rb"])
        .ok()
        .json();
    assert_eq!(ids(&found["beads"]), [m["shop-4rb"].clone()]);

    // Recorded as `forge bead create` records beads (and close/defer their statuses).
    let events = env.events();
    let kinds = |k: &str| events.iter().filter(|e| e["kind"] == k).count();
    assert_eq!(kinds("beads.imported"), 1);
    assert_eq!(kinds("bead.created"), 8);
    let created = events
        .iter()
        .find(|e| e["kind"] == "bead.created" && e["data"]["bead"] == m["shop-ps5"].as_str())
        .unwrap();
    assert_eq!(created["data"]["beads"], "shop-ps5");
    assert_eq!(created["data"]["deps"].as_array().unwrap().len(), 2);
    let closed = events.iter().find(|e| e["kind"] == "bead.closed").unwrap();
    assert_eq!(closed["data"]["reason"], "removed in v1.9");
    assert_eq!(kinds("bead.deferred"), 1);
    env.forge(&["ledger", "verify"]).ok();

    // The text report maps each old id to its new one.
    let env = with_export("");
    let text = env.forge(&["import", "beads", "issues.jsonl"]).ok().stdout;
    assert!(
        text.starts_with("Imported 8 issue(s) from issues.jsonl:"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("  shop-pxp -> fg-") && l.contains("epic")),
        "{text}"
    );
    assert!(text.contains("shop-jck  (line 5)"), "{text}");
}

#[test]
fn a_second_import_changes_nothing_and_says_so() {
    let env = with_export("");
    let first = env
        .forge(&["--json", "import", "beads", "issues.jsonl"])
        .ok()
        .json();
    let after_first = env.snapshot();
    let second = env
        .forge(&["--json", "import", "beads", "issues.jsonl"])
        .ok()
        .json();
    assert_eq!(env.snapshot(), after_first, "a re-import wrote something");
    assert_eq!(second["written"], false);
    assert_eq!(second["created"], serde_json::json!([]));
    assert_eq!(second["existing"].as_array().unwrap().len(), 8);
    assert_eq!(mapping(&second), mapping(&first));
    let text = env.forge(&["import", "beads", "issues.jsonl"]).ok().stdout;
    assert!(
        text.starts_with(
            "Nothing new in issues.jsonl: 8 issue(s) were imported before; nothing changed"
        ),
        "{text}"
    );
    // With -q, just the mapping, one `old new` pair per line.
    let quiet = env
        .forge(&["-q", "import", "beads", "issues.jsonl"])
        .ok()
        .stdout;
    let pairs: BTreeMap<String, String> = quiet
        .lines()
        .map(|l| {
            let (a, b) = l.split_once(' ').unwrap();
            (a.to_owned(), b.to_owned())
        })
        .collect();
    assert_eq!(pairs, mapping(&first));

    // What is reported is the bead as it is now, not the issue: a re-import never undoes
    // work done in forge.
    env.forge(&["bead", "close", &mapping(&first)["shop-d5v"]])
        .ok();
    let again = env
        .forge(&["--json", "import", "beads", "issues.jsonl"])
        .ok()
        .json();
    let cart = again["existing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["beads"] == "shop-d5v")
        .unwrap();
    assert_eq!(cart["status"], "closed");
    assert_eq!(env.show(&mapping(&first)["shop-d5v"])["status"], "closed");

    // A new issue in the file is imported, its dependency on an old one pointing at the
    // bead imported the first time.
    let mut text = std::fs::read_to_string(env.path("issues.jsonl")).unwrap();
    text.push_str(
        r#"{"id":"shop-new","title":"Refunds","status":"open","priority":1,"issue_type":"task","dependencies":[{"issue_id":"shop-new","depends_on_id":"shop-4rb","type":"blocks"}]}"#,
    );
    std::fs::write(env.path("issues.jsonl"), text).unwrap();
    let third = env
        .forge(&["--json", "import", "beads", "issues.jsonl"])
        .ok()
        .json();
    assert_eq!(third["created"].as_array().unwrap().len(), 1);
    let new = &mapping(&third)["shop-new"];
    assert_eq!(
        dep_ids(&env.show(new), "blocks"),
        [mapping(&first)["shop-4rb"].clone()]
    );
    assert_eq!(all_beads(&env).len(), 9);
}

const BROKEN: &str = concat!(
    "{\"id\":\"shop-x1\",\"title\":\"Colourful\",\"colour\":\"red\"}\n",
    "{\"id\":\"shop-x2\",\"title\":\"Truncated\"\n",
    "{\"id\":\"shop-x3\",\"title\":\"Needs x1\",\"dependencies\":[{\"issue_id\":\"shop-x3\",\"depends_on_id\":\"shop-x1\",\"type\":\"blocks\"}]}\n",
);

#[test]
fn invalid_lines_refuse_the_whole_file_and_name_their_lines() {
    let env = with_export(BROKEN);
    let before = env.snapshot();
    let run = env
        .forge(&["import", "beads", "issues.jsonl"])
        .fails_with(5);
    for want in [
        "3 invalid line(s); nothing was imported",
        "issues.jsonl:10: unknown field \"colour\"",
        "issues.jsonl:11: not JSON: EOF while parsing",
        "issues.jsonl:12: depends on shop-x1 (blocks), which is not imported: line 10 is invalid",
        "hint: fix those lines, or pass --skip-invalid",
    ] {
        assert!(run.stderr.contains(want), "{want}\n{}", run.stderr);
    }
    assert_eq!(env.snapshot(), before, "a refused import wrote something");
    assert!(all_beads(&env).is_empty());

    // --json: the lines as data on stdout, the error envelope on stderr.
    let run = env
        .forge(&["--json", "import", "beads", "issues.jsonl"])
        .fails_with(5);
    assert_eq!(run.error_json()["error"]["code"], "invalid_file");
    let report = run.json();
    assert_eq!(report["refused"], true);
    let lines: Vec<u64> = report["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [10, 11, 12]);
    assert_eq!(env.snapshot(), before);
}

#[test]
fn skip_invalid_imports_the_rest_and_lists_what_it_skipped() {
    let env = with_export(BROKEN);
    let run = env
        .forge(&["import", "beads", "issues.jsonl", "--skip-invalid"])
        .ok();
    assert!(run.stdout.contains("Imported 8 issue(s)"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Invalid, skipped:\n  issues.jsonl:10: unknown field"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("issues.jsonl:12: depends on shop-x1"));
    assert_eq!(all_beads(&env).len(), 8);
    let events = env.events();
    let imported = events
        .iter()
        .find(|e| e["kind"] == "beads.imported")
        .unwrap();
    assert_eq!(
        imported["data"]["skipped_lines"],
        serde_json::json!([10, 11, 12])
    );
}

#[test]
fn missing_targets_cycles_and_second_parents_are_refused() {
    let env = TestEnv::new();
    let dep = |from: &str, to: &str, kind: &str| {
        format!("{{\"issue_id\":\"{from}\",\"depends_on_id\":\"{to}\",\"type\":\"{kind}\"}}")
    };
    let line = |id: &str, kind: &str, deps: &[String]| {
        format!(
            "{{\"id\":\"{id}\",\"title\":\"{id}\",\"issue_type\":\"{kind}\",\"dependencies\":[{}]}}\n",
            deps.join(",")
        )
    };
    let text = [
        line("p-a", "task", &[dep("p-a", "p-b", "blocks")]),
        line("p-b", "task", &[dep("p-b", "p-a", "blocks")]),
        line("p-c", "task", &[dep("p-c", "elsewhere-1", "blocks")]),
        line("p-e", "epic", &[]),
        line("p-f", "epic", &[]),
        line(
            "p-g",
            "task",
            &[
                dep("p-g", "p-e", "parent-child"),
                dep("p-g", "p-f", "parent-child"),
            ],
        ),
        line("p-ok", "task", &[dep("p-ok", "p-e", "parent-child")]),
    ]
    .concat();
    std::fs::write(env.path("cycle.jsonl"), text).unwrap();
    let run = env.forge(&["import", "beads", "cycle.jsonl"]).fails_with(5);
    for want in [
        "cycle.jsonl:1: the blocks dependency on p-b would make a cycle: p-a -> p-b -> p-a",
        "cycle.jsonl:2: the blocks dependency on p-a would make a cycle",
        "cycle.jsonl:3: depends on elsewhere-1 (blocks), which is not in the file",
        "cycle.jsonl:6: has 2 parents (p-e, p-f)",
    ] {
        assert!(run.stderr.contains(want), "{want}\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("cycle.jsonl:7"), "{}", run.stderr);
    assert!(all_beads(&env).is_empty());

    let report = env
        .forge(&["--json", "import", "beads", "cycle.jsonl", "--skip-invalid"])
        .ok()
        .json();
    let created: Vec<&str> = report["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["beads"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["p-e", "p-f", "p-ok"]);
}

#[test]
fn tombstones_are_not_imported_and_dependencies_on_them_are_dropped() {
    let env = TestEnv::new();
    std::fs::write(
        env.path("t.jsonl"),
        concat!(
            "{\"id\":\"t-1\",\"title\":\"Gone\",\"status\":\"tombstone\",\"deleted_at\":\"2026-12-05T06:53:07Z\"}\n",
            "{\"id\":\"t-2\",\"title\":\"Stays\",\"dependencies\":[{\"issue_id\":\"t-2\",\"depends_on_id\":\"t-1\",\"type\":\"blocks\"}]}\n",
        ),
    )
    .unwrap();
    let run = env.forge(&["import", "beads", "t.jsonl"]).ok();
    assert!(
        run.stderr.contains(
            "warning: t.jsonl:2: t-2: the blocks dependency on t-1 is dropped: t-1 was deleted in beads"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("Deleted in beads, not imported:\n  t-1  (line 1)  Gone")
    );
    let beads = all_beads(&env);
    assert_eq!(beads.len(), 1);
    let stays = env.show(&beads[0]);
    assert_eq!(stays["title"], "Stays");
    assert_eq!(stays["deps"], serde_json::json!([]));
    assert_eq!(env.ready(), beads);
}

#[test]
fn a_dry_run_writes_nothing() {
    let env = with_export("");
    let before = env.snapshot();
    let report = env
        .forge(&["--json", "import", "beads", "issues.jsonl", "--dry-run"])
        .ok()
        .json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["written"], false);
    assert_eq!(report["created"].as_array().unwrap().len(), 8);
    assert_eq!(env.snapshot(), before);
    let text = env
        .forge(&["import", "beads", "issues.jsonl", "--dry-run"])
        .ok()
        .stdout;
    assert!(text.starts_with("Would import 8 issue(s)"), "{text}");
    assert!(text.contains("dry run: nothing was written"), "{text}");
    env.forge(&["import", "beads", "missing.jsonl"])
        .fails_with(1);
}

#[test]
fn an_import_killed_while_writing_leaves_none_or_all_of_its_beads() {
    let env = with_export("");
    // Kill anywhere in a whole run: time a few first, in repositories of their own.
    let fresh: Vec<TestEnv> = (0..3).map(|_| with_export("")).collect();
    let started = std::time::Instant::now();
    for f in &fresh {
        f.forge(&["import", "beads", "issues.jsonl"]).ok();
    }
    let window = (started.elapsed().as_micros() as u64 / 3).max(1);
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut outcomes = (0, 0);
    for _ in 0..30 {
        let mut child = env
            .command(&["import", "beads", "issues.jsonl"])
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
        let now = all_beads(&env).len();
        assert!(
            now == 0 || now == 8,
            "a killed import left {now} of 8 beads"
        );
        if now == 0 {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
            // Deleting a bead deletes its file: start the next round from none again.
            for id in all_beads(&env) {
                std::fs::remove_file(env.path(&format!(".forge/beads/{id}.toml"))).unwrap();
            }
        }
    }
    eprintln!(
        "killed imports: {} wrote nothing, {} wrote everything",
        outcomes.0, outcomes.1
    );
    // Whatever happened, importing again completes it exactly once.
    env.forge(&["import", "beads", "issues.jsonl"]).ok();
    assert_eq!(all_beads(&env).len(), 8);
    env.forge(&["ledger", "verify"]).ok();
}
