//! The configured gate commands, run in the step's worktree with the harness's sandbox,
//! their output kept bounded.

use std::time::{Duration, Instant};

use super::{GateContext, result};
use crate::error::Result;
use crate::harness::process::{self, EndedBy, Spawn};
use crate::step::checkpoint::GateResult;

/// Lines of a gate's output kept with its result: enough to see a failing test.
const TAIL_LINES: usize = 40;
/// Lines kept of a gate that passed (its summary line, usually).
const PASSED_TAIL_LINES: usize = 5;
/// Bytes of those lines, at most, and of each line.
const TAIL_BYTES: usize = 4000;
const LINE_BYTES: usize = 300;

/// The log of gate `name` of a step, in its scratch directory.
pub fn log_path(log_dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    log_dir.join(format!("gate-{name}.log"))
}

/// Runs one configured gate command in the worktree.
pub fn command(ctx: &GateContext<'_>, name: &str, run: &str, timeout: u64) -> Result<GateResult> {
    let t = Instant::now();
    let log = log_path(ctx.log_dir, name);
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let finished = process::run(
        &Spawn {
            program: "sh".into(),
            args: vec!["-c".into(), run.to_owned()],
            cwd: ctx.git.dir().to_owned(),
            env: ctx.env.to_vec(),
            stdin: None,
            conversation: None,
            log: log.clone(),
            timeout: Duration::from_secs(timeout),
            idle_timeout: None,
            grace: Duration::from_secs(2),
            sandbox: ctx.sandbox.cloned(),
            stop: None,
        },
        &mut |_, line| {
            tail.push_back(clip_line(line));
            if tail.len() > TAIL_LINES {
                tail.pop_front();
            }
        },
    )?;
    let ok = finished.ended_by == EndedBy::Exited && finished.exit_code == Some(0);
    let last = tail
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .unwrap_or_default();
    let detail = match (finished.ended_by, finished.exit_code) {
        (EndedBy::Exited, Some(0)) => String::new(),
        (EndedBy::Exited, code) => format!(
            "exit status {}{}",
            code.map_or("signal".into(), |c| c.to_string()),
            if last.is_empty() {
                String::new()
            } else {
                format!(": {last}")
            }
        ),
        _ => format!("timed out after {timeout}s"),
    };
    let keep = if ok { PASSED_TAIL_LINES } else { TAIL_LINES };
    let lines: Vec<String> = tail.into_iter().collect();
    let mut r = result(name, ok, detail, t);
    r.output = bounded_tail(&lines[lines.len().saturating_sub(keep)..], TAIL_BYTES);
    r.log = log.display().to_string();
    Ok(r)
}

fn clip_line(line: &str) -> String {
    if line.len() <= LINE_BYTES {
        return line.to_owned();
    }
    let mut end = LINE_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// The last of `lines` that fit in `max` bytes, joined by newlines.
pub fn bounded_tail(lines: &[String], max: usize) -> String {
    let mut total = 0;
    let mut start = lines.len();
    for (i, l) in lines.iter().enumerate().rev() {
        total += l.len() + 1;
        if total > max {
            break;
        }
        start = i;
    }
    lines[start..].join("\n")
}
