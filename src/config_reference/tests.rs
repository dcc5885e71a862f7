//! Tests that hold the config reference to the config structs, their defaults and examples.

use super::*;
use crate::config::Config;
use std::collections::{BTreeMap, BTreeSet};

/// The name of a section in `Config`'s fields: `step`, `harness`, `gates`, `prices`; None
/// at the top level.
fn field(section: &Section) -> Option<&'static str> {
    match section.header {
        "" => None,
        "[prices.\"MODEL\"]" => Some("prices"),
        "[harness.NAME]" => Some("harness"),
        "[harness.NAME.permissions]" => Some("harness.permissions"),
        "[[gates]]" => Some("gates"),
        h => Some(h.trim_matches(['[', ']'])),
    }
}

/// A table header for `section` in a file.
fn header(section: &Section) -> String {
    match section.header {
        "[harness.NAME]" => "[harness.example]".into(),
        "[harness.NAME.permissions]" => "[harness.example.permissions]".into(),
        "[prices.\"MODEL\"]" => "[prices.\"claude-sonnet-4-5\"]".into(),
        h => h.into(),
    }
}

/// A configuration: the required keys with their examples, plus `with` (section
/// header, key, value) and without the key `without`.
fn document(
    with: Option<(&str, &str, &str)>,
    without: Option<(&str, &str)>,
    all_examples: bool,
) -> String {
    let mut text = String::new();
    for section in SECTIONS {
        let mut body = String::new();
        for k in section.keys {
            if without == Some((section.header, k.key)) {
                continue;
            }
            let value = match with {
                Some((h, key, v)) if h == section.header && key == k.key => Some(v),
                // The acp preset takes every harness key (acp_fs and permissions only it).
                _ if section.header == "[harness.NAME]" && k.key == "preset" => Some("\"acp\""),
                _ if all_examples || k.default == Required => Some(k.example),
                _ => None,
            };
            if let Some(v) = value {
                body.push_str(&format!("{} = {v}\n", k.key));
            }
        }
        if section.header.is_empty() {
            text.insert_str(0, &body);
        } else if !body.is_empty() || section.keys.iter().any(|k| k.default == Required) {
            text.push_str(&format!("\n{}\n{body}", header(section)));
        }
    }
    text
}

fn load(text: &str) -> crate::Result<Config> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path)?;
    crate::ledger::cost::Prices::from_config(&config, &path)?;
    Ok(config)
}

/// Field paths (`step.harness`, `gates.run`) of a config, from its `{:#?}` output:
/// every struct field, whatever its value.
fn debug_fields(config: &Config) -> BTreeSet<String> {
    let text = format!("{config:#?}");
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out = BTreeSet::new();
    for l in text.lines().skip(1) {
        let indent = l.len() - l.trim_start().len();
        let Some((name, value)) = l.trim_start().split_once(": ") else {
            continue;
        };
        if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') || name.is_empty() {
            continue; // a map's quoted key
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let mut path: Vec<&str> = stack.iter().map(|(_, n)| n.as_str()).collect();
        path.push(name);
        out.insert(path.join("."));
        if value.ends_with(['{', '[', '(']) {
            stack.push((indent, name.to_owned()));
        }
    }
    out
}

#[test]
fn every_field_is_documented_and_every_documented_key_is_a_field() {
    let config = load(&document(None, None, true)).expect("the examples load");
    let fields: BTreeSet<String> = debug_fields(&config)
        .into_iter()
        .filter(|p| p != "rest" && !p.starts_with("rest.") && p.matches('.').count() < 2)
        .collect();
    let mut documented = BTreeSet::new();
    for section in SECTIONS {
        match (section.header, field(section)) {
            ("", _) => documented.extend(section.keys.iter().map(|k| k.key.to_owned())),
            // A nested table's keys are not among the fields compared here: its struct
            // refuses unknown keys, so every documented one loads (the next test).
            (_, Some(f)) if f.contains('.') => {
                documented.insert(f.to_owned());
            }
            (_, Some(f)) => {
                documented.insert(f.to_owned());
                documented.extend(section.keys.iter().map(|k| format!("{f}.{}", k.key)));
            }
            (_, None) => {}
        }
    }
    assert!(fields.contains("harness.home_files"), "{fields:?}");
    let missing: Vec<_> = fields.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "config fields missing from the reference in src/config_reference/mod.rs: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&fields).collect();
    assert!(
        extra.is_empty(),
        "documented keys that are no fields: {extra:?}"
    );
    // Every documented section is typed: nothing is left among the unknown tables.
    assert!(config.rest.is_empty(), "{:?}", config.rest);
}

#[test]
fn every_example_loads_and_every_required_key_is_required() {
    load(&document(None, None, false)).expect("the required keys alone load");
    load(EXAMPLE).expect("EXAMPLE loads");
    for section in SECTIONS {
        for k in section.keys {
            let text = document(Some((section.header, k.key, k.example)), None, false);
            if let Err(e) = load(&text) {
                panic!("{} {} = {}: {e}\n{text}", section.header, k.key, k.example);
            }
            if k.default == Required {
                let text = document(None, Some((section.header, k.key)), false);
                assert!(
                    load(&text).is_err(),
                    "{} {} is documented as required:\n{text}",
                    section.header,
                    k.key
                );
            }
        }
    }
}

/// Setting a key to its documented default changes nothing.
#[test]
fn documented_defaults_are_the_defaults() {
    let base = format!("{:?}", load(&document(None, None, false)).unwrap());
    let mut checked = 0;
    for section in SECTIONS {
        for k in section.keys {
            if let Value(v) = k.default {
                let text = document(Some((section.header, k.key, v)), None, false);
                let with = format!("{:?}", load(&text).unwrap());
                assert_eq!(
                    with, base,
                    "{} {}: the default is not {v}",
                    section.header, k.key
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 15, "{checked}");
}

/// The commented file `forge init` writes names only documented keys, with their
/// documented defaults.
#[test]
fn the_init_template_agrees() {
    let documented: BTreeMap<(String, &str), &Key> = SECTIONS
        .iter()
        .flat_map(|s| {
            s.keys
                .iter()
                .map(move |k| ((s.header.to_owned(), k.key), k))
        })
        .collect();
    let mut section = String::new();
    let mut seen = 0;
    for l in crate::config::DEFAULT_CONFIG.lines() {
        let bare = l.strip_prefix("# ").unwrap_or(l);
        if bare.starts_with('[') {
            section = match bare.trim() {
                h if h.starts_with("[harness.") => "[harness.NAME]".into(),
                h => h.into(),
            };
            continue;
        }
        let Some((key, value)) = bare.split_once(" = ") else {
            continue;
        };
        if !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let k = documented
            .get(&(section.clone(), key))
            .unwrap_or_else(|| panic!("{section} {key} is not documented"));
        seen += 1;
        if l.starts_with('#') {
            continue;
        }
        let default = match k.default {
            Value(v) => v,
            Required => continue,
            Unset(_) => panic!("forge init sets {section} {key}, documented as unset"),
        };
        let parse = |v: &str| toml::from_str::<toml::Table>(&format!("v = {v}")).unwrap();
        assert_eq!(parse(value), parse(default), "{section} {key}");
    }
    assert!(seen > 30, "{seen}");
}

#[test]
fn template_variables_are_the_ones_render_replaces() {
    let bead: crate::bead::Bead = toml::from_str(
        "schema = 1\nid = \"fg-abcd\"\ntitle = \"T\"\nkind = \"task\"\nstatus = \"open\"\n\
             priority = 1\nvalue = 50\nrisk = \"low\"\ncreated = \"2026-11-21T00:00:00Z\"\n\
             updated = \"2026-11-21T00:00:00Z\"\n",
    )
    .unwrap();
    for v in TEMPLATE_VARIABLES {
        let rendered = crate::step::prompt::render(Some(v.name), &bead, &["f".into()]);
        assert_ne!(rendered, v.name, "{} is not replaced", v.name);
    }
    let template = crate::step::prompt::DEFAULT_TEMPLATE;
    for (i, _) in template.match_indices('{') {
        let name = &template[i..=i + template[i..].find('}').unwrap()];
        assert!(
            TEMPLATE_VARIABLES.iter().any(|v| v.name == name),
            "{name} is not documented"
        );
    }
}

#[test]
fn the_man_page_has_every_key() {
    let page = man_page();
    for section in SECTIONS {
        assert!(page.contains(&roff(section.header)), "{}", section.header);
        for k in section.keys {
            assert!(
                page.contains(&format!("\\fB{}\\fR = ", roff(k.key))),
                "{}",
                k.key
            );
        }
    }
    assert!(!page.lines().any(|l| l.starts_with('\'')));
}
