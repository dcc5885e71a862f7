//! A [`Review`] as Markdown, short enough for a pull-request comment or a CI job summary:
//! totals first, then one table and a few lines per bead. Long lists are cut with a count
//! of what was left out (`--format json` has everything).

use std::fmt::Write;
use std::sync::LazyLock;

use regex::Regex;

use super::review::{BeadReview, Note, Review, StepReview, short};

/// At most this many beads are drawn in full.
pub const MAX_BEADS: usize = 40;
/// At most this many story lines per bead.
pub const MAX_NOTES: usize = 12;
/// Longer reasons and details are cut, with an ellipsis.
pub const MAX_TEXT: usize = 160;

/// `2m 03s`, `950ms`, `1h 02m`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms}ms"),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Text made safe for one Markdown table cell or list item: one line, no pipes, no HTML
/// (`Ada <ada@example.com>` stays as written), cut short.
fn cell(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut = match one_line.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    };
    cut.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn outcome(st: &StepReview) -> String {
    if let Some(r) = &st.revert_commit {
        return format!("rolled back (revert `{}`)", short(r));
    }
    if st.rolled_back.is_some() {
        return "rolled back".into();
    }
    if let Some(m) = &st.merge_commit {
        return format!("merged `{}`", short(m));
    }
    match st.state.as_deref() {
        Some("awaiting-approval") => "waiting for approval".into(),
        Some("rejected") => "rejected".into(),
        Some("failed") => "failed".into(),
        Some(other) => other.replace('-', " "),
        None => "-".into(),
    }
}

fn gates(st: &StepReview) -> String {
    if st.gates.is_empty() {
        return "-".into();
    }
    st.gates
        .iter()
        .map(|g| format!("{} {}", if g.ok { "✓" } else { "✗" }, cell(&g.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn step_row(out: &mut String, st: &StepReview) {
    let time = if st.runs == 0 {
        "-".into()
    } else {
        duration(st.duration_ms)
    };
    let _ = writeln!(
        out,
        "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
        st.step,
        cell(st.harness.as_deref().unwrap_or("-")),
        cell(st.model.as_deref().unwrap_or("-")),
        time,
        st.usage.tokens,
        st.usage.cost,
        gates(st),
        outcome(st)
    );
}

/// Commit ids (12 or 40 hex digits) in a note, set as code so they stand out and link.
fn commits_as_code(text: &str) -> String {
    static COMMIT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b([0-9a-f]{40}|[0-9a-f]{12})\b").expect("valid regex"));
    COMMIT.replace_all(text, "`$1`").into_owned()
}

fn note_line(out: &mut String, n: &Note) {
    let text = commits_as_code(&cell(&n.text));
    let _ = match &n.step {
        Some(step) => writeln!(out, "- `{step}` {text}"),
        None => writeln!(out, "- {text}"),
    };
}

fn bead(out: &mut String, b: &BeadReview) {
    let _ = match &b.title {
        Some(t) => writeln!(out, "\n#### `{}` {}\n", b.bead, cell(t)),
        None => writeln!(out, "\n#### `{}`\n", b.bead),
    };
    if !b.steps.is_empty() {
        out.push_str("| step | harness | model | time | tokens | cost | gates | outcome |\n");
        out.push_str("|---|---|---|--:|--:|--:|---|---|\n");
        for st in &b.steps {
            step_row(out, st);
        }
        for st in &b.steps {
            if let Some(text) = crate::harness::presets::acp::policy::summary(&st.permissions) {
                let _ = writeln!(out, "\n`{}` permissions: {}", st.step, cell(&text));
            }
        }
        if !b.notes.is_empty() {
            out.push('\n');
        }
    }
    for n in b.notes.iter().take(MAX_NOTES) {
        note_line(out, n);
    }
    if b.notes.len() > MAX_NOTES {
        let _ = writeln!(out, "- … and {} more", b.notes.len() - MAX_NOTES);
    }
}

/// The review as Markdown.
pub fn markdown(r: &Review) -> String {
    let mut out = String::new();
    let range = match &r.range.base {
        Some(base) => format!("{}..{}", short(base), short(&r.range.head)),
        None => format!("the whole history up to {}", short(&r.range.head)),
    };
    let _ = writeln!(out, "### forge ledger review\n");
    let _ = writeln!(
        out,
        "`{}` ({range}): {} commit(s), {} new ledger event(s) in {} file(s).",
        r.range.spec, r.commits, r.events, r.files
    );
    for w in &r.warnings {
        let _ = writeln!(out, "\n> **Warning:** {}", cell(w));
    }
    if r.events == 0 {
        out.push_str("\nNo agent work was recorded in this range.\n");
        return out;
    }
    let t = &r.totals;
    out.push_str("\n| beads | steps | merged | failed | rejected | rolled back | waiting | harness time | tokens | cost |\n");
    out.push_str("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        t.beads,
        t.steps,
        t.merged,
        t.failed,
        t.rejected,
        t.rolled_back,
        t.waiting,
        duration(t.duration_ms),
        t.usage.tokens,
        t.usage.cost
    );
    let tk = &t.usage.tokens;
    if tk.total > 0 {
        let _ = writeln!(
            out,
            "\nTokens: {} input, {} output, {} cache read, {} cache write.",
            super::cost::thousands(tk.input),
            super::cost::thousands(tk.output),
            super::cost::thousands(tk.cache_read),
            super::cost::thousands(tk.cache_write),
        );
    }
    if t.usage.cost.estimated_usd.is_some() {
        out.push_str("Costs marked ~ are estimates from `[prices]` in `.forge/config.toml`.\n");
    }
    for b in r.beads.iter().take(MAX_BEADS) {
        bead(&mut out, b);
    }
    if r.beads.len() > MAX_BEADS {
        let _ = writeln!(
            out,
            "\n… and {} more bead(s); `forge ledger render --format json` lists them all.",
            r.beads.len() - MAX_BEADS
        );
    }
    if !r.assumptions.is_empty() {
        out.push_str("\n#### Assumptions\n\n");
        for n in &r.assumptions {
            note_line(&mut out, n);
        }
    }
    if !r.budget.is_empty() {
        out.push_str("\n#### Budgets and breakers\n\n");
        for n in r.budget.iter().take(MAX_NOTES) {
            let _ = writeln!(out, "- `{}` {}", n.kind, cell(&n.text));
        }
        if r.budget.len() > MAX_NOTES {
            let _ = writeln!(out, "- … and {} more", r.budget.len() - MAX_NOTES);
        }
    }
    if !r.other.is_empty() {
        let other: Vec<String> = r.other.iter().map(|(k, n)| format!("`{k}` ×{n}")).collect();
        let _ = writeln!(out, "\nOther events: {}.", other.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration(950), "950ms");
        assert_eq!(duration(42_000), "42s");
        assert_eq!(duration(123_000), "2m 03s");
        assert_eq!(duration(3_720_000), "1h 02m");
    }

    #[test]
    fn cells_stay_in_their_cell() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
        assert_eq!(cell("Ada <ada@example.com>"), "Ada &lt;ada@example.com&gt;");
        assert_eq!(
            commits_as_code("at 333333333333, merged as 0123456789abcdef0123456789abcdef01234567"),
            "at `333333333333`, merged as `0123456789abcdef0123456789abcdef01234567`"
        );
        let long = "x".repeat(300);
        assert_eq!(cell(&long).chars().count(), MAX_TEXT + 1);
    }
}
