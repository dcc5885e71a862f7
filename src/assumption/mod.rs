//! The assumptions registry: every unknown an agent (or a planner, or a person) had to
//! guess, one TOML file each under `.forge/assumptions/<id>.toml`, so someone can check it.

pub mod ops;
pub mod outbox;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bead::Risk;
use crate::error::{Error, Result};
use crate::redact::Redactor;
use crate::store::Layout;
use crate::store::document::{self, Document};

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
    document::path::<Assumption>(layout, id)
}

impl Document for Assumption {
    const WHAT: &'static str = "assumption";
    fn dir(layout: &Layout) -> std::path::PathBuf {
        layout.assumptions()
    }
    fn schema(&self) -> i64 {
        self.schema
    }
    fn id(&self) -> &str {
        &self.id
    }
}

impl Assumption {
    pub fn load(path: &Path) -> Result<Assumption> {
        document::load(path)
    }

    /// The file text, redacted.
    pub fn text(&self, redactor: &Redactor) -> String {
        document::render(self, redactor)
    }

    pub fn save(&self, layout: &Layout, redactor: &Redactor) -> Result<()> {
        document::save(self, layout, redactor)
    }
}

/// Every assumption, oldest first.
pub fn load_all(layout: &Layout) -> Result<Vec<Assumption>> {
    let mut out: Vec<Assumption> = document::load_all(layout)?;
    out.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Resolves an assumption id or unique prefix (with or without `as-`). An empty one
/// (nothing but spaces, or `as-` alone) is a usage error, never a prefix of every one.
pub fn resolve(all: &[Assumption], input: &str) -> Result<Assumption> {
    crate::bead::id::check_input(input, PREFIX, "assumption")?;
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
