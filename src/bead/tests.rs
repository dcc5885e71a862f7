//! Tests of the bead model: parsing, validation and round trips of bead files.

use super::*;

const SAMPLE: &str = r#"schema = 1
id = "fg-abcd"
title = "Fix the parser"
kind = "bug"
status = "open"
priority = 1
value = 60
risk = "medium"
labels = ["parser"]
author = "Ada <ada@example.com>"
created = "2026-11-21T00:00:00Z"
updated = "2026-11-21T00:00:00Z"
description = ""
acceptance = []
future_field = "kept"

[[deps]]
id = "fg-zzzz"
type = "blocks"
note = "kept too"

[future_table]
x = 1
"#;

#[test]
fn unknown_fields_survive_a_rewrite() {
    let bead = Bead::parse(Path::new("fg-abcd.toml"), SAMPLE).unwrap();
    let text = toml::to_string(&bead.to_toml_value()).unwrap();
    let again = Bead::parse(Path::new("fg-abcd.toml"), &text).unwrap();
    assert_eq!(bead, again);
    assert_eq!(again.extra["future_field"].as_str(), Some("kept"));
    assert_eq!(again.extra["future_table"]["x"].as_integer(), Some(1));
    assert_eq!(again.deps[0].extra["note"].as_str(), Some("kept too"));
}

#[test]
fn keys_are_written_in_a_fixed_order() {
    let bead = Bead::parse(Path::new("fg-abcd.toml"), SAMPLE).unwrap();
    let text = toml::to_string(&bead.to_toml_value()).unwrap();
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
        .collect();
    assert_eq!(&keys[..4], ["schema", "id", "title", "kind"]);
    assert!(text.find("future_field").unwrap() < text.find("[[deps]]").unwrap());
}

#[test]
fn multi_line_descriptions_stay_readable() {
    let mut bead = Bead::parse(Path::new("fg-abcd.toml"), SAMPLE).unwrap();
    bead.description = "line one\nline two".into();
    let text = toml::to_string(&bead.to_toml_value()).unwrap();
    assert!(text.contains("line one\nline two"), "{text}");
}

#[test]
fn name_and_id_must_agree() {
    let err = Bead::parse(Path::new("fg-other.toml"), SAMPLE).unwrap_err();
    assert!(err.to_string().contains("holds bead id 'fg-abcd'"), "{err}");
}

#[test]
fn timestamps_must_be_rfc3339() {
    for ok in [
        "2026-11-21T00:00:00Z",
        "2024-02-29T23:59:60z",
        "2026-11-21t09:00:00.123+02:00",
        "2026-11-21T09:00:00-00:30",
    ] {
        assert!(is_timestamp(ok), "{ok}");
    }
    for bad in [
        "",
        "yesterday",
        "2026-11-21",
        "2026-11-21 09:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-11-21T24:00:00Z",
        "2026-11-21T09:00:00",
        "2026-11-21T09:00:00.Z",
        "2026-11-21T09:00:00+0200",
        "2026-11-21T09:00:00+24:00",
        "2026-11-21T09:00:00Z ",
        "+026-11-21T09:00:00Z",
    ] {
        assert!(!is_timestamp(bad), "{bad}");
    }
}

#[test]
fn bad_timestamps_and_dependency_ids_are_located() {
    let cases = [
        (
            SAMPLE.replace("updated = \"2026-11-21T00:00:00Z\"", "updated = \"soon\""),
            12,
            "updated = \"soon\" is not an RFC 3339",
        ),
        (
            SAMPLE.replace("id = \"fg-zzzz\"", "id = \"../../etc/passwd\""),
            18,
            "dependency id \"../../etc/passwd\" contains a path separator",
        ),
        (
            SAMPLE.replace("id = \"fg-zzzz\"", "id = \"fg-a b\""),
            18,
            "contains whitespace",
        ),
        (
            SAMPLE.replace("id = \"fg-zzzz\"", "id = \"fg-\\u0000\""),
            18,
            "contains a control character",
        ),
        (
            SAMPLE.replace("id = \"fg-zzzz\"", "id = \"fg-..\""),
            18,
            "contains '..'",
        ),
        (
            SAMPLE.replace("id = \"fg-zzzz\"", "id = 'a\\b'"),
            18,
            "contains a path separator",
        ),
    ];
    for (text, want_line, want) in cases {
        match Bead::parse(Path::new("fg-abcd.toml"), &text).unwrap_err() {
            Error::Parse { line, message, .. } => {
                assert_eq!(line, want_line, "{message}");
                assert!(message.contains(want), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn out_of_range_priority_is_refused() {
    let text = SAMPLE.replace("priority = 1", "priority = 9");
    let err = Bead::parse(Path::new("fg-abcd.toml"), &text).unwrap_err();
    assert!(err.to_string().contains("priority 9"), "{err}");
}
