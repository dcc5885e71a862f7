//! Beads: work items with dependencies, one TOML file each under `.forge/beads/`.

pub mod cache;
pub mod columns;
pub mod graph;
pub mod id;
pub mod ops;
pub mod par;
pub mod repo;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::parse::{check_schema, parse_toml};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "'{s}' is not one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(Kind { Task = "task", Bug = "bug", Feature = "feature", Epic = "epic", Chore = "chore" });
string_enum!(Status { Open = "open", Closed = "closed", Deferred = "deferred" });
string_enum!(Risk { Low = "low", Medium = "medium", High = "high" });
string_enum!(
    /// How a bead depends on another. Only `blocks` and `parent` affect readiness.
    DepKind {
        Blocks = "blocks",
        Parent = "parent",
        Related = "related",
        DiscoveredFrom = "discovered-from",
    }
);

pub const MAX_PRIORITY: u8 = 4;
pub const MAX_VALUE: u8 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: DepKind,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// A bead as stored. Field order here is the key order in the file, so keep it stable:
/// a pull request then shows only the lines that really changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bead {
    pub schema: i64,
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub status: Status,
    /// Why the bead has its status (closing reason, deferral reason, reopen feedback).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub priority: u8,
    pub value: u8,
    pub risk: Risk,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub author: String,
    pub created: String,
    pub updated: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub acceptance: Vec<String>,
    #[serde(default)]
    pub deps: Vec<Dep>,
    /// Fields this forge does not know (written by a newer one) survive a rewrite.
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl Bead {
    /// Parses and validates the text of `path`, which must be named after the bead's id.
    pub fn parse(path: &Path, text: &str) -> Result<Bead> {
        let bead: Bead = parse_toml(path, text)?;
        check_schema(path, bead.schema)?;
        let invalid = |message: String, hint: &str| Error::InvalidFile {
            path: path.to_owned(),
            message,
            hint: hint.to_owned(),
        };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem != bead.id {
            return Err(invalid(
                format!("the file is named {stem} but holds bead id '{}'", bead.id),
                "rename the file to <id>.toml or restore it from git; forge changed nothing",
            ));
        }
        if !id::is_valid(&bead.id) {
            return Err(invalid(
                format!("'{}' is not a valid bead id", bead.id),
                "bead ids look like fg-3k9x (lower-case base36 after 'fg-')",
            ));
        }
        if bead.priority > MAX_PRIORITY {
            return Err(invalid(
                format!(
                    "priority {} is out of range 0-{MAX_PRIORITY}",
                    bead.priority
                ),
                "set priority to a number from 0 (most urgent) to 4",
            ));
        }
        if bead.value > MAX_VALUE {
            return Err(invalid(
                format!("value {} is out of range 0-{MAX_VALUE}", bead.value),
                "set value to a number from 0 to 100",
            ));
        }
        Ok(bead)
    }

    /// The TOML text forge writes for this bead (before redaction).
    pub fn to_toml_value(&self) -> toml::Value {
        toml::Value::try_from(self).expect("a bead always serialises")
    }

    pub fn parent(&self) -> Option<&str> {
        self.deps
            .iter()
            .find(|d| d.kind == DepKind::Parent)
            .map(|d| d.id.as_str())
    }

    /// The summary, borrowing from the bead.
    pub fn summary(&self) -> BeadSummary<'_> {
        BeadSummary {
            id: &self.id,
            title: &self.title,
            kind: self.kind,
            status: self.status,
            priority: self.priority,
            value: self.value,
            risk: self.risk,
            labels: self.labels.iter().map(String::as_str).collect(),
            created: &self.created,
            updated: &self.updated,
            deps: self
                .deps
                .iter()
                .map(|d| DepRef {
                    id: &d.id,
                    kind: d.kind,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepRef<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: DepKind,
}

/// What the ready queue, `list` and the graph need of a bead: everything but the long text.
/// This is what the cache holds; its strings borrow from the cache or the bead file read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeadSummary<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub kind: Kind,
    pub status: Status,
    pub priority: u8,
    pub value: u8,
    pub risk: Risk,
    #[serde(borrow)]
    pub labels: Vec<&'a str>,
    pub created: &'a str,
    pub updated: &'a str,
    #[serde(borrow)]
    pub deps: Vec<DepRef<'a>>,
}

#[cfg(test)]
mod tests {
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
    fn out_of_range_priority_is_refused() {
        let text = SAMPLE.replace("priority = 1", "priority = 9");
        let err = Bead::parse(Path::new("fg-abcd.toml"), &text).unwrap_err();
        assert!(err.to_string().contains("priority 9"), "{err}");
    }
}
