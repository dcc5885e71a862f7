//! Reading an `issues.jsonl` export, line by line. Every line is checked on its own and a
//! bad one becomes a [`Problem`] naming its line, so that all of them are reported at once.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::bead::is_timestamp;

/// The fields beads (`bd`) and beads_rust (`br`) write for an issue. Anything else is
/// refused: a field forge does not know may carry work it would silently drop.
const ISSUE_FIELDS: &[&str] = &[
    "id",
    "title",
    "description",
    "design",
    "acceptance_criteria",
    "notes",
    "status",
    "priority",
    "issue_type",
    "assignee",
    "owner",
    "estimated_minutes",
    "created_at",
    "created_by",
    "updated_at",
    "closed_at",
    "close_reason",
    "closed_by_session",
    "due_at",
    "defer_until",
    "external_ref",
    "source_system",
    "source_repo",
    "source_repo_path",
    "agent_context",
    "content_hash",
    "deleted_at",
    "deleted_by",
    "delete_reason",
    "original_type",
    "compaction_level",
    "compacted_at",
    "compacted_at_commit",
    "original_size",
    "sender",
    "ephemeral",
    "pinned",
    "is_template",
    "labels",
    "dependencies",
    "comments",
    // bd's coordination fields (molecules, gates, agents, events).
    "bonded_from",
    "creator",
    "validations",
    "await_type",
    "await_id",
    "timeout",
    "waiters",
    "source_formula",
    "source_location",
    "hook_bead",
    "role_bead",
    "agent_state",
    "last_activity",
    "role_type",
    "rig",
    "mol_type",
    "event_kind",
    "actor",
    "target",
    "payload",
];
const DEPENDENCY_FIELDS: &[&str] = &[
    "issue_id",
    "depends_on_id",
    "type",
    "created_at",
    "created_by",
    "metadata",
    "thread_id",
];
const COMMENT_FIELDS: &[&str] = &["id", "issue_id", "author", "text", "created_at"];

/// What is wrong with one line of the file (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: usize,
    /// The issue's id, when the line has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message: String,
}

/// One issue as the export holds it; only what the import uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Issue {
    pub line: usize,
    pub id: String,
    pub title: String,
    pub description: String,
    pub design: String,
    pub acceptance_criteria: String,
    pub notes: String,
    pub status: String,
    pub priority: u8,
    pub issue_type: String,
    pub labels: Vec<String>,
    pub deps: Vec<IssueDep>,
    pub comments: Vec<Comment>,
    pub created_at: Option<String>,
    pub closed_at: Option<String>,
    pub close_reason: String,
    /// Fields forge has no place for, kept in the bead's body: (name, value).
    pub other: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueDep {
    pub target: String,
    /// As written: `blocks`, `parent-child`, `related`, ...
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comment {
    pub author: String,
    pub text: String,
    pub created_at: String,
}

/// Every line of `bytes`, in order: an issue, or what is wrong with it. Blank lines are
/// skipped.
pub fn parse(bytes: &[u8]) -> Vec<Result<Issue, Problem>> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, raw)| !raw.iter().all(u8::is_ascii_whitespace))
        .map(|(i, raw)| {
            parse_line(i + 1, raw).map_err(|message| Problem {
                line: i + 1,
                id: id_of(raw),
                message,
            })
        })
        .collect()
}

/// The id of a line that is a JSON object with a usable string `id`, however wrong the
/// rest is: an issue that depends on it can then name the line.
fn id_of(raw: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(raw).ok()?;
    let id = value.get("id")?.as_str()?;
    check_id(id, "id").ok()?;
    (!id.is_empty()).then(|| id.to_owned())
}

fn parse_line(line: usize, raw: &[u8]) -> Result<Issue, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "the line is not UTF-8 text".to_owned())?;
    let text = text.trim();
    if ["<<<<<<<", "=======", ">>>>>>>", "|||||||"]
        .iter()
        .any(|m| text.starts_with(m))
    {
        return Err("an unresolved git conflict marker".into());
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("not JSON: {e}").replace(" at line 1 column", " at column"))?;
    let Value::Object(map) = value else {
        return Err("not a JSON object (one issue per line)".into());
    };
    unknown(&map, ISSUE_FIELDS, "")?;
    let id = string(&map, "id")?;
    if id.is_empty() {
        return Err("the issue has no id".into());
    }
    check_id(&id, "id")?;
    let title = string(&map, "title")?.trim().to_owned();
    if title.is_empty() {
        return Err(format!("issue {id} has no title"));
    }
    let priority = match map.get("priority") {
        None | Some(Value::Null) => 2,
        Some(v) => v
            .as_u64()
            .filter(|p| *p <= u64::from(crate::bead::MAX_PRIORITY))
            .map(|p| p as u8)
            .ok_or_else(|| format!("priority {v} is not a number from 0 to 4"))?,
    };
    let mut other = Vec::new();
    for key in ["assignee", "owner", "created_by", "external_ref", "due_at"] {
        let v = string(&map, key)?;
        // br writes "unknown" when it does not know who created an issue.
        if !v.is_empty() && v != "unknown" {
            other.push((key, v));
        }
    }
    if let Some(minutes) = map.get("estimated_minutes").filter(|v| !v.is_null()) {
        other.push(("estimated_minutes", minutes.to_string()));
    }
    Ok(Issue {
        line,
        title,
        description: string(&map, "description")?,
        design: string(&map, "design")?,
        acceptance_criteria: string(&map, "acceptance_criteria")?,
        notes: string(&map, "notes")?,
        status: or(string(&map, "status")?, "open"),
        priority,
        issue_type: or(string(&map, "issue_type")?, "task"),
        labels: labels(&map)?,
        deps: deps(&map, &id)?,
        comments: comments(&map)?,
        created_at: timestamp(&map, "created_at")?,
        closed_at: timestamp(&map, "closed_at")?,
        close_reason: string(&map, "close_reason")?,
        other,
        id,
    })
}

/// Ids end up in labels and messages: nothing that could break a line or a terminal.
fn check_id(id: &str, what: &str) -> Result<(), String> {
    if id.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{what} \"{}\" contains whitespace or a control character",
            id.escape_default()
        ));
    }
    Ok(())
}

fn or(s: String, default: &str) -> String {
    if s.is_empty() { default.to_owned() } else { s }
}

/// Refuses fields of `map` that are not in `known`; `place` says where (`dependencies[0]`).
fn unknown(map: &Map<String, Value>, known: &[&str], place: &str) -> Result<(), String> {
    let extra: Vec<String> = map
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| format!("\"{}\"", k.escape_default()))
        .collect();
    if extra.is_empty() {
        return Ok(());
    }
    let s = if extra.len() == 1 { "" } else { "s" };
    let place = if place.is_empty() {
        String::new()
    } else {
        format!(" in {place}")
    };
    Err(format!(
        "unknown field{s} {}{place}: not a field beads or beads_rust writes",
        extra.join(", ")
    ))
}

/// A string field; absent or null is empty.
fn string(map: &Map<String, Value>, key: &str) -> Result<String, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!("{key} must be a string, not {v}")),
    }
}

fn timestamp(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    let s = string(map, key)?;
    if s.is_empty() {
        return Ok(None);
    }
    if !is_timestamp(&s) {
        return Err(format!(
            "{key} \"{}\" is not an RFC 3339 timestamp",
            s.escape_default()
        ));
    }
    Ok(Some(s))
}

fn array<'m>(map: &'m Map<String, Value>, key: &str) -> Result<&'m [Value], String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(v) => Err(format!("{key} must be a list, not {v}")),
    }
}

fn labels(map: &Map<String, Value>) -> Result<Vec<String>, String> {
    array(map, "labels")?
        .iter()
        .map(|l| match l {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            other => Err(format!("labels must be non-empty strings, not {other}")),
        })
        .collect()
}

fn object<'v>(v: &'v Value, place: &str) -> Result<&'v Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{place} must be an object, not {v}"))
}

fn deps(map: &Map<String, Value>, id: &str) -> Result<Vec<IssueDep>, String> {
    let mut out: Vec<IssueDep> = Vec::new();
    for (i, v) in array(map, "dependencies")?.iter().enumerate() {
        let place = format!("dependencies[{i}]");
        let dep = object(v, &place)?;
        unknown(dep, DEPENDENCY_FIELDS, &place)?;
        let source = string(dep, "issue_id")?;
        if !source.is_empty() && source != id {
            return Err(format!(
                "{place} belongs to issue {source}, not to this issue ({id})"
            ));
        }
        let target = string(dep, "depends_on_id")?;
        if target.is_empty() {
            return Err(format!("{place} has no depends_on_id"));
        }
        check_id(&target, &format!("{place}: depends_on_id"))?;
        if target == id {
            return Err(format!("{place}: the issue depends on itself"));
        }
        let kind = or(string(dep, "type")?, "blocks");
        let dep = IssueDep { target, kind };
        if !out.contains(&dep) {
            out.push(dep);
        }
    }
    Ok(out)
}

fn comments(map: &Map<String, Value>) -> Result<Vec<Comment>, String> {
    array(map, "comments")?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let place = format!("comments[{i}]");
            let c = object(v, &place)?;
            unknown(c, COMMENT_FIELDS, &place)?;
            Ok(Comment {
                author: string(c, "author")?,
                text: string(c, "text")?,
                created_at: string(c, "created_at")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Issue, Problem> {
        parse(line.as_bytes()).remove(0)
    }

    fn problem(line: &str) -> String {
        one(line).unwrap_err().message
    }

    #[test]
    fn reads_the_fields_the_import_uses() {
        let issue = one(
            r#"{"id":"bd-1","title":" Fix it ","description":"d","design":"g","acceptance_criteria":"a","notes":"n","status":"closed","priority":0,"issue_type":"bug","labels":["x"],"created_at":"2026-12-05T06:52:58.908334415Z","closed_at":"2026-12-06T00:00:00Z","close_reason":"done","assignee":"bob","created_by":"unknown","dependencies":[{"issue_id":"bd-1","depends_on_id":"bd-2","type":"blocks"},{"issue_id":"bd-1","depends_on_id":"bd-2","type":"blocks"}],"comments":[{"id":1,"issue_id":"bd-1","author":"ann","text":"hi","created_at":"2026-12-05T00:00:00Z"}]}"#,
        )
        .unwrap();
        assert_eq!(issue.title, "Fix it");
        assert_eq!(issue.priority, 0);
        assert_eq!(issue.status, "closed");
        assert_eq!(issue.close_reason, "done");
        assert_eq!(
            issue.deps,
            [IssueDep {
                target: "bd-2".into(),
                kind: "blocks".into()
            }],
            "a repeated dependency is kept once"
        );
        assert_eq!(issue.comments[0].author, "ann");
        assert_eq!(issue.other, [("assignee", "bob".to_owned())]);
    }

    #[test]
    fn defaults_follow_beads() {
        let issue = one(r#"{"id":"bd-1","title":"t"}"#).unwrap();
        assert_eq!(
            (
                issue.status.as_str(),
                issue.priority,
                issue.issue_type.as_str()
            ),
            ("open", 2, "task")
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_line_numbers_kept() {
        let lines = parse(b"\n{\"id\":\"a\",\"title\":\"t\"}\n  \n{oops\n");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].as_ref().unwrap().line, 2);
        assert_eq!(lines[1].as_ref().unwrap_err().line, 4);
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let cases = [
            ("{oops", "not JSON: key must be a string at column 2"),
            ("[1]", "not a JSON object"),
            ("<<<<<<< HEAD", "git conflict marker"),
            (
                r#"{"id":"a","title":"t","colour":"red","size":1}"#,
                "unknown fields \"colour\", \"size\": not a field beads",
            ),
            (
                r#"{"id":"a","title":"t","dependencies":[{"depends_on_id":"b","type":"blocks","weight":2}]}"#,
                "unknown field \"weight\" in dependencies[0]",
            ),
            (r#"{"title":"t"}"#, "the issue has no id"),
            (r#"{"id":"a b","title":"t"}"#, "contains whitespace"),
            (r#"{"id":"a","title":"  "}"#, "issue a has no title"),
            (
                r#"{"id":"a","title":"t","priority":7}"#,
                "priority 7 is not a number from 0 to 4",
            ),
            (
                r#"{"id":"a","title":"t","priority":"high"}"#,
                "priority \"high\" is not",
            ),
            (
                r#"{"id":"a","title":"t","labels":"x"}"#,
                "labels must be a list",
            ),
            (
                r#"{"id":"a","title":"t","created_at":"yesterday"}"#,
                "created_at \"yesterday\" is not an RFC 3339 timestamp",
            ),
            (
                r#"{"id":"a","title":"t","dependencies":[{"depends_on_id":"a"}]}"#,
                "depends on itself",
            ),
            (
                r#"{"id":"a","title":"t","dependencies":[{"issue_id":"z","depends_on_id":"b"}]}"#,
                "belongs to issue z",
            ),
            (
                r#"{"id":"a","title":"t","dependencies":[{"type":"blocks"}]}"#,
                "has no depends_on_id",
            ),
        ];
        for (line, want) in cases {
            let got = problem(line);
            assert!(got.contains(want), "{line}: {got}");
        }
        assert!(
            parse(b"{\"id\":\"a\",\"title\":\"\xff\"}")[0]
                .as_ref()
                .unwrap_err()
                .message
                .contains("not UTF-8")
        );
    }

    #[test]
    fn the_real_br_export_parses() {
        let bytes = include_bytes!("../../../fixtures/beads/br-0.7.6-issues.jsonl");
        let issues: Vec<Issue> = parse(bytes).into_iter().map(Result::unwrap).collect();
        assert_eq!(issues.len(), 9);
        let d5v = issues.iter().find(|i| i.id == "shop-d5v").unwrap();
        assert_eq!(d5v.status, "in_progress");
        assert_eq!(d5v.labels, ["backend", "money"]);
        assert_eq!(d5v.deps[0].kind, "parent-child");
    }
}
