use proptest::prelude::*;

use super::*;

const BASE: &str = r#"schema = 1
id = "fg-abcd"
title = "Fix the parser"
kind = "bug"
status = "open"
priority = 2
value = 50
risk = "low"
labels = ["parser"]
author = "Ada <ada@example.com>"
created = "2026-11-21T00:00:00Z"
updated = "2026-11-21T00:00:00Z"
description = """
First paragraph.

Second paragraph.
"""
acceptance = ["it parses"]
future_field = "kept"

[[deps]]
id = "fg-zzzz"
type = "blocks"
note = "kept too"

[future_table]
x = 1
"#;

fn edit(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in pairs {
        assert!(out.contains(from), "{from} not in the text");
        out = out.replacen(from, to, 1);
    }
    out
}

fn merge(ours: &str, theirs: &str) -> Outcome {
    merge_toml(
        FileKind::Bead,
        Some(BASE),
        ours,
        theirs,
        ConflictStyle::Markers,
    )
    .unwrap()
}

fn bead(text: &str) -> crate::bead::Bead {
    crate::bead::Bead::parse(std::path::Path::new("fg-abcd.toml"), text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn different_fields_merge_cleanly() {
    let ours = edit(
        BASE,
        &[("title = \"Fix the parser\"", "title = \"Fix the lexer\"")],
    );
    let theirs = edit(
        BASE,
        &[("priority = 2", "priority = 1"), ("x = 1", "x = 2")],
    );
    let out = merge(&ours, &theirs);
    assert!(out.clean(), "{out:?}");
    let b = bead(&out.text);
    assert_eq!(b.title, "Fix the lexer");
    assert_eq!(b.priority, 1);
    assert_eq!(b.extra["future_table"]["x"].as_integer(), Some(2));
    assert_eq!(b.extra["future_field"].as_str(), Some("kept"));
    assert_eq!(b.deps[0].extra["note"].as_str(), Some("kept too"));
}

#[test]
fn the_result_is_written_in_forges_key_order() {
    let ours = edit(BASE, &[("value = 50", "value = 60")]);
    let theirs = edit(BASE, &[("risk = \"low\"", "risk = \"high\"")]);
    let out = merge(&ours, &theirs);
    let b = bead(&out.text);
    let canonical = toml::to_string(&b.to_toml_value()).unwrap();
    assert_eq!(out.text, canonical);
}

#[test]
fn lists_merge_by_element() {
    let ours = edit(
        BASE,
        &[("labels = [\"parser\"]", "labels = [\"parser\", \"urgent\"]")],
    );
    let theirs = edit(
        BASE,
        &[
            ("labels = [\"parser\"]", "labels = [\"lexer\"]"),
            (
                "acceptance = [\"it parses\"]",
                "acceptance = [\"it parses\", \"it is fast\"]",
            ),
            (
                "note = \"kept too\"\n",
                "note = \"kept too\"\n\n[[deps]]\nid = \"fg-yyyy\"\ntype = \"related\"\n",
            ),
        ],
    );
    let out = merge(&ours, &theirs);
    assert!(out.clean());
    let b = bead(&out.text);
    assert_eq!(b.labels, ["urgent", "lexer"]);
    assert_eq!(b.acceptance, ["it parses", "it is fast"]);
    let deps: Vec<&str> = b.deps.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(deps, ["fg-zzzz", "fg-yyyy"]);
}

#[test]
fn closed_wins_over_deferred_with_its_reason() {
    let ours = edit(
        BASE,
        &[
            (
                "status = \"open\"",
                "status = \"deferred\"\nreason = \"later\"",
            ),
            (
                "updated = \"2026-11-21T00:00:00Z\"",
                "updated = \"2026-11-23T00:00:00Z\"",
            ),
        ],
    );
    let theirs = edit(
        BASE,
        &[
            (
                "status = \"open\"",
                "status = \"closed\"\nreason = \"done\"",
            ),
            (
                "updated = \"2026-11-21T00:00:00Z\"",
                "updated = \"2026-11-22T00:00:00Z\"\nclosed = \"2026-11-22T00:00:00Z\"",
            ),
        ],
    );
    let out = merge(&ours, &theirs);
    assert!(out.clean());
    let b = bead(&out.text);
    assert_eq!(b.status, crate::bead::Status::Closed);
    assert_eq!(b.reason, "done");
    assert_eq!(b.closed.as_deref(), Some("2026-11-22T00:00:00Z"));
    assert_eq!(b.updated, "2026-11-23T00:00:00Z");
    assert!(
        out.decisions
            .iter()
            .any(|d| d.field == "status" && d.outcome.contains("\"closed\" takes precedence")),
        "{:?}",
        out.decisions
    );
}

#[test]
fn scalar_rules_for_priority_value_and_risk() {
    let ours = edit(
        BASE,
        &[
            ("priority = 2", "priority = 3"),
            ("value = 50", "value = 70"),
            ("risk = \"low\"", "risk = \"high\""),
        ],
    );
    let theirs = edit(
        BASE,
        &[
            ("priority = 2", "priority = 0"),
            ("value = 50", "value = 10"),
            ("risk = \"low\"", "risk = \"medium\""),
        ],
    );
    let b = bead(&merge(&ours, &theirs).text);
    assert_eq!((b.priority, b.value), (0, 70));
    assert_eq!(b.risk, crate::bead::Risk::High);
}

#[test]
fn descriptions_merge_by_line() {
    let ours = edit(BASE, &[("First paragraph.", "First paragraph, edited.")]);
    let theirs = edit(BASE, &[("Second paragraph.", "Second paragraph, edited.")]);
    let out = merge(&ours, &theirs);
    assert!(out.clean());
    assert_eq!(
        bead(&out.text).description,
        "First paragraph, edited.\n\nSecond paragraph, edited.\n"
    );
}

#[test]
fn the_same_title_changed_both_ways_is_a_readable_conflict() {
    let ours = edit(BASE, &[("Fix the parser", "Fix the lexer")]);
    let theirs = edit(BASE, &[("Fix the parser", "Rewrite the parser")]);
    let out = merge(&ours, &theirs);
    assert_eq!(out.conflicts, ["title"]);
    assert!(
        out.text.contains(
            "<<<<<<< ours\ntitle = \"Fix the lexer\"\n||||||| base\ntitle = \"Fix the parser\"\n=======\ntitle = \"Rewrite the parser\"\n>>>>>>> theirs\n"
        ),
        "{}",
        out.text
    );
    // Each side of the hunk is a whole file again.
    let sides = markers::split(&out.text).unwrap();
    assert_eq!(bead(&sides.ours).title, "Fix the lexer");
    assert_eq!(bead(&sides.theirs).title, "Rewrite the parser");
    assert_eq!(bead(sides.base.as_deref().unwrap()).title, "Fix the parser");
    // A repair settles it for one side and says what the other had.
    let fixed = merge_toml(
        FileKind::Bead,
        Some(BASE),
        &ours,
        &theirs,
        ConflictStyle::Prefer(Side::Theirs),
    )
    .unwrap();
    assert!(fixed.clean());
    assert_eq!(bead(&fixed.text).title, "Rewrite the parser");
    assert!(
        fixed
            .decisions
            .iter()
            .any(|d| d.field == "title" && d.outcome.contains("\"Fix the lexer\"")),
        "{:?}",
        fixed.decisions
    );
}

#[test]
fn multi_line_conflicts_keep_every_line_of_both_sides() {
    let ours = edit(BASE, &[("First paragraph.", "Ours first.")]);
    let theirs = edit(BASE, &[("First paragraph.", "Theirs first.")]);
    let out = merge(&ours, &theirs);
    assert_eq!(out.conflicts, ["description"]);
    let sides = markers::split(&out.text).unwrap();
    assert_eq!(bead(&sides.ours).description, bead(&ours).description);
    assert_eq!(bead(&sides.theirs).description, bead(&theirs).description);
}

#[test]
fn deleting_a_field_on_one_side_and_changing_it_on_the_other_keeps_the_change() {
    let ours = edit(BASE, &[("future_field = \"kept\"\n", "")]);
    let theirs = edit(
        BASE,
        &[("future_field = \"kept\"", "future_field = \"changed\"")],
    );
    let b = bead(&merge(&ours, &theirs).text);
    assert_eq!(b.extra["future_field"].as_str(), Some("changed"));
}

#[test]
fn unknown_fields_added_on_both_sides_survive() {
    let ours = edit(BASE, &[("x = 1", "x = 1\ny = \"ours\"")]);
    let theirs = format!("{BASE}\n[other_table]\nz = true\n");
    let theirs = edit(
        &theirs,
        &[(
            "future_field = \"kept\"",
            "future_field = \"kept\"\nnew_key = 5",
        )],
    );
    let out = merge(&ours, &theirs);
    assert!(out.clean());
    let b = bead(&out.text);
    assert_eq!(b.extra["future_table"]["y"].as_str(), Some("ours"));
    assert_eq!(b.extra["other_table"]["z"].as_bool(), Some(true));
    assert_eq!(b.extra["new_key"].as_integer(), Some(5));
}

#[test]
fn without_a_base_lists_are_unions() {
    let ours = edit(BASE, &[("labels = [\"parser\"]", "labels = [\"a\"]")]);
    let theirs = edit(BASE, &[("labels = [\"parser\"]", "labels = [\"b\"]")]);
    let out = merge_toml(FileKind::Bead, None, &ours, &theirs, ConflictStyle::Markers).unwrap();
    assert_eq!(bead(&out.text).labels, ["a", "b"]);
}

#[test]
fn a_side_that_does_not_parse_is_reported() {
    let err = merge_toml(
        FileKind::Bead,
        Some(BASE),
        "x = [",
        BASE,
        ConflictStyle::Markers,
    )
    .unwrap_err();
    assert_eq!(err.side, Side::Ours);
}

#[test]
fn assumption_status_invalidated_wins() {
    let base = "schema = 1\nid = \"as-1\"\ntext = \"t\"\nstatus = \"open\"\nrisk = \"low\"\nauthor = \"a\"\ncreated = \"2026-01-01T00:00:00Z\"\n";
    let ours = format!("{base}resolved = \"2026-01-02T00:00:00Z\"\nnote = \"fine\"\n")
        .replace("\"open\"", "\"validated\"");
    let theirs = format!("{base}resolved = \"2026-01-01T10:00:00Z\"\nnote = \"wrong\"\n")
        .replace("\"open\"", "\"invalidated\"");
    let out = merge_toml(
        FileKind::Assumption,
        Some(base),
        &ours,
        &theirs,
        ConflictStyle::Markers,
    )
    .unwrap();
    assert!(out.clean());
    let t: Table = toml::from_str(&out.text).unwrap();
    assert_eq!(t["status"].as_str(), Some("invalidated"));
    assert_eq!(t["note"].as_str(), Some("wrong"));
}

// ----------------------------------------------------------------------------------------
// Properties: every label and dependency added on either side survives, removals apply,
// unknown fields survive, and the output always parses.

fn bead_text(labels: &[String], deps: &[(String, String)], extra: &[(String, i64)]) -> String {
    let mut t = Table::new();
    t.insert("schema".into(), Value::Integer(1));
    t.insert("id".into(), Value::String("fg-abcd".into()));
    t.insert("title".into(), Value::String("t".into()));
    t.insert(
        "labels".into(),
        Value::Array(labels.iter().cloned().map(Value::String).collect()),
    );
    for (k, v) in extra {
        t.insert(k.clone(), Value::Integer(*v));
    }
    let deps = deps
        .iter()
        .map(|(id, kind)| {
            let mut d = Table::new();
            d.insert("id".into(), Value::String(id.clone()));
            d.insert("type".into(), Value::String(kind.clone()));
            Value::Table(d)
        })
        .collect();
    t.insert("deps".into(), Value::Array(deps));
    toml::to_string(&t).unwrap()
}

fn subset<T: Clone + std::fmt::Debug>(items: Vec<T>) -> impl Strategy<Value = Vec<T>> {
    let n = items.len();
    proptest::collection::vec(any::<bool>(), n).prop_map(move |keep| {
        items
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(i, _)| i.clone())
            .collect()
    })
}

fn labels_pool() -> Vec<String> {
    (0..8).map(|i| format!("l{i}")).collect()
}

fn deps_pool() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for i in 0..4 {
        for kind in ["blocks", "related"] {
            v.push((format!("fg-d{i}"), kind.to_owned()));
        }
    }
    v
}

fn extra_pool() -> Vec<(String, i64)> {
    (0..4).map(|i| (format!("future_{i}"), i)).collect()
}

type Version = (Vec<String>, Vec<(String, String)>, Vec<(String, i64)>);

fn version() -> impl Strategy<Value = Version> {
    (
        subset(labels_pool()),
        subset(deps_pool()),
        subset(extra_pool()),
    )
}

/// Cases per property: 300 (what CI runs), or `FORGE_PROPTEST_CASES` for a quicker local
/// run (README, "Run the tests").
#[allow(clippy::disallowed_methods)] // a test's own knob, read once per property
fn cases() -> u32 {
    let n = match std::env::var("FORGE_PROPTEST_CASES") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("FORGE_PROPTEST_CASES={v:?} is not a number")),
        Err(_) => 300,
    };
    assert!(n > 0, "FORGE_PROPTEST_CASES=0 would test nothing");
    n
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn additions_survive_and_removals_apply(b in version(), o in version(), t in version()) {
        let (bt, ot, tt) = (bead_text(&b.0, &b.1, &b.2), bead_text(&o.0, &o.1, &o.2), bead_text(&t.0, &t.1, &t.2));
        for style in [ConflictStyle::Markers, ConflictStyle::Prefer(Side::Ours)] {
            let out = merge_toml(FileKind::Bead, Some(&bt), &ot, &tt, style).unwrap();
            prop_assert!(out.clean(), "{:?}", out.conflicts);
            let merged: Table = toml::from_str(&out.text).unwrap();
            let labels: Vec<&str> = merged["labels"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            let deps: Vec<(String, String)> = merged["deps"].as_array().unwrap().iter().map(|d| (
                d["id"].as_str().unwrap().to_owned(), d["type"].as_str().unwrap().to_owned())).collect();
            for l in labels_pool() {
                let (inb, ino, int) = (b.0.contains(&l), o.0.contains(&l), t.0.contains(&l));
                let added = !inb && (ino || int);
                let removed = inb && (!ino || !int);
                let kept = inb && ino && int;
                prop_assert_eq!(labels.contains(&l.as_str()), added || kept, "label {} removed={}", l, removed);
            }
            for d in deps_pool() {
                let (inb, ino, int) = (b.1.contains(&d), o.1.contains(&d), t.1.contains(&d));
                let expected = (!inb && (ino || int)) || (inb && ino && int);
                prop_assert_eq!(deps.contains(&d), expected, "dep {:?}", d);
            }
            for (k, _) in extra_pool() {
                let (inb, ino, int) = (b.2.iter().any(|e| e.0 == k), o.2.iter().any(|e| e.0 == k), t.2.iter().any(|e| e.0 == k));
                let expected = (!inb && (ino || int)) || (inb && ino && int);
                prop_assert_eq!(merged.contains_key(&k), expected, "field {}", k);
            }
        }
    }

    #[test]
    fn output_always_parses(
        base in "[a-z \\n]{0,40}", ours in "[a-z \\n]{0,40}", theirs in "[a-z \\n]{0,40}",
        po in 0u8..5, pt in 0u8..5,
    ) {
        let text = |title: &str, p: u8| {
            let mut t = Table::new();
            t.insert("title".into(), Value::String(title.into()));
            t.insert("priority".into(), Value::Integer(p.into()));
            t.insert("weird key".into(), Value::String(title.into()));
            toml::to_string(&t).unwrap()
        };
        let (b, o, t) = (text(&base, 2), text(&ours, po), text(&theirs, pt));
        let out = merge_toml(FileKind::Bead, Some(&b), &o, &t, ConflictStyle::Markers).unwrap();
        if out.clean() {
            prop_assert!(toml::from_str::<Table>(&out.text).is_ok(), "{}", out.text);
        } else {
            let sides = markers::split(&out.text).unwrap();
            for side in [&sides.ours, &sides.theirs] {
                prop_assert!(toml::from_str::<Table>(side).is_ok(), "{}", side);
            }
            let ours_side: Table = toml::from_str(&sides.ours).unwrap();
            prop_assert_eq!(ours_side["title"].as_str(), Some(ours.as_str()));
        }
        let fixed = merge_toml(FileKind::Bead, Some(&b), &o, &t, ConflictStyle::Prefer(Side::Ours)).unwrap();
        prop_assert!(fixed.clean());
        prop_assert!(toml::from_str::<Table>(&fixed.text).is_ok(), "{}", fixed.text);
    }
}

#[test]
fn a_side_with_a_marker_like_line_in_a_string_is_not_merged() {
    // Found by the fuzzer: a bare `|||||||` line inside a multi-line string.
    let ours = "title = \"\"\"\n|||||||\nx\"\"\"\n";
    let err = merge_toml(
        FileKind::Bead,
        None,
        ours,
        "title = \"\"\n",
        ConflictStyle::Markers,
    )
    .unwrap_err();
    assert_eq!(err.side, Side::Ours);
}
