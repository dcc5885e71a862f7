//! How a beads issue becomes a forge bead: kinds, statuses, dependency types, the body.

use super::parse::Issue;
use crate::bead::{DepKind, Kind, Status};

/// The label that keeps an issue's beads id on its bead: `beads:<id>`. It is how a second
/// import recognises what the first one created, and what `forge bead list --label` finds.
pub const ID_LABEL: &str = "beads:";
/// The label for an issue type forge has no kind for: `beads-type:<type>`.
pub const TYPE_LABEL: &str = "beads-type:";

/// Where an issue's status puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Bead(Status),
    /// Deleted in beads (`tombstone`): not imported.
    Deleted,
}

/// `open`, `in_progress`, `blocked` and `hooked` are open (forge derives blocked and in
/// progress itself); `deferred`, `draft` and `pinned` stay out of the ready queue as
/// deferred; `closed` is closed; `tombstone` is not imported.
pub fn fate(status: &str) -> Result<Fate, String> {
    Ok(match status.to_ascii_lowercase().as_str() {
        "open" | "in_progress" | "inprogress" | "blocked" | "hooked" => Fate::Bead(Status::Open),
        "deferred" | "draft" | "pinned" => Fate::Bead(Status::Deferred),
        "closed" => Fate::Bead(Status::Closed),
        "tombstone" => Fate::Deleted,
        other => {
            return Err(format!(
                "status \"{}\" is not one forge can map (open, in_progress, blocked, hooked, \
                 deferred, draft, pinned, closed, tombstone)",
                other.escape_default()
            ));
        }
    })
}

/// The kind for an issue type, and for a type forge has no kind for (docs, question, ...),
/// `task` with a `beads-type:` label.
pub fn kind(issue_type: &str) -> (Kind, Option<String>) {
    let lower = issue_type.to_ascii_lowercase();
    match lower.parse::<Kind>() {
        Ok(kind) => (kind, None),
        Err(_) => (Kind::Task, Some(format!("{TYPE_LABEL}{lower}"))),
    }
}

/// The forge dependency type for a beads one, and whether the beads name must be kept
/// beside it (the mapping loses something). `None`: a type forge cannot map.
pub fn dep_kind(kind: &str) -> Option<(DepKind, bool)> {
    Some(match kind.to_ascii_lowercase().as_str() {
        "blocks" => (DepKind::Blocks, false),
        "parent-child" => (DepKind::Parent, false),
        "related" => (DepKind::Related, false),
        "discovered-from" => (DepKind::DiscoveredFrom, false),
        // beads counts these as blocking, so forge waits for them too.
        "conditional-blocks" | "waits-for" => (DepKind::Blocks, true),
        "relates-to" | "replies-to" | "duplicates" | "supersedes" | "caused-by" => {
            (DepKind::Related, true)
        }
        _ => return None,
    })
}

/// The bead's labels: the issue's own, its `beads:<id>`, and a `beads-type:` label if any.
pub fn labels(issue: &Issue, type_label: Option<String>) -> Vec<String> {
    let mut out = issue.labels.clone();
    out.push(format!("{ID_LABEL}{}", issue.id));
    out.extend(type_label);
    let mut seen = std::collections::HashSet::new();
    out.retain(|l| seen.insert(l.clone()));
    out
}

/// The acceptance criteria as a list: one per item when the text is a Markdown list
/// (`- x`, `* x`, `- [ ] x`, `1. x`), otherwise the whole text as one criterion.
pub fn acceptance(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    let items: Option<Vec<String>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| list_item(l.trim()).map(str::to_owned))
        .collect();
    match items {
        Some(items) if items.iter().all(|i| !i.is_empty()) => items,
        _ => vec![text.to_owned()],
    }
}

fn list_item(line: &str) -> Option<&str> {
    let rest = ["- ", "* ", "+ "]
        .iter()
        .find_map(|m| line.strip_prefix(m))
        .or_else(|| {
            let digits = line.bytes().take_while(u8::is_ascii_digit).count();
            (digits > 0)
                .then(|| {
                    line[digits..]
                        .strip_prefix(". ")
                        .or(line[digits..].strip_prefix(") "))
                })
                .flatten()
        })?;
    let rest = ["[ ] ", "[x] ", "[X] "]
        .iter()
        .find_map(|m| rest.strip_prefix(m))
        .unwrap_or(rest);
    Some(rest.trim())
}

/// The bead's description: the issue's description, design, notes and comments, each under
/// its own heading, then what forge has no field for under "Imported from beads".
pub fn body(issue: &Issue) -> String {
    let mut sections: Vec<(&str, String)> = [
        ("Description", &issue.description),
        ("Design", &issue.design),
        ("Notes", &issue.notes),
    ]
    .into_iter()
    .filter(|(_, text)| !text.trim().is_empty())
    .map(|(heading, text)| (heading, text.trim().to_owned()))
    .collect();
    if !issue.comments.is_empty() {
        let comments: Vec<String> = issue
            .comments
            .iter()
            .map(|c| {
                let who = if c.author.is_empty() {
                    "someone"
                } else {
                    &c.author
                };
                let when = if c.created_at.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.created_at)
                };
                format!("- {who}{when}: {}", c.text.trim().replace('\n', "\n  "))
            })
            .collect();
        sections.push(("Comments", comments.join("\n")));
    }
    let mut origin = vec![
        format!("- id: {}", issue.id),
        format!("- status: {}", issue.status),
        format!("- type: {}", issue.issue_type),
    ];
    origin.extend(
        issue
            .other
            .iter()
            .map(|(key, value)| format!("- {}: {value}", key.replace('_', " "))),
    );
    sections.push(("Imported from beads", origin.join("\n")));
    sections
        .iter()
        .map(|(heading, text)| format!("## {heading}\n\n{text}\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::parse::Comment;
    use super::*;

    #[test]
    fn statuses() {
        for (s, want) in [
            ("open", Fate::Bead(Status::Open)),
            ("in_progress", Fate::Bead(Status::Open)),
            ("blocked", Fate::Bead(Status::Open)),
            ("deferred", Fate::Bead(Status::Deferred)),
            ("closed", Fate::Bead(Status::Closed)),
            ("tombstone", Fate::Deleted),
        ] {
            assert_eq!(fate(s), Ok(want), "{s}");
        }
        assert!(
            fate("waiting-on-legal")
                .unwrap_err()
                .contains("not one forge")
        );
    }

    #[test]
    fn kinds_and_dependency_types() {
        assert_eq!(kind("epic"), (Kind::Epic, None));
        assert_eq!(kind("Bug"), (Kind::Bug, None));
        assert_eq!(kind("docs"), (Kind::Task, Some("beads-type:docs".into())));
        assert_eq!(dep_kind("parent-child"), Some((DepKind::Parent, false)));
        assert_eq!(dep_kind("waits-for"), Some((DepKind::Blocks, true)));
        assert_eq!(dep_kind("supersedes"), Some((DepKind::Related, true)));
        assert_eq!(dep_kind("tickles"), None);
    }

    #[test]
    fn acceptance_lists_are_split_and_prose_is_kept_whole() {
        assert_eq!(
            acceptance("- [ ] parses\n- [x] prints\n\n3. exits 0"),
            ["parses", "prints", "exits 0"]
        );
        assert_eq!(
            acceptance("passes 100 runs\nin a row"),
            ["passes 100 runs\nin a row"]
        );
        assert_eq!(acceptance("- one\nand more"), ["- one\nand more"]);
        assert!(acceptance("  ").is_empty());
    }

    #[test]
    fn the_body_has_a_heading_per_section() {
        let issue = Issue {
            id: "bd-1".into(),
            status: "in_progress".into(),
            issue_type: "task".into(),
            description: "Do it.\n".into(),
            notes: "Mind the cache.".into(),
            comments: vec![Comment {
                author: "ann".into(),
                text: "first\nsecond".into(),
                created_at: "2026-12-05T00:00:00Z".into(),
            }],
            other: vec![("external_ref", "gh-9".into())],
            ..Issue::default()
        };
        assert_eq!(
            body(&issue),
            "## Description\n\nDo it.\n\n## Notes\n\nMind the cache.\n\n## Comments\n\n\
             - ann (2026-12-05T00:00:00Z): first\n  second\n\n## Imported from beads\n\n\
             - id: bd-1\n- status: in_progress\n- type: task\n- external ref: gh-9\n"
        );
    }

    #[test]
    fn labels_keep_the_beads_id_once() {
        let issue = Issue {
            id: "bd-1".into(),
            labels: vec!["ui".into(), "beads:bd-1".into()],
            ..Issue::default()
        };
        assert_eq!(
            labels(&issue, Some("beads-type:docs".into())),
            ["ui", "beads:bd-1", "beads-type:docs"]
        );
    }
}
