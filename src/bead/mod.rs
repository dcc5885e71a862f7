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

        // Lets `--help` and shell completions offer the values.
        impl clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                Self::ALL
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.as_str()))
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
        if let Some((field, message)) = bead.bad_field() {
            return Err(located(path, text, field, message));
        }
        Ok(bead)
    }

    /// The first field whose value a bead file must not hold: a dependency id with path
    /// characters (ids become file names), a timestamp that is not RFC 3339 (the ready queue
    /// orders by them).
    fn bad_field(&self) -> Option<(Field, String)> {
        let stamps = [
            (Field::Created, "created", Some(&self.created)),
            (Field::Updated, "updated", Some(&self.updated)),
            (Field::Closed, "closed", self.closed.as_ref()),
        ];
        for (field, key, value) in stamps {
            if let Some(v) = value.filter(|v| !is_timestamp(v)) {
                return Some((
                    field,
                    format!(
                        "{key} = \"{}\" is not an RFC 3339 timestamp (like 2026-11-21T09:00:00Z)",
                        v.escape_default()
                    ),
                ));
            }
        }
        self.deps.iter().enumerate().find_map(|(i, d)| {
            dep_id_problem(&d.id).map(|why| {
                (
                    Field::Dep(i),
                    format!(
                        "dependency id \"{}\" {why}: a dependency names a bead id (like fg-3k9x)",
                        d.id.escape_default()
                    ),
                )
            })
        })
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

/// A field of a bead file, for locating a bad value in its text.
#[derive(Debug, Clone, Copy)]
enum Field {
    Created,
    Updated,
    Closed,
    Dep(usize),
}

/// An error at the line and column of `field` in `text` (the file `path`). Only called for a
/// file already found bad, so the second, located parse costs nothing otherwise.
fn located(path: &Path, text: &str, field: Field, message: String) -> Error {
    use toml::Spanned;
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Located {
        created: Option<Spanned<toml::Value>>,
        updated: Option<Spanned<toml::Value>>,
        closed: Option<Spanned<toml::Value>>,
        deps: Vec<LocatedDep>,
    }
    #[derive(Deserialize)]
    struct LocatedDep {
        id: Spanned<toml::Value>,
    }
    let located: Located = toml::from_str(text).unwrap_or_default();
    let span = match field {
        Field::Created => located.created.map(|v| v.span()),
        Field::Updated => located.updated.map(|v| v.span()),
        Field::Closed => located.closed.map(|v| v.span()),
        Field::Dep(i) => located.deps.get(i).map(|d| d.id.span()),
    };
    let (line, column) = span.map_or((1, 1), |s| crate::store::parse::line_col(text, s.start));
    Error::Parse {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// Why `id` cannot be a dependency's id, if it cannot: ids are joined to paths, so nothing
/// that reads as a path (`/`, `\`, `..`), no NUL or other control character, no whitespace.
fn dep_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("is empty")
    } else if id.contains(['/', '\\']) {
        Some("contains a path separator")
    } else if id.contains("..") {
        Some("contains '..'")
    } else if id.contains(char::is_control) {
        Some("contains a control character")
    } else if id.contains(char::is_whitespace) {
        Some("contains whitespace")
    } else {
        None
    }
}

/// Whether `s` is an RFC 3339 date-time: `2026-11-21T09:00:00Z`, with optional fractional
/// seconds and a `Z` or `+hh:mm`/`-hh:mm` offset (forge itself writes the first form).
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .map(|d| d.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && b[13] == b':'
        && b[16] == b':';
    if !shape {
        return false;
    }
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if !(1..=month_days).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return false;
    }
    let mut rest = &b[19..];
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &tail[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
            };
            matches!((two(*h1, *h2), two(*m1, *m2)), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
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
mod tests;
