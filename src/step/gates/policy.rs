//! Built-in policy gates on the diff: no `.forge/` edits, protected paths, diff size,
//! conflict markers left after a replay, and the listing of new binaries and executables.

use std::time::Instant;

use ignore::gitignore::GitignoreBuilder;

use super::{DiffFacts, GateContext, escaped, result};
use crate::error::Result;
use crate::step::checkpoint::GateResult;

/// Policy: a step never changes forge's own records.
pub fn forge_untouched(facts: &DiffFacts) -> GateResult {
    let t = Instant::now();
    let touched: Vec<&str> = facts
        .files
        .iter()
        .filter(|f| f.starts_with(".forge/"))
        .map(String::as_str)
        .collect();
    let detail = if touched.is_empty() {
        String::new()
    } else {
        format!("policy violation: the step changed {}", touched.join(", "))
    };
    result("forge-files", touched.is_empty(), detail, t)
}

pub fn protected_paths(ctx: &GateContext<'_>, facts: &DiffFacts) -> GateResult {
    let t = Instant::now();
    let mut builder = GitignoreBuilder::new(ctx.git.dir());
    // Refused at config load; should one still not parse, the gate fails rather than
    // protect nothing.
    let mut bad = Vec::new();
    for pattern in &ctx.config.policy.protected_paths {
        if builder.add_line(None, pattern).is_err() {
            bad.push(pattern.as_str());
        }
    }
    let matcher = match builder.build() {
        Ok(m) if bad.is_empty() => m,
        _ => {
            let detail = format!(
                "[policy] protected_paths has patterns that do not parse: {}",
                bad.join(", ")
            );
            return result("protected-paths", false, detail, t);
        }
    };
    let hit: Vec<&str> = facts
        .files
        .iter()
        .filter(|f| {
            matcher
                .matched_path_or_any_parents(f.as_str(), false)
                .is_ignore()
        })
        .map(String::as_str)
        .collect();
    let detail = if hit.is_empty() {
        String::new()
    } else {
        format!("protected paths changed: {}", hit.join(", "))
    };
    result("protected-paths", hit.is_empty(), detail, t)
}

pub fn diff_size(ctx: &GateContext<'_>, facts: &DiffFacts) -> GateResult {
    let t = Instant::now();
    let lines = facts.added + facts.removed;
    let max = ctx.config.policy.max_diff_lines;
    let detail = format!(
        "{lines} lines changed (+{} -{}), limit {max}",
        facts.added, facts.removed
    );
    result("diff-size", lines <= max, detail, t)
}

/// Not a check but a listing for the approver: new binary files and new or newly
/// executable files, which raise the risk tier. None when there are none.
pub fn new_file_kinds(facts: &DiffFacts) -> Option<GateResult> {
    let t = Instant::now();
    let mut parts = Vec::new();
    let list = |paths: &[String]| {
        paths
            .iter()
            .map(|p| escaped(p))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !facts.new_binaries.is_empty() {
        parts.push(format!("new binary files: {}", list(&facts.new_binaries)));
    }
    if !facts.new_executables.is_empty() {
        parts.push(format!(
            "new executable files: {}",
            list(&facts.new_executables)
        ));
    }
    if parts.is_empty() {
        return None;
    }
    parts.push("risk at least medium".into());
    Some(result("binaries-executables", true, parts.join("; "), t))
}

/// Policy, after a replay onto the base that conflicted: no file that was in conflict still
/// holds a conflict marker at the head.
pub fn conflict_markers(ctx: &GateContext<'_>) -> Result<Option<GateResult>> {
    if ctx.conflicts.is_empty() {
        return Ok(None);
    }
    let t = Instant::now();
    let specs: Vec<String> = ctx
        .conflicts
        .iter()
        .map(|f| format!("{}:{f}", ctx.head))
        .collect();
    let blobs = ctx.git.cat_file_batch(&specs)?;
    let unresolved: Vec<&str> = ctx
        .conflicts
        .iter()
        .zip(blobs)
        .filter(|(_, blob)| {
            blob.as_deref().is_some_and(|b| {
                crate::store::parse::find_conflict_marker(&String::from_utf8_lossy(b)).is_some()
            })
        })
        .map(|(f, _)| f.as_str())
        .collect();
    let detail = if unresolved.is_empty() {
        format!("{} conflicted file(s) resolved", ctx.conflicts.len())
    } else {
        format!("conflict markers left in {}", unresolved.join(", "))
    };
    Ok(Some(result("conflicts", unresolved.is_empty(), detail, t)))
}
