//! Branch merges of `.forge/` (RELIABILITY.md S11): different beads never conflict, even
//! without the merge driver; the same bead merges field by field with it; and what the
//! driver does when both sides changed the same field.

use std::collections::BTreeMap;
use std::path::Path;

use forge::bead::{Bead, Kind, Risk, Status};
use forge::clock::Clock;
use forge::ledger::LedgerWriter;
use forge::redact::Redactor;

use crate::env::{TestEnv, clean_command, to_run};

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub fn bead(id: &str, title: &str) -> Bead {
    Bead {
        schema: 1,
        id: id.to_owned(),
        title: title.to_owned(),
        kind: Kind::Task,
        status: Status::Open,
        reason: String::new(),
        priority: 2,
        value: 50,
        risk: Risk::Low,
        labels: Vec::new(),
        author: "Ada Tester <ada@example.com>".into(),
        created: "2026-11-21T09:00:00Z".into(),
        updated: "2026-11-21T09:00:00Z".into(),
        closed: None,
        description: String::new(),
        acceptance: Vec::new(),
        deps: Vec::new(),
        extra: Default::default(),
    }
}

/// The bytes forge writes for a bead.
pub fn bead_text(b: &Bead) -> String {
    toml::to_string(&b.to_toml_value()).unwrap()
}

/// Runs git without asserting success.
pub fn git_raw(env: &TestEnv, args: &[&str]) -> crate::env::Run {
    to_run(
        clean_command("git", &env.home)
            .args(args)
            .current_dir(&env.repo)
            .output()
            .unwrap(),
    )
}

fn without_driver(env: &TestEnv) {
    env.git(&["config", "--remove-section", "merge.forge"]);
}

/// Writes one new ledger file, as a run on this branch would.
fn ledger_run(env: &TestEnv, run: &str) {
    let mut w = LedgerWriter::new(
        &env.path(".forge/ledger"),
        format!("20261121T090000.{run}Z-abcdefgh"),
        "Ada".into(),
    );
    w.append(
        &Clock::Fixed(0),
        &Redactor::default(),
        "test.event",
        serde_json::json!({ "run": run }),
    )
    .unwrap();
}

/// The `.forge/beads/` directory as (file name, bytes).
fn beads_on_disk(env: &TestEnv) -> BTreeMap<String, String> {
    std::fs::read_dir(env.path(".forge/beads"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .map(|n| {
            let text = std::fs::read_to_string(env.path(&format!(".forge/beads/{n}"))).unwrap();
            (n, text)
        })
        .collect()
}

/// One side's changes to the beads it owns: edits, deletions and creations.
fn mutate(
    rng: &mut Rng,
    beads: &mut BTreeMap<String, String>,
    owned: &[String],
    side: &str,
    round: usize,
) {
    for id in owned {
        let name = format!("{id}.toml");
        match rng.below(4) {
            0 => {
                beads.remove(&name);
            }
            _ => {
                let mut b = Bead::parse(Path::new(&name), &beads[&name]).unwrap();
                b.title = format!("{} ({side} {round})", b.title);
                b.labels.push(format!("{side}-{round}"));
                if rng.below(2) == 0 {
                    b.status = Status::Closed;
                    b.reason = format!("done on {side}");
                    b.closed = Some("2026-11-22T00:00:00Z".into());
                }
                b.updated = "2026-11-22T00:00:00Z".into();
                beads.insert(name, bead_text(&b));
            }
        }
    }
    for k in 0..rng.below(3) {
        let id = format!("fg-{side}{round}x{k}");
        beads.insert(
            format!("{id}.toml"),
            bead_text(&bead(&id, "created on a branch")),
        );
    }
}

fn write_beads(env: &TestEnv, beads: &BTreeMap<String, String>) {
    let dir = env.path(".forge/beads");
    for name in beads_on_disk(env).keys() {
        if !beads.contains_key(name) {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
    }
    for (name, text) in beads {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Random branch pairs to merge: 100 (what CI runs), or `FORGE_PROPTEST_CASES` for a
/// quicker run while working (README, "Run the tests").
#[allow(clippy::disallowed_methods)] // a test's own knob
fn rounds() -> usize {
    let n = match std::env::var("FORGE_PROPTEST_CASES") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("FORGE_PROPTEST_CASES={v:?} is not a number")),
        Err(_) => 100,
    };
    assert!(n > 0, "FORGE_PROPTEST_CASES=0 would test nothing");
    n
}

#[test]
fn branches_touching_different_beads_merge_without_the_driver() {
    let rounds = rounds();
    let env = TestEnv::new();
    without_driver(&env);
    let mut base = BTreeMap::new();
    for i in 0..40 {
        let id = format!("fg-base{i:02}");
        base.insert(
            format!("{id}.toml"),
            bead_text(&bead(&id, &format!("bead {i}"))),
        );
    }
    write_beads(&env, &base);
    env.commit_all("base");
    let mut rng = Rng::new(0x5eed_1234);
    let mut conflicts = 0;
    for round in 0..rounds {
        // Pick disjoint sets of beads for the two sides.
        let mut ids: Vec<String> = base
            .keys()
            .map(|n| n.trim_end_matches(".toml").to_owned())
            .collect();
        for i in (1..ids.len()).rev() {
            ids.swap(i, rng.below(i + 1));
        }
        let (na, nb) = (1 + rng.below(3), 1 + rng.below(3));
        let (a_ids, b_ids) = (ids[..na].to_vec(), ids[na..na + nb].to_vec());
        let (a_branch, b_branch) = (format!("a{round}"), format!("b{round}"));

        let mut a = base.clone();
        mutate(&mut rng, &mut a, &a_ids, "a", round);
        env.git(&["checkout", "-q", "-b", &a_branch, "main"]);
        write_beads(&env, &a);
        ledger_run(&env, &format!("{round:03}001"));
        env.commit_all("side a");

        let mut b = base.clone();
        mutate(&mut rng, &mut b, &b_ids, "b", round);
        env.git(&["checkout", "-q", "-b", &b_branch, "main"]);
        write_beads(&env, &b);
        ledger_run(&env, &format!("{round:03}002"));
        env.commit_all("side b");

        env.git(&["checkout", "-q", &a_branch]);
        let merged = git_raw(&env, &["merge", "--no-edit", "-q", &b_branch]);
        if merged.code != 0 {
            conflicts += 1;
            git_raw(&env, &["merge", "--abort"]);
            continue;
        }
        // Each side's changes, and nothing else, are in the result.
        let mut expected = base.clone();
        for (side, ids) in [(&a, &a_ids), (&b, &b_ids)] {
            for id in ids {
                let name = format!("{id}.toml");
                match side.get(&name) {
                    Some(text) => expected.insert(name, text.clone()),
                    None => expected.remove(&name),
                };
            }
            for (name, text) in side.iter().filter(|(n, _)| !base.contains_key(*n)) {
                expected.insert(name.clone(), text.clone());
            }
        }
        assert_eq!(beads_on_disk(&env), expected, "round {round}");
        env.git(&["checkout", "-q", "main"]);
    }
    assert_eq!(conflicts, 0, "{conflicts} of {rounds} merges conflicted");
    // The last merge result is a valid store with verifying ledger files from both sides.
    env.git(&["checkout", "-q", &format!("a{}", rounds - 1)]);
    env.forge(&["bead", "list", "--all"]).ok();
    env.forge(&["ledger", "verify"]).ok();
}

fn create_and_commit(env: &TestEnv) -> String {
    let id = env.create(&[
        "Fix the parser",
        "-d",
        "First line.\n\nSecond line.\n",
        "-l",
        "parser",
    ]);
    env.commit_all("a bead");
    id
}

#[test]
fn different_fields_of_one_bead_merge_with_the_driver() {
    let env = TestEnv::new();
    let id = create_and_commit(&env);
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.forge(&[
        "bead",
        "update",
        &id,
        "--title",
        "Fix the lexer",
        "--add-label",
        "lexer",
    ])
    .ok();
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    env.forge(&[
        "bead",
        "update",
        &id,
        "--priority",
        "0",
        "--add-label",
        "urgent",
        "--kind",
        "bug",
    ])
    .ok();
    env.commit_all("main");
    let merged = git_raw(&env, &["merge", "--no-edit", "topic"]);
    assert_eq!(merged.code, 0, "{}{}", merged.stdout, merged.stderr);
    let b = env.show(&id);
    assert_eq!(b["title"], "Fix the lexer");
    assert_eq!(b["priority"], 0);
    assert_eq!(b["kind"], "bug");
    assert_eq!(
        b["labels"],
        serde_json::json!(["parser", "urgent", "lexer"])
    );
}

#[test]
fn the_same_field_changed_both_ways_follows_the_documented_rules() {
    let env = TestEnv::new();
    let id = create_and_commit(&env);
    // Status: a close on one branch and a deferral on the other: closed wins, with its
    // reason. Descriptions edited on different lines merge line by line.
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.forge(&["bead", "close", &id, "--reason", "fixed on topic"])
        .ok();
    env.forge(&[
        "bead",
        "update",
        &id,
        "-d",
        "First line, edited.\n\nSecond line.\n",
    ])
    .ok();
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    env.forge(&["bead", "defer", &id, "--reason", "later"]).ok();
    env.forge(&[
        "bead",
        "update",
        &id,
        "-d",
        "First line.\n\nSecond line, edited.\n",
    ])
    .ok();
    env.commit_all("main");
    let merged = git_raw(&env, &["merge", "--no-edit", "topic"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert!(
        merged.stderr.contains("takes precedence"),
        "{}",
        merged.stderr
    );
    let b = env.show(&id);
    assert_eq!(b["status"], "closed");
    assert_eq!(b["reason"], "fixed on topic");
    assert_eq!(
        b["description"],
        "First line, edited.\n\nSecond line, edited.\n"
    );
}

#[test]
fn a_title_changed_both_ways_is_a_conflict_that_resolve_settles() {
    let env = TestEnv::new();
    let id = create_and_commit(&env);
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.forge(&[
        "bead",
        "update",
        &id,
        "--title",
        "Theirs",
        "--add-label",
        "t",
    ])
    .ok();
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    env.forge(&["bead", "update", &id, "--title", "Ours", "--add-label", "o"])
        .ok();
    env.commit_all("main");
    let merged = git_raw(&env, &["merge", "--no-edit", "topic"]);
    assert_ne!(merged.code, 0);
    let path = env.path(&format!(".forge/beads/{id}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("<<<<<<< ours\ntitle = \"Ours\"\n||||||| base\ntitle = \"Fix the parser\"\n=======\ntitle = \"Theirs\"\n>>>>>>> theirs\n"),
        "{text}"
    );
    assert!(
        text.contains("labels = [\"parser\", \"o\", \"t\"]"),
        "{text}"
    );
    assert!(
        env.git(&["status", "--porcelain"])
            .contains("UU .forge/beads/")
    );
    // forge refuses to read the file until it is settled...
    env.forge(&["bead", "show", &id]).fails_with(5);
    // ...which `forge resolve` does for their side when asked, saying what ours had.
    let run = env.forge(&["resolve", "--theirs"]).ok();
    assert!(run.stdout.contains("\"Ours\""), "{}", run.stdout);
    let b = env.show(&id);
    assert_eq!(b["title"], "Theirs");
    assert_eq!(b["labels"], serde_json::json!(["parser", "o", "t"]));
    let events = env.forge(&["--json", "ledger", "show"]).ok().stdout;
    assert!(events.contains("merge.resolved"), "{events}");
}

#[test]
fn the_driver_falls_back_to_a_line_merge_when_forge_is_missing() {
    let env = TestEnv::new();
    let id = create_and_commit(&env);
    // A driver registered by a forge that has since moved, with no forge on PATH.
    let driver = env.git(&["config", "--get", "merge.forge.driver"]);
    let (head, rest) = driver.trim().split_once("f='").unwrap();
    let (_, tail) = rest.split_once("';").unwrap();
    let moved = format!("{head}f='/nonexistent/forge';{tail}");
    env.git(&["config", "merge.forge.driver", &moved]);
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.forge(&["bead", "update", &id, "--title", "Theirs"])
        .ok();
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    env.forge(&["bead", "update", &id, "--title", "Ours"]).ok();
    env.commit_all("main");
    let merged = to_run(
        clean_command("git", &env.home)
            .args(["merge", "--no-edit", "topic"])
            .current_dir(&env.repo)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap(),
    );
    assert_ne!(merged.code, 0);
    let text = std::fs::read_to_string(env.path(&format!(".forge/beads/{id}.toml"))).unwrap();
    assert!(
        text.contains("Ours") && text.contains("Theirs"),
        "nothing lost:\n{text}"
    );
    assert!(text.contains("<<<<<<< ours"), "{text}");
    env.forge(&["resolve"]).ok();
    assert_eq!(env.show(&id)["title"], "Ours");
}
