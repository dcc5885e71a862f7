//! The assumptions registry: every unknown an agent (or a planner, or a person) had to
//! guess, one TOML file each under `.forge/assumptions/<id>.toml`, so someone can check it.

pub mod ops;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bead::Risk;
use crate::error::{Error, Result};
use crate::redact::Redactor;
use crate::store::parse::{check_schema, parse_toml, read_to_string};
use crate::store::{Layout, atomic_write, is_scratch_name};

pub const PREFIX: &str = "as-";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssumptionStatus {
    Open,
    Validated,
    Invalidated,
}

impl AssumptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AssumptionStatus::Open => "open",
            AssumptionStatus::Validated => "validated",
            AssumptionStatus::Invalidated => "invalidated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assumption {
    pub schema: i64,
    pub id: String,
    pub text: String,
    pub status: AssumptionStatus,
    pub risk: Risk,
    /// The bead that rests on it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bead: String,
    /// Further beads that rest on it (a plan's items).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beads: Vec<String>,
    /// The step that raised it, when an agent did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub step: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mitigation: String,
    /// A bead created to check or remove the assumption.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mitigation_bead: String,
    pub author: String,
    pub created: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resolved: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resolved_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(flatten)]
    pub extra: toml::Table,
}

pub fn path(layout: &Layout, id: &str) -> std::path::PathBuf {
    layout.assumptions().join(format!("{id}.toml"))
}

impl Assumption {
    pub fn load(path: &Path) -> Result<Assumption> {
        let text = read_to_string(path)?;
        let a: Assumption = parse_toml(path, &text)?;
        check_schema(path, a.schema)?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem != a.id {
            return Err(Error::InvalidFile {
                path: path.to_owned(),
                message: format!("the file is named {stem} but holds assumption '{}'", a.id),
                hint: "rename the file to <id>.toml or restore it from git; forge changed nothing"
                    .into(),
            });
        }
        Ok(a)
    }

    /// The file text, redacted.
    pub fn text(&self, redactor: &Redactor) -> String {
        let mut value = toml::Value::try_from(self).expect("an assumption always serialises");
        redactor.redact_toml(&mut value);
        toml::to_string(&value).expect("a TOML table always serialises")
    }

    pub fn save(&self, layout: &Layout, redactor: &Redactor) -> Result<()> {
        atomic_write(&path(layout, &self.id), self.text(redactor).as_bytes())
    }
}

/// Every assumption, oldest first.
pub fn load_all(layout: &Layout) -> Result<Vec<Assumption>> {
    let dir = layout.assumptions();
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") && !is_scratch_name(&name) {
            out.push(Assumption::load(&entry.path())?);
        }
    }
    out.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Resolves an assumption id or unique prefix (with or without `as-`).
pub fn resolve(all: &[Assumption], input: &str) -> Result<Assumption> {
    let lower = input.trim().to_ascii_lowercase();
    let wanted = if lower.starts_with(PREFIX) {
        lower
    } else {
        format!("{PREFIX}{lower}")
    };
    if let Some(a) = all.iter().find(|a| a.id == wanted) {
        return Ok(a.clone());
    }
    let matches: Vec<&Assumption> = all.iter().filter(|a| a.id.starts_with(&wanted)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::UnknownId {
            id: input.to_owned(),
            suggestion: None,
        }),
        many => Err(Error::AmbiguousId {
            prefix: input.to_owned(),
            candidates: many.iter().map(|a| a.id.clone()).collect(),
        }),
    }
}
