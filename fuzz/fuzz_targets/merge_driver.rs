//! Fuzzes the field-wise merge behind `forge merge-driver` and `forge resolve`.
//!
//! Properties checked on every input:
//! - nothing panics, whatever the three texts are;
//! - when all sides parse, the output parses (settled for one side), and with conflict
//!   hunks each side of the hunks parses again;
//! - every label and dependency added on either side survives, every one removed on either
//!   side (and kept by neither as an addition) is gone;
//! - every field added on either side survives.
//!
//! Run with `cargo fuzz run merge_driver` from the repository root (nightly toolchain).

#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use forge::merge::{ConflictStyle, FileKind, Side, markers, merge_toml};
use libfuzzer_sys::fuzz_target;
use toml::{Table, Value};

#[derive(Arbitrary, Debug)]
enum Scalar {
    Int(i64),
    Bool(bool),
    Text(String),
    Lines(Vec<String>),
}

#[derive(Arbitrary, Debug)]
struct Version {
    title: String,
    status: u8,
    priority: u8,
    labels: Vec<u8>,
    deps: Vec<(u8, bool)>,
    /// Unknown fields: (key number, value).
    extra: Vec<(u8, Scalar)>,
    /// An unknown table with a few fields.
    table: Option<Vec<(u8, i64)>>,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Structured {
        base: Option<Version>,
        ours: Version,
        theirs: Version,
        kind: u8,
    },
    Raw {
        base: Option<String>,
        ours: String,
        theirs: String,
    },
}

fn scalar(s: &Scalar) -> Value {
    match s {
        Scalar::Int(i) => Value::Integer(*i),
        Scalar::Bool(b) => Value::Boolean(*b),
        Scalar::Text(t) => Value::String(t.clone()),
        Scalar::Lines(l) => Value::String(l.join("\n")),
    }
}

fn labels(v: &Version) -> BTreeSet<String> {
    v.labels.iter().map(|l| format!("l{}", l % 16)).collect()
}

fn deps(v: &Version) -> BTreeSet<(String, String)> {
    v.deps
        .iter()
        .map(|(d, blocks)| {
            let kind = if *blocks { "blocks" } else { "related" };
            (format!("fg-d{}", d % 8), kind.to_owned())
        })
        .collect()
}

fn extra_keys(v: &Version) -> BTreeSet<String> {
    v.extra
        .iter()
        .map(|(k, _)| format!("future_{}", k % 8))
        .collect()
}

fn text(v: &Version) -> String {
    let mut t = Table::new();
    t.insert("schema".into(), Value::Integer(1));
    t.insert("id".into(), Value::String("fg-fuzz".into()));
    t.insert("title".into(), Value::String(v.title.clone()));
    let status = ["open", "closed", "deferred"][usize::from(v.status % 3)];
    t.insert("status".into(), Value::String(status.into()));
    t.insert("priority".into(), Value::Integer(i64::from(v.priority % 5)));
    t.insert(
        "labels".into(),
        Value::Array(labels(v).into_iter().map(Value::String).collect()),
    );
    for (k, s) in &v.extra {
        t.insert(format!("future_{}", k % 8), scalar(s));
    }
    if let Some(fields) = &v.table {
        let mut sub = Table::new();
        for (k, x) in fields {
            sub.insert(format!("k{}", k % 4), Value::Integer(*x));
        }
        t.insert("future_table".into(), Value::Table(sub));
    }
    let deps = deps(v)
        .into_iter()
        .map(|(id, kind)| {
            let mut d = Table::new();
            d.insert("id".into(), Value::String(id));
            d.insert("type".into(), Value::String(kind));
            Value::Table(d)
        })
        .collect();
    t.insert("deps".into(), Value::Array(deps));
    toml::to_string(&t).expect("a table serialises")
}

fn check_sides(out: &str) {
    match markers::split(out) {
        Ok(sides) => {
            for side in [&sides.ours, &sides.theirs] {
                assert!(
                    toml::from_str::<Table>(side).is_ok(),
                    "a side does not parse:\n{side}"
                );
            }
        }
        Err(e) => panic!("conflict hunks do not split ({e:?}):\n{out}"),
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw { base, ours, theirs } => {
            for style in [ConflictStyle::Markers, ConflictStyle::Prefer(Side::Ours)] {
                if let Ok(out) = merge_toml(FileKind::Bead, base.as_deref(), &ours, &theirs, style)
                {
                    if out.clean() {
                        assert!(toml::from_str::<Table>(&out.text).is_ok(), "{}", out.text);
                    } else {
                        check_sides(&out.text);
                    }
                }
            }
        }
        Input::Structured {
            base,
            ours,
            theirs,
            kind,
        } => {
            let kind =
                [FileKind::Bead, FileKind::Assumption, FileKind::Other][usize::from(kind % 3)];
            let (bt, ot, tt) = (base.as_ref().map(text), text(&ours), text(&theirs));
            let markers_out =
                match merge_toml(kind, bt.as_deref(), &ot, &tt, ConflictStyle::Markers) {
                    Ok(out) => out,
                    // A generated string with a line that looks like a conflict marker makes
                    // its side unmergeable on purpose: forge refuses such files.
                    Err(_) => {
                        assert!(
                            [Some(&ot), Some(&tt)]
                                .into_iter()
                                .flatten()
                                .any(|t| markers::first_marker(t).is_some()),
                            "a side that parses was refused"
                        );
                        return;
                    }
                };
            if markers_out.clean() {
                assert!(toml::from_str::<Table>(&markers_out.text).is_ok());
            } else {
                check_sides(&markers_out.text);
            }
            let out = merge_toml(
                kind,
                bt.as_deref(),
                &ot,
                &tt,
                ConflictStyle::Prefer(Side::Ours),
            )
            .expect("all parse");
            assert!(out.clean());
            let merged: Table = toml::from_str(&out.text)
                .unwrap_or_else(|e| panic!("output does not parse ({e}):\n{}", out.text));
            let got_labels: BTreeSet<String> = merged["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            let got_deps: BTreeSet<(String, String)> = merged["deps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["id"].as_str().unwrap().to_owned(),
                        d["type"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            // A base that does not parse (here: one with a marker-like line) is no base:
            // then every element either side has is kept, as documented.
            let usable = bt
                .as_deref()
                .is_some_and(|b| markers::first_marker(b).is_none());
            let (bl, bd, bk) = match &base {
                Some(b) if usable => (labels(b), deps(b), extra_keys(b)),
                _ => Default::default(),
            };
            for l in labels(&ours).union(&labels(&theirs)) {
                if !bl.contains(l) {
                    assert!(got_labels.contains(l), "label {l} added on a side was lost");
                }
            }
            for l in &bl {
                let removed = !labels(&ours).contains(l) || !labels(&theirs).contains(l);
                assert_eq!(got_labels.contains(l), !removed, "label {l}");
            }
            for d in deps(&ours).union(&deps(&theirs)) {
                if !bd.contains(d) {
                    assert!(
                        got_deps.contains(d),
                        "dependency {d:?} added on a side was lost"
                    );
                }
            }
            for k in extra_keys(&ours).union(&extra_keys(&theirs)) {
                if !bk.contains(k) {
                    assert!(merged.contains_key(k), "field {k} added on a side was lost");
                }
            }
        }
    }
});
