//! Tamper evidence: every change to a ledger line is found and named by `forge ledger verify`.

use std::path::PathBuf;

use forge::clock::Clock;
use forge::ledger::LedgerWriter;
use forge::redact::Redactor;

use crate::env::TestEnv;

pub fn ledger_files(env: &TestEnv) -> Vec<PathBuf> {
    forge::ledger::ledger_files(&env.path(".forge/ledger"))
}

/// Writes a run of `n` events with the library's own writer and returns its file.
fn long_run(env: &TestEnv, n: usize) -> PathBuf {
    let mut w = LedgerWriter::new(
        &env.path(".forge/ledger"),
        "20261121T090000Z-testrun1".into(),
        "Ada Tester <ada@example.com>".into(),
    );
    let clock = Clock::Fixed(1_795_251_600);
    for i in 0..n {
        w.append(
            &clock,
            &Redactor::default(),
            "test.event",
            serde_json::json!({"i": i}),
        )
        .unwrap();
    }
    w.path().to_owned()
}

fn rel(env: &TestEnv, p: &std::path::Path) -> String {
    p.strip_prefix(&env.repo).unwrap().display().to_string()
}

#[track_caller]
fn verify_fails_at(env: &TestEnv, file: &str, line: usize) -> String {
    let run = env.forge(&["ledger", "verify"]).fails_with(8);
    let place = format!("{file}:{line}:");
    assert!(
        run.stdout.contains(&place),
        "'{place}' not in:\n{}",
        run.stdout
    );
    let json = env
        .forge(&["--json", "ledger", "verify"])
        .fails_with(8)
        .json();
    let first = &json["problems"][0];
    assert_eq!(first["line"], line);
    assert!(first["file"].as_str().unwrap().ends_with(file));
    run.stdout
}

#[test]
fn an_honest_ledger_verifies() {
    let env = TestEnv::new();
    long_run(&env, 5);
    env.create(&["a"]);
    let run = env.forge(&["--json", "ledger", "verify"]).ok().json();
    assert_eq!(run["events"], 7);
    assert_eq!(run["files"], 3);
    assert_eq!(run["problems"], serde_json::json!([]));
    assert!(
        env.forge(&["ledger", "verify"])
            .ok()
            .stdout
            .contains("ledger ok: 7 events in 3 files")
    );
}

#[test]
fn a_flipped_byte_is_named() {
    let env = TestEnv::new();
    let file = long_run(&env, 5);
    let mut bytes = std::fs::read(&file).unwrap();
    let third_line = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0
        + 1;
    // Flip a bit in the event data of line 3: `"i":2` becomes `"i":3`.
    let pos = third_line
        + bytes[third_line..]
            .windows(4)
            .position(|w| w == b"\"i\":")
            .unwrap()
        + 4;
    bytes[pos] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let out = verify_fails_at(&env, &rel(&env, &file), 3);
    assert!(out.contains("hash does not match"), "{out}");
}

#[test]
fn a_deleted_middle_line_is_named() {
    let env = TestEnv::new();
    let file = long_run(&env, 5);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(2);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = verify_fails_at(&env, &rel(&env, &file), 3);
    assert!(out.contains("deleted, inserted or moved"), "{out}");
}

#[test]
fn swapped_lines_are_named() {
    let env = TestEnv::new();
    let file = long_run(&env, 5);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 3);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    verify_fails_at(&env, &rel(&env, &file), 2);
}

#[test]
fn a_deleted_first_line_and_a_foreign_line_are_named() {
    let env = TestEnv::new();
    let file = long_run(&env, 3);
    let text = std::fs::read_to_string(&file).unwrap();
    let rest: Vec<&str> = text.lines().skip(1).collect();
    std::fs::write(&file, rest.join("\n") + "\n").unwrap();
    verify_fails_at(&env, &rel(&env, &file), 1);

    // A valid line from another run's file pasted in.
    let env = TestEnv::new();
    let file = long_run(&env, 2);
    env.create(&["a"]);
    let other = ledger_files(&env)
        .into_iter()
        .find(|f| *f != file && std::fs::read_to_string(f).unwrap().contains("bead.created"))
        .unwrap();
    let foreign = std::fs::read_to_string(&other).unwrap();
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&foreign);
    std::fs::write(&file, text).unwrap();
    let out = verify_fails_at(&env, &rel(&env, &file), 3);
    assert!(out.contains("record of run"), "{out}");
}

#[test]
fn torn_tail_is_quarantined_by_default() {
    let env = TestEnv::new();
    let file = long_run(&env, 2);
    let good = std::fs::read(&file).unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(b"{\"ts\":\"2026");
    std::fs::write(&file, &torn).unwrap();
    let run = env.forge(&["ledger", "verify"]).ok();
    assert!(
        run.stderr.contains("torn last line (11 bytes)"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&file).unwrap(), good);
    let mut q = file.clone().into_os_string();
    q.push(".torn");
    assert_eq!(std::fs::read(q).unwrap(), b"{\"ts\":\"2026\n");
    let again = env.forge(&["ledger", "verify"]).ok();
    assert!(!again.stderr.contains("torn"), "{}", again.stderr);
}

#[test]
fn ledger_show_filters_by_bead_and_skips_bad_lines() {
    let env = TestEnv::new();
    let a = env.create(&["a"]);
    let b = env.create(&["b"]);
    env.forge(&["bead", "dep", "add", &b, &a]).ok();
    let events = env
        .forge(&["--json", "ledger", "show", "--bead", &a])
        .ok()
        .json();
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["bead.created", "dep.added"]);
    let file = ledger_files(&env)
        .into_iter()
        .find(|f| std::fs::read_to_string(f).unwrap().contains("dep.added"))
        .unwrap();
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("dep.added", "dep.addex"),
    )
    .unwrap();
    let run = env.forge(&["--json", "ledger", "show", "--bead", &a]).ok();
    assert_eq!(run.json()["events"].as_array().unwrap().len(), 1);
    assert!(run.stderr.contains("do not verify"), "{}", run.stderr);
}

#[test]
fn an_emptied_ledger_file_is_named() {
    let env = TestEnv::new();
    env.create(&["a"]);
    let file = ledger_files(&env).pop().unwrap();
    std::fs::write(&file, b"").unwrap();
    let out = verify_fails_at(&env, &rel(&env, &file), 1);
    assert!(out.contains("empty ledger file"), "{out}");
}

/// Ledger readers run while other processes create beads, each of which writes its run's
/// first ledger line to a temp file and renames it into place: no reader may trip over
/// such a file, whether it sees it, sees it vanish, or sees it renamed.
#[test]
fn readers_ignore_files_being_written_by_other_runs() {
    const ROUNDS: usize = 40;
    let env = TestEnv::new();
    // Someone else's leftovers that are not ledger files are ignored too.
    let month = env.path(".forge/ledger/2026-11");
    std::fs::create_dir_all(&month).unwrap();
    std::fs::write(month.join("notes.txt"), "not a ledger file\n").unwrap();
    std::fs::write(month.join(".editor-swap.jsonl"), "{half a line").unwrap();
    let failures = std::sync::Mutex::new(Vec::new());
    let fail = |what: &str, run: &crate::env::Run| {
        failures.lock().unwrap().push(format!(
            "{what}: exit {}\n{}{}",
            run.code, run.stdout, run.stderr
        ));
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ROUNDS {
                let run = env.forge(&["-q", "bead", "create", &format!("bead {i}")]);
                if run.code != 0 {
                    fail("bead create", &run);
                }
            }
        });
        s.spawn(|| {
            for _ in 0..ROUNDS {
                let run = env.forge(&["ledger", "verify"]);
                if run.code != 0 {
                    fail("ledger verify", &run);
                }
            }
        });
        s.spawn(|| {
            for _ in 0..ROUNDS {
                let run = env.forge(&["--json", "ledger", "show"]);
                let parsed = serde_json::from_str::<serde_json::Value>(&run.stdout);
                if run.code != 0 || parsed.is_err() || !run.stderr.is_empty() {
                    fail("ledger show", &run);
                }
            }
        });
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} reader runs failed; the first:\n{}",
        failures.len(),
        2 * ROUNDS,
        failures[0]
    );
    let json = env.forge(&["--json", "ledger", "verify"]).ok().json();
    assert_eq!(json["events"], ROUNDS + 1, "{json}");
}
