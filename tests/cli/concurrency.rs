//! Several forge processes at once on one repository (RELIABILITY.md S1, S2, S3): the store
//! lock serialises every read-modify-write, every run gets its own ledger file, and a torn
//! ledger tail left by a crash is quarantined rather than glued to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;

use crate::env::TestEnv;

/// The events of `forge ledger show`, after checking that nothing was skipped.
fn ledger_events(env: &TestEnv) -> Vec<Value> {
    let show = env.forge(&["--json", "ledger", "show"]).ok();
    assert!(
        !show.stderr.contains("do not verify"),
        "ledger show skipped lines:\n{}",
        show.stderr
    );
    show.json()["events"].as_array().unwrap().clone()
}

/// `forge ledger verify` passes with no problems and no torn tails.
fn verify_clean(env: &TestEnv) -> Value {
    let run = env.forge(&["--json", "ledger", "verify"]).ok();
    let report = run.json();
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert_eq!(
        report["torn"],
        serde_json::json!([]),
        "{report}\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("torn"), "{}", run.stderr);
    report
}

/// Names of the bead files (`<id>.toml`), temp files excluded.
fn bead_file_ids(env: &TestEnv) -> Vec<String> {
    std::fs::read_dir(env.path(".forge/beads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .filter_map(|n| n.strip_suffix(".toml").map(str::to_owned))
        .collect()
}

#[test]
fn eight_processes_create_fifty_beads_each() {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let env = TestEnv::new();
    let started = Instant::now();
    // (id, title) as each create reported it.
    let created: Vec<(String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let env = &env;
                s.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            let title = format!("thread {t} bead {i}");
                            (env.create(&[&title]), title)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    eprintln!("{} creates in {:?}", created.len(), started.elapsed());

    let ids: BTreeSet<&str> = created.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), THREADS * EACH, "an id was handed out twice");
    let files: BTreeSet<String> = bead_file_ids(&env).into_iter().collect();
    assert_eq!(files.len(), THREADS * EACH);
    assert!(
        files.iter().map(String::as_str).eq(ids.iter().copied()),
        "the bead files are not the beads that were created"
    );
    // Each file holds what its create reported (no create overwrote another's file).
    let list = env.forge(&["--json", "bead", "list", "--all"]).ok().json();
    let titles: BTreeMap<&str, &str> = list["beads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["id"].as_str().unwrap(), b["title"].as_str().unwrap()))
        .collect();
    for (id, title) in &created {
        assert_eq!(titles.get(id.as_str()), Some(&title.as_str()), "{id}");
    }

    let report = verify_clean(&env);
    // One file per run: forge init's and one per create.
    assert_eq!(report["files"], THREADS * EACH + 1, "{report}");
    let events = ledger_events(&env);
    let recorded: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "bead.created")
        .map(|e| e["data"]["bead"].as_str().unwrap())
        .collect();
    assert_eq!(recorded.len(), THREADS * EACH, "bead.created events");
    let recorded: BTreeSet<&str> = recorded.into_iter().collect();
    assert_eq!(recorded, ids, "the bead.created events name other beads");
    eprintln!("total {:?}", started.elapsed());
}

#[test]
fn concurrent_updates_to_one_bead_lose_nothing() {
    const THREADS: usize = 4;
    const EACH: usize = 10;
    let env = TestEnv::new();
    let started = Instant::now();
    let id = env.create(&["contended"]);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (env, id) = (&env, &id);
            s.spawn(move || {
                for i in 0..EACH {
                    let label = format!("t{t}-l{i}");
                    let run = env
                        .forge(&["--json", "bead", "update", id, "--add-label", &label])
                        .ok()
                        .json();
                    let labels = run["bead"]["labels"].as_array().unwrap();
                    assert!(labels.contains(&Value::from(label.clone())), "{run}");
                }
            });
        }
    });

    let bead = env.show(&id);
    let labels: BTreeSet<&str> = bead["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let expected: BTreeSet<String> = (0..THREADS)
        .flat_map(|t| (0..EACH).map(move |i| format!("t{t}-l{i}")))
        .collect();
    assert_eq!(
        labels,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        "labels were lost or invented"
    );
    assert_eq!(bead["labels"].as_array().unwrap().len(), THREADS * EACH);

    verify_clean(&env);
    // One event per update, each adding exactly one label to what the one before left.
    let mut updates: Vec<(usize, usize)> = ledger_events(&env)
        .iter()
        .filter(|e| e["kind"] == "bead.updated" && e["data"]["bead"] == id.as_str())
        .map(|e| {
            let changes = e["data"]["changes"].as_array().unwrap();
            assert_eq!(changes.len(), 1, "{e}");
            assert_eq!(changes[0]["field"], "labels", "{e}");
            let len = |k: &str| changes[0][k].as_array().unwrap().len();
            (len("old"), len("new"))
        })
        .collect();
    updates.sort_unstable();
    let expected: Vec<(usize, usize)> = (0..THREADS * EACH).map(|n| (n, n + 1)).collect();
    assert_eq!(
        updates, expected,
        "every update must build on the one before"
    );
    eprintln!("total {:?}", started.elapsed());
}

/// The ledger file holding the `bead.created` event of `id`.
fn ledger_file_of(env: &TestEnv, id: &str) -> PathBuf {
    let needle = format!("\"bead\":\"{id}\"");
    walkdir::WalkDir::new(env.path(".forge/ledger"))
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .find(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .any(|l| l.contains("\"kind\":\"bead.created\"") && l.contains(&needle))
        })
        .unwrap_or_else(|| panic!("no ledger file records the creation of {id}"))
}

#[test]
fn torn_ledger_tail_is_quarantined() {
    let env = TestEnv::new();
    let id = env.create(&["before the crash"]);
    let file = ledger_file_of(&env, &id);
    let intact = std::fs::read(&file).unwrap();
    assert!(intact.ends_with(b"\n"));

    // What a run killed halfway through the write(2) of its next event leaves behind.
    let last = intact[..intact.len() - 1]
        .split(|&b| b == b'\n')
        .next_back()
        .unwrap();
    let fragment = &last[..last.len() / 2];
    let mut torn = intact.clone();
    torn.extend_from_slice(fragment);
    std::fs::write(&file, &torn).unwrap();

    let verify = env.forge(&["ledger", "verify"]).ok();
    assert!(
        verify.stderr.contains("torn last line"),
        "no warning about the torn line:\n{}",
        verify.stderr
    );
    assert!(verify.stdout.contains("ledger ok"), "{}", verify.stdout);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        intact,
        "the file must be cut back to its last complete line"
    );
    let mut quarantine = file.clone().into_os_string();
    quarantine.push(".torn");
    let kept = std::fs::read(&quarantine).expect("the fragment goes to <file>.torn");
    assert_eq!(kept, [fragment, b"\n"].concat());

    verify_clean(&env);
    assert_eq!(std::fs::read(&file).unwrap(), intact);
    assert_eq!(std::fs::read(&quarantine).unwrap(), kept);
    // The bead and its history are untouched, and forge goes on working.
    let events = ledger_events(&env);
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "bead.created" && e["data"]["bead"] == id.as_str())
    );
    let other = env.create(&["after the crash"]);
    assert_ne!(other, id);
    verify_clean(&env);
}

/// Two repositories whose steps have the same id (here: the same seeds), running at once:
/// each step's clean-up kills only its own processes. The processes of a run are marked by
/// `FORGE_RUN`, unique to the repository, not by the step id alone.
#[test]
fn steps_of_the_same_id_in_two_repositories_do_not_kill_each_other() {
    let envs: Vec<TestEnv> = (0..2).map(|_| TestEnv::new()).collect();
    let mut beads = Vec::new();
    for env in &envs {
        env.script_harness("fake", "sleep 2; echo done > agent.txt");
        env.default_harness("fake");
        beads.push(env.create(&["Same id in both"]));
        env.commit_all("forge set up");
    }
    assert_eq!(
        beads[0], beads[1],
        "the test needs the same step id in both"
    );
    let children: Vec<_> = envs
        .iter()
        .map(|env| {
            env.command(&["--json", "step"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let run = crate::env::to_run(child.wait_with_output().unwrap());
        let report = run.json();
        assert_eq!(
            report["checkpoint"]["state"], "awaiting-approval",
            "{report}\n{}",
            run.stderr
        );
    }
}
