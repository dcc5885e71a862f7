//! The plan format: what a planner (or a person) writes, in TOML or JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bead::{Kind, Risk};
use crate::error::{Error, Result};
use crate::store::parse::parse_toml;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    Xs,
    S,
    M,
    L,
    Xl,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanAssumption {
    pub key: String,
    pub text: String,
    #[serde(default = "medium")]
    pub risk: Risk,
    #[serde(default)]
    pub mitigation: String,
}

fn medium() -> Risk {
    Risk::Medium
}

fn task() -> Kind {
    Kind::Task
}

fn two() -> u8 {
    2
}

fn fifty() -> u8 {
    50
}

fn low() -> Risk {
    Risk::Low
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanItem {
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "task")]
    pub kind: Kind,
    #[serde(default = "two")]
    pub priority: u8,
    #[serde(default = "fifty")]
    pub value: u8,
    #[serde(default = "low")]
    pub risk: Risk,
    pub size: Size,
    #[serde(default)]
    pub acceptance: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    /// Keys of other items, or ids of existing beads, that must be done first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Keys of the plan's assumptions this item rests on.
    #[serde(default)]
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub goal: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub assumptions: Vec<PlanAssumption>,
    pub items: Vec<PlanItem>,
}

/// Parses a plan from TOML or JSON (JSON when the text starts with `{`), naming the place
/// of any error.
pub fn parse(path: &Path, text: &str) -> Result<Plan> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            Error::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.to_string(),
            }
        });
    }
    parse_toml(path, text)
}

/// The text of a plan in TOML, as forge writes it for editing.
pub fn to_toml(plan: &Plan) -> String {
    toml::to_string(plan).expect("a plan always serialises")
}

/// Finds a fenced ```toml (or ```json) block in free text: planners sometimes answer with
/// the plan instead of writing the file.
pub fn extract_from_text(text: &str) -> Option<String> {
    for fence in ["```toml", "```json"] {
        if let Some(start) = text.find(fence) {
            let body = &text[start + fence.len()..];
            if let Some(end) = body.find("```") {
                return Some(body[..end].trim().to_owned());
            }
        }
    }
    None
}

pub const EXAMPLE: &str = r#"goal = "Let users log in with GitHub"
summary = "OAuth login with PKCE, behind a feature flag."

[[assumptions]]
key = "pkce"
text = "GitHub's OAuth apps support PKCE"
risk = "medium"
mitigation = "check the provider docs before the endpoint work"

[[items]]
key = "users"
title = "Add the users table"
description = "A migration for users(id, github_id, login)."
kind = "task"        # task, bug, feature, epic, chore
priority = 1         # 0 (most urgent) to 4
value = 60           # 0 to 100
risk = "low"         # low, medium, high
size = "s"           # xs, s, m, l (split anything larger)
acceptance = ["the migration applies and rolls back"]
labels = ["db"]
depends_on = []      # other items' keys, or existing bead ids (fg-...)
assumptions = []     # keys from [[assumptions]]

[[items]]
key = "callback"
title = "Handle the OAuth callback"
size = "m"
acceptance = ["a valid code logs the user in", "a forged state is refused"]
depends_on = ["users"]
assumptions = ["pkce"]
"#;

/// JSON Schema of the plan format, for `forge plan --schema`.
pub const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://forge.invalid/schema/plan.json",
  "title": "forge plan",
  "type": "object",
  "additionalProperties": false,
  "required": ["goal", "items"],
  "properties": {
    "goal": { "type": "string", "minLength": 1, "description": "What the plan achieves; becomes the parent bead." },
    "summary": { "type": "string" },
    "assumptions": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["key", "text"],
        "properties": {
          "key": { "type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$" },
          "text": { "type": "string", "minLength": 1 },
          "risk": { "enum": ["low", "medium", "high"], "default": "medium" },
          "mitigation": { "type": "string" }
        }
      }
    },
    "items": {
      "type": "array",
      "minItems": 1,
      "maxItems": 50,
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["key", "title", "size", "acceptance"],
        "properties": {
          "key": { "type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$" },
          "title": { "type": "string", "minLength": 1, "maxLength": 120 },
          "description": { "type": "string", "maxLength": 4000 },
          "kind": { "enum": ["task", "bug", "feature", "epic", "chore"], "default": "task" },
          "priority": { "type": "integer", "minimum": 0, "maximum": 4, "default": 2 },
          "value": { "type": "integer", "minimum": 0, "maximum": 100, "default": 50 },
          "risk": { "enum": ["low", "medium", "high"], "default": "low" },
          "size": { "enum": ["xs", "s", "m", "l"], "description": "xl is refused: split the item." },
          "acceptance": { "type": "array", "minItems": 1, "items": { "type": "string", "minLength": 1 } },
          "labels": { "type": "array", "items": { "type": "string" } },
          "depends_on": { "type": "array", "items": { "type": "string" }, "description": "Keys of other items, or ids of existing beads." },
          "assumptions": { "type": "array", "items": { "type": "string" }, "description": "Keys from assumptions." }
        }
      }
    }
  }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_the_schema_is_json() {
        let plan = parse(Path::new("x.toml"), EXAMPLE).unwrap();
        assert_eq!(plan.items.len(), 2);
        assert_eq!(plan.items[1].depends_on, ["users"]);
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(schema["required"], serde_json::json!(["goal", "items"]));
    }

    #[test]
    fn json_plans_parse_and_errors_are_located() {
        let json = serde_json::to_string(&parse(Path::new("x"), EXAMPLE).unwrap()).unwrap();
        assert_eq!(
            parse(Path::new("x.json"), &json).unwrap().goal,
            "Let users log in with GitHub"
        );
        let err = parse(Path::new("x.json"), "{\n \"goal\": 3 }").unwrap_err();
        assert!(err.to_string().starts_with("x.json:2:"), "{err}");
    }

    #[test]
    fn fenced_plans_are_found_in_text() {
        let text = format!("Here it is:\n```toml\n{EXAMPLE}```\nbye");
        assert!(extract_from_text(&text).unwrap().starts_with("goal ="));
    }
}
