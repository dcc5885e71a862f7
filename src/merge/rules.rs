//! What the field-wise merge does when both sides changed the same field of a bead or an
//! assumption. docs/merge.md is the user-facing copy of these rules; keep them in step.

use toml::Value;

/// Which kind of `.forge/` file is being merged, from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Bead,
    Assumption,
    /// Any other TOML table (checkpoints, files of a newer forge): generic rules only.
    Other,
}

impl FileKind {
    /// From a path such as `.forge/beads/fg-3k9x.toml` (what git passes as `%P`).
    pub fn of_path(path: &str) -> FileKind {
        let mut parts = path.rsplit('/');
        let _file = parts.next();
        match parts.next() {
            Some("beads") => FileKind::Bead,
            Some("assumptions") => FileKind::Assumption,
            _ => FileKind::Other,
        }
    }

    pub(super) fn rules(self) -> &'static Rules {
        match self {
            FileKind::Bead => &BEAD,
            FileKind::Assumption => &ASSUMPTION,
            FileKind::Other => &OTHER,
        }
    }
}

/// How a scalar field changed differently on both sides is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    /// The larger value (later timestamp, newer schema, higher value).
    Max,
    /// The smaller value (earlier timestamp, more urgent priority).
    Min,
    /// The value later in this list.
    Rank(&'static [&'static str]),
    /// A line-by-line merge of the text; where both changed the same lines, a conflict.
    Text,
}

/// Fields that only make sense together (a status and its reason) are taken together from
/// one side.
#[derive(Debug)]
pub(super) struct Group {
    pub keys: &'static [&'static str],
    /// Values of `keys[0]`, lowest precedence first.
    pub ranking: &'static [&'static str],
    /// Between equal ranks, the side whose value of this field is larger wins; then ours.
    pub tiebreak: &'static [&'static str],
}

#[derive(Debug)]
pub(super) struct Rules {
    /// Key order in the written file (the order forge itself writes); other keys follow in
    /// the order they had.
    pub order: &'static [&'static str],
    pub groups: &'static [Group],
    pub scalars: &'static [(&'static str, Scalar)],
}

impl Rules {
    pub fn scalar(&self, key: &str) -> Scalar {
        self.scalars
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(Scalar::Text, |(_, s)| *s)
    }
}

const RISK: &[&str] = &["low", "medium", "high"];

static BEAD: Rules = Rules {
    order: &[
        "schema",
        "id",
        "title",
        "kind",
        "status",
        "reason",
        "priority",
        "value",
        "risk",
        "labels",
        "author",
        "created",
        "updated",
        "closed",
        "description",
        "acceptance",
        "deps",
    ],
    // A concurrent close or deferral is never undone by a merge: the status that lets
    // less work start wins, with its reason and closing time.
    groups: &[Group {
        keys: &["status", "reason", "closed"],
        ranking: &["open", "deferred", "closed"],
        tiebreak: &["updated"],
    }],
    scalars: &[
        ("schema", Scalar::Max),
        ("created", Scalar::Min),
        ("updated", Scalar::Max),
        ("priority", Scalar::Min),
        ("value", Scalar::Max),
        ("risk", Scalar::Rank(RISK)),
    ],
};

static ASSUMPTION: Rules = Rules {
    order: &[
        "schema",
        "id",
        "text",
        "status",
        "risk",
        "bead",
        "step",
        "mitigation",
        "mitigation_bead",
        "author",
        "created",
        "resolved",
        "resolved_by",
        "note",
    ],
    // Finding an assumption false outweighs finding it true.
    groups: &[Group {
        keys: &["status", "resolved", "resolved_by", "note"],
        ranking: &["open", "validated", "invalidated"],
        tiebreak: &["resolved", "updated"],
    }],
    scalars: &[
        ("schema", Scalar::Max),
        ("created", Scalar::Min),
        ("updated", Scalar::Max),
        ("risk", Scalar::Rank(RISK)),
    ],
};

static OTHER: Rules = Rules {
    order: &[],
    groups: &[],
    scalars: &[
        ("schema", Scalar::Max),
        ("created", Scalar::Min),
        ("started", Scalar::Min),
        ("updated", Scalar::Max),
    ],
};

/// What identifies an element of a list, so that both sides' additions and removals can be
/// applied: a dependency is its target and type, a table with an `id` is that id, anything
/// else is its whole value.
pub(super) fn identity(field: &str, value: &Value) -> String {
    if let Value::Table(t) = value {
        let id = t.get("id").and_then(Value::as_str);
        if field == "deps" {
            let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
            if let Some(id) = id {
                return format!("{id} ({kind})");
            }
        } else if let Some(id) = id {
            return id.to_owned();
        }
    }
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Orders two scalars for `Max`/`Min`: numbers as numbers, everything else as text
/// (timestamps are written in one fixed RFC 3339 form, so text order is time order).
pub(super) fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Datetime(x), Value::Datetime(y)) => Some(x.to_string().cmp(&y.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_directory() {
        assert_eq!(
            FileKind::of_path(".forge/beads/fg-3k9x.toml"),
            FileKind::Bead
        );
        assert_eq!(
            FileKind::of_path(".forge/assumptions/as-1.toml"),
            FileKind::Assumption
        );
        assert_eq!(
            FileKind::of_path(".forge/checkpoints/fg-1.1.toml"),
            FileKind::Other
        );
    }
}
