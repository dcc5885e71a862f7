//! The checks a step's commit must pass before anyone is asked to approve it: built-in
//! policy (no `.forge/` edits, protected paths, diff size, secrets in the diff) and the
//! configured gate commands, run in the step's worktree.

use std::path::Path;
use std::time::{Duration, Instant};

use ignore::gitignore::GitignoreBuilder;

use super::checkpoint::GateResult;
use crate::bead::Risk;
use crate::config::Config;
use crate::error::Result;
use crate::git::cli::Git;
use crate::harness::process::{self, EndedBy, Spawn};
use crate::redact::Redactor;

pub struct GateContext<'a> {
    pub git: &'a Git,
    pub base: &'a str,
    pub head: &'a str,
    pub config: &'a Config,
    pub redactor: &'a Redactor,
    /// Environment for gate commands (the same allowlist the harness gets).
    pub env: &'a [(String, String)],
    /// Directory for gate logs.
    pub log_dir: &'a Path,
}

/// Changed-file facts the gates and the risk tier share.
pub struct DiffFacts {
    pub files: Vec<String>,
    pub added: u64,
    pub removed: u64,
}

pub fn diff_facts(ctx: &GateContext<'_>) -> Result<DiffFacts> {
    let files = ctx.git.changed_files(ctx.base, ctx.head)?;
    let (added, removed) = ctx.git.diff_lines(ctx.base, ctx.head)?;
    Ok(DiffFacts {
        files,
        added,
        removed,
    })
}

fn result(name: &str, ok: bool, detail: String, started: Instant) -> GateResult {
    GateResult {
        name: name.to_owned(),
        ok,
        detail,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

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
    for pattern in &ctx.config.policy.protected_paths {
        let _ = builder.add_line(None, pattern);
    }
    let matcher = builder
        .build()
        .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty());
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

/// Added lines that contain a secret, as `file:line` (never the secret itself).
pub fn secrets(ctx: &GateContext<'_>) -> Result<GateResult> {
    let t = Instant::now();
    let diff = ctx.git.diff(ctx.base, ctx.head)?;
    let mut found = Vec::new();
    let mut file = String::new();
    let mut line_no = 0u64;
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ b/") {
            file = path.to_owned();
        } else if let Some(hunk) = line.strip_prefix("@@ ") {
            // "@@ -a,b +c,d @@": new lines start at c.
            line_no = hunk
                .split(' ')
                .find_map(|p| p.strip_prefix('+'))
                .and_then(|p| p.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
        } else if let Some(added) = line.strip_prefix('+') {
            if ctx.redactor.redact(added) != added {
                found.push(format!("{file}:{line_no}"));
            }
            line_no += 1;
        } else if !line.starts_with('-') && !line.starts_with('\\') {
            line_no += 1;
        }
    }
    let detail = if found.is_empty() {
        String::new()
    } else {
        format!("secret-looking text added at {}", found.join(", "))
    };
    Ok(result("secrets", found.is_empty(), detail, t))
}

/// Runs one configured gate command in the worktree.
pub fn command(ctx: &GateContext<'_>, name: &str, run: &str, timeout: u64) -> Result<GateResult> {
    let t = Instant::now();
    let log = ctx.log_dir.join(format!("gate-{name}.log"));
    let mut tail: Vec<String> = Vec::new();
    let finished = process::run(
        &Spawn {
            program: "sh".into(),
            args: vec!["-c".into(), run.to_owned()],
            cwd: ctx.git.dir().to_owned(),
            env: ctx.env.to_vec(),
            stdin: None,
            log,
            timeout: Duration::from_secs(timeout),
            idle_timeout: None,
            grace: Duration::from_secs(2),
        },
        &mut |_, line| {
            tail.push(line.to_owned());
            if tail.len() > 5 {
                tail.remove(0);
            }
        },
    )?;
    let ok = finished.ended_by == EndedBy::Exited && finished.exit_code == Some(0);
    let detail = match (finished.ended_by, finished.exit_code) {
        (EndedBy::Exited, Some(0)) => String::new(),
        (EndedBy::Exited, code) => format!(
            "exit status {}: {}",
            code.map_or("signal".into(), |c| c.to_string()),
            tail.join(" | ")
        ),
        _ => format!("timed out after {timeout}s"),
    };
    Ok(result(name, ok, detail, t))
}

/// Every gate, in order: policy first, then the configured commands.
pub fn run_all(ctx: &GateContext<'_>, facts: &DiffFacts) -> Result<Vec<GateResult>> {
    let mut out = vec![
        forge_untouched(facts),
        protected_paths(ctx, facts),
        diff_size(ctx, facts),
        secrets(ctx)?,
    ];
    for gate in &ctx.config.gates {
        out.push(command(ctx, &gate.name, &gate.run, gate.timeout)?);
    }
    Ok(out)
}

/// The risk tier an approver sees: the bead's own risk, raised by a large diff.
pub fn risk_tier(bead_risk: Risk, facts: &DiffFacts, max_lines: u64) -> Risk {
    let lines = facts.added + facts.removed;
    let by_size = if lines * 2 > max_lines || facts.files.len() > 20 {
        Risk::High
    } else if lines > 200 || facts.files.len() > 5 {
        Risk::Medium
    } else {
        Risk::Low
    };
    bead_risk.max(by_size)
}
