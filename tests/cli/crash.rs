//! Crash safety (RELIABILITY.md S1, S2): `kill -9` forge while it creates and updates beads,
//! hundreds of times, then check that every bead file still parses, nothing acknowledged was
//! lost or went backwards, temp files are swept and the ledger verifies.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::env::TestEnv;

const ITERATIONS: usize = 240;
/// The longest delay before the kill is this many percent of how long an uncontended run
/// takes on this machine (about 20 ms for a debug build here), and at least
/// [`MIN_SPAN_US`]: kills then land anywhere from exec to exit, and some runs complete.
const SPAN_PERCENT: u64 = 130;
const MIN_SPAN_US: u64 = 15_000;
/// Used unless `FORGE_CRASH_SEED` names another (decimal), to replay a failure.
const DEFAULT_SEED: u64 = 0x5eed_f0f9_e2c1_a7b3;

/// xorshift64*: tiny, deterministic, good enough to pick delays and targets.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

enum Outcome {
    /// Exited 0 with its JSON report on stdout: the change is acknowledged.
    Done(Value),
    /// Died of the SIGKILL: the change may or may not have happened.
    Killed,
}

/// Runs forge with `args` and sends SIGKILL after `delay` unless it has finished by then.
/// Any other way of ending (an error exit, a panic, exit 0 without a report) fails the test.
fn run_and_kill(env: &TestEnv, args: &[&str], delay: Duration, context: &str) -> Outcome {
    let mut child = env
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    // Killing a process that already exited (but is not reaped yet) is harmless.
    let _ = child.kill();
    // Reaps the child, so that its pid is really gone before anyone sweeps its temp files.
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.signal() == Some(9) {
        return Outcome::Killed;
    }
    assert!(
        out.status.success(),
        "{context}: forge {args:?} failed without being killed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    match serde_json::from_str(&stdout) {
        Ok(v) => Outcome::Done(v),
        Err(e) => {
            panic!("{context}: forge {args:?} exited 0 but stdout is not JSON ({e}):\n{stdout}")
        }
    }
}

/// One `bead update` attempt on a bead, in the order they ran (they never overlap).
struct Attempt {
    title: Option<String>,
    label: Option<String>,
    done: bool,
}

#[derive(Default)]
struct History {
    created_title: String,
    attempts: Vec<Attempt>,
}

#[test]
fn create_and_update_survive_sigkill() {
    let seed = std::env::var("FORGE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    eprintln!("crash test seed: {seed} (set FORGE_CRASH_SEED={seed} to replay)");
    let mut rng = Rng::new(seed);
    let env = TestEnv::new();
    let started = Instant::now();

    // Acknowledged beads, by id, with every update tried on them.
    let mut beads: BTreeMap<String, History> = BTreeMap::new();
    let mut took = Vec::new();
    for n in 0..5 {
        let title = format!("seed {n}");
        let t = Instant::now();
        let id = env.create(&[&title]);
        took.push(t.elapsed());
        beads.insert(
            id,
            History {
                created_title: title,
                attempts: Vec::new(),
            },
        );
    }
    took.sort();
    let span_us = (took[took.len() / 2].as_micros() as u64 * SPAN_PERCENT / 100).max(MIN_SPAN_US);
    eprintln!(
        "an uncontended create takes {:?}: delays of 0 to {span_us} us",
        took[took.len() / 2]
    );
    // Titles of creates that were killed: such a bead may exist, under an id nobody saw.
    let mut killed_creates: BTreeSet<String> = BTreeSet::new();
    let (mut done, mut killed) = (0, 0);

    for i in 0..ITERATIONS {
        if i % 60 == 30 {
            // A reader between the kills fills the cache that the final `list` must
            // distrust for every file rewritten since.
            env.forge(&["--json", "bead", "list", "--all"]).ok();
        }
        let delay = Duration::from_micros(rng.below(span_us + 1));
        let context = format!("iteration {i} (seed {seed}, delay {delay:?})");
        if i % 2 == 0 {
            let title = format!("crash {i}");
            match run_and_kill(&env, &["--json", "bead", "create", &title], delay, &context) {
                Outcome::Done(report) => {
                    done += 1;
                    let id = report["id"].as_str().unwrap().to_owned();
                    assert_eq!(report["title"], title.as_str(), "{context}");
                    let old = beads.insert(
                        id.clone(),
                        History {
                            created_title: title,
                            attempts: Vec::new(),
                        },
                    );
                    assert!(old.is_none(), "{context}: id {id} was handed out twice");
                }
                Outcome::Killed => {
                    killed += 1;
                    killed_creates.insert(title);
                }
            }
        } else {
            let ids: Vec<&String> = beads.keys().collect();
            let id = ids[rng.below(ids.len() as u64) as usize].clone();
            let (flag, value) = if i % 4 == 1 {
                ("--title", format!("retitled {i}"))
            } else {
                ("--add-label", format!("l{i}"))
            };
            let args = ["--json", "bead", "update", &id, flag, &value];
            let outcome = run_and_kill(&env, &args, delay, &context);
            if let Outcome::Done(report) = &outcome {
                let bead = &report["bead"];
                assert_eq!(bead["id"], id.as_str(), "{context}");
                if flag == "--title" {
                    assert_eq!(bead["title"], value.as_str(), "{context}");
                } else {
                    assert!(
                        bead["labels"]
                            .as_array()
                            .unwrap()
                            .contains(&Value::from(value.clone())),
                        "{context}: {report}"
                    );
                }
            }
            let ok = matches!(outcome, Outcome::Done(_));
            if ok {
                done += 1;
            } else {
                killed += 1;
            }
            let (title, label) = if flag == "--title" {
                (Some(value), None)
            } else {
                (None, Some(value))
            };
            beads.get_mut(&id).unwrap().attempts.push(Attempt {
                title,
                label,
                done: ok,
            });
        }
    }
    eprintln!(
        "{ITERATIONS} runs in {:?}: {done} completed, {killed} killed",
        started.elapsed()
    );
    assert!(
        done > 0 && killed > 0,
        "the delays should let some runs finish and kill others: {done} done, {killed} killed"
    );

    // Every file parses: `list` refuses to list anything if one does not.
    let list = env.forge(&["--json", "bead", "list", "--all"]).ok().json();
    let listed: BTreeMap<String, &Value> = list["beads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["id"].as_str().unwrap().to_owned(), b))
        .collect();

    // `list` swept the temp files of the killed writers, and every bead file was listed.
    let dir = env.path(".forge/beads");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".tmp-"),
            "temp file {name} of a dead writer survived `forge bead list`"
        );
        if let Some(id) = name.strip_suffix(".toml") {
            // `list` answers from its cache where it can: it must agree with the file.
            let bead = listed
                .get(id)
                .unwrap_or_else(|| panic!("{name} is not listed"));
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            let file: toml::Table = text.parse().unwrap();
            assert_eq!(bead["title"].as_str(), file["title"].as_str(), "{name}");
            let labels: Vec<&str> = file["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            assert_eq!(bead["labels"], serde_json::json!(labels), "{name}");
            files += 1;
        }
    }
    assert_eq!(files, listed.len());

    for (id, history) in &beads {
        let bead = listed.get(id).unwrap_or_else(|| {
            panic!("acknowledged bead {id} ({}) is gone", history.created_title)
        });
        // The current title is the last acknowledged one, or one tried after it by a run
        // that was killed after its rename: never an older one.
        let last_done = history
            .attempts
            .iter()
            .rposition(|a| a.done && a.title.is_some());
        let mut allowed: Vec<&str> = match last_done {
            Some(k) => vec![history.attempts[k].title.as_deref().unwrap()],
            None => vec![&history.created_title],
        };
        let after = last_done.map_or(0, |k| k + 1);
        allowed.extend(
            history.attempts[after..]
                .iter()
                .filter(|a| !a.done)
                .filter_map(|a| a.title.as_deref()),
        );
        let title = bead["title"].as_str().unwrap();
        assert!(
            allowed.contains(&title),
            "{id} has title '{title}'; expected one of {allowed:?} (seed {seed})"
        );
        // Labels are only ever added: every acknowledged one is there, and every one there
        // was tried.
        let labels: BTreeSet<&str> = bead["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let tried: BTreeSet<&str> = history
            .attempts
            .iter()
            .filter_map(|a| a.label.as_deref())
            .collect();
        for a in &history.attempts {
            if let (Some(label), true) = (&a.label, a.done) {
                assert!(
                    labels.contains(label.as_str()),
                    "{id} lost acknowledged label {label} (seed {seed}); it has {labels:?}"
                );
            }
        }
        assert!(
            labels.is_subset(&tried),
            "{id} has labels {labels:?}, but only {tried:?} were tried"
        );
    }
    // A bead nobody acknowledged comes from a killed create, and from only one.
    let mut orphans = BTreeSet::new();
    for (id, bead) in &listed {
        if beads.contains_key(id) {
            continue;
        }
        let title = bead["title"].as_str().unwrap();
        assert!(
            killed_creates.contains(title),
            "{id} ('{title}') was never asked for"
        );
        assert!(orphans.insert(title), "'{title}' was created twice");
    }

    // The ledger verifies; torn tails of killed runs are quarantined, not problems.
    let verify = env.forge(&["--json", "ledger", "verify"]);
    eprint!("{}", verify.stderr);
    let verify = verify.ok().json();
    assert_eq!(verify["problems"], serde_json::json!([]), "{verify}");
    for torn in verify["torn"].as_array().unwrap() {
        assert_eq!(torn["live"], false, "no forge is running any more: {torn}");
        assert!(torn["quarantined"].is_string(), "{torn}");
    }
    eprintln!(
        "ledger: {} events in {} files, {} torn tail(s) quarantined",
        verify["events"],
        verify["files"],
        verify["torn"].as_array().unwrap().len()
    );
    let again = env.forge(&["--json", "ledger", "verify"]).ok();
    assert_eq!(
        again.json()["torn"],
        serde_json::json!([]),
        "{}",
        again.stderr
    );

    // Every acknowledged change has its event, and no create is recorded twice.
    let show = env.forge(&["--json", "ledger", "show"]).ok();
    assert!(
        !show.stderr.contains("do not verify"),
        "ledger show skipped lines after a clean verify:\n{}",
        show.stderr
    );
    let show = show.json();
    let events = show["events"].as_array().unwrap();
    let mut created: BTreeMap<&str, usize> = BTreeMap::new();
    let mut updates: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for e in events {
        let bead = e["data"]["bead"].as_str().unwrap_or("");
        match e["kind"].as_str().unwrap() {
            "bead.created" => *created.entry(bead).or_default() += 1,
            "bead.updated" => updates.entry(bead).or_default().push(&e["data"]["changes"]),
            _ => {}
        }
    }
    for (bead, n) in &created {
        assert_eq!(*n, 1, "{bead} has {n} bead.created events");
    }
    for (id, history) in &beads {
        assert!(
            created.contains_key(id.as_str()),
            "acknowledged create of {id} has no bead.created event"
        );
        let changes = updates.get(id.as_str()).map_or(&[][..], |v| &v[..]);
        for a in history.attempts.iter().filter(|a| a.done) {
            let recorded = changes.iter().flat_map(|c| c.as_array().unwrap()).any(|c| {
                match (&a.title, &a.label) {
                    (Some(t), _) => c["field"] == "title" && c["new"] == t.as_str(),
                    (_, Some(l)) => {
                        c["field"] == "labels"
                            && c["new"]
                                .as_array()
                                .unwrap()
                                .contains(&Value::from(l.clone()))
                            && !c["old"]
                                .as_array()
                                .unwrap()
                                .contains(&Value::from(l.clone()))
                    }
                    _ => unreachable!(),
                }
            });
            assert!(
                recorded,
                "acknowledged update of {id} ({:?}{:?}) has no bead.updated event",
                a.title, a.label
            );
        }
    }
    // Events are written before the change they describe, so no bead on disk may lack
    // its creation event, whatever moment the kill hit.
    let unrecorded: Vec<&String> = listed
        .keys()
        .filter(|id| !created.contains_key(id.as_str()))
        .collect();
    assert!(
        unrecorded.is_empty(),
        "beads on disk without a bead.created event: {unrecorded:?}"
    );
    // And no run left an empty ledger file behind (verify would name it).
    eprintln!(
        "{} beads on disk, {} acknowledged, {} creation events; total {:?}",
        listed.len(),
        beads.len(),
        created.len(),
        started.elapsed()
    );
}
