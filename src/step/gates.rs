//! The checks a step's commit must pass before anyone is asked to approve it: built-in
//! policy (no `.forge/` edits, protected paths, diff size, secrets in the diff and in the
//! printable strings of binary files, symbolic links out of the tree) and the configured
//! gate commands, run in the step's worktree.
//!
//! Everything here reads the step's commits from git's object store (modes, blobs, link
//! targets), never the worktree's files or the repository's attributes, which the agent
//! controls.

use std::collections::{HashMap, HashSet, VecDeque};
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
    /// Gate commands run the agent's code: they get the harness's sandbox.
    pub sandbox: Option<&'a crate::sandbox::Policy>,
    /// Files a replay onto the base left in conflict for the agent to resolve.
    pub conflicts: &'a [String],
}

/// Changed-file facts the gates and the risk tier share.
pub struct DiffFacts {
    pub files: Vec<String>,
    pub added: u64,
    pub removed: u64,
    /// Every changed path with its modes and blobs.
    pub changes: Vec<Change>,
    /// Symbolic links the step added or changed: (path, target).
    pub symlinks: Vec<(String, String)>,
    /// Files that are binary now and were not before (added, or text until this step).
    pub new_binaries: Vec<String>,
    /// Files that are executable now and were not before (added, or `chmod +x`).
    pub new_executables: Vec<String>,
}

const MODE_FILE: u32 = 0o100644;
const MODE_EXECUTABLE: u32 = 0o100755;
const MODE_SYMLINK: u32 = 0o120000;

/// One entry of `git diff --raw`: a changed path, by mode and blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// `A`dded, `D`eleted, `M`odified, `T`ype changed.
    pub status: char,
    pub old_mode: u32,
    pub new_mode: u32,
    pub old_blob: String,
    pub new_blob: String,
    /// The new content is binary, decided from its bytes as git does (a NUL in the first
    /// 8000), never from `.gitattributes`, which the agent can write.
    pub binary: bool,
    /// The old content was binary.
    pub was_binary: bool,
}

impl Change {
    fn is_file(mode: u32) -> bool {
        mode == MODE_FILE || mode == MODE_EXECUTABLE
    }

    /// A regular file with (possibly) new content.
    fn has_new_file(&self) -> bool {
        self.status != 'D' && Change::is_file(self.new_mode)
    }

    fn had_old_file(&self) -> bool {
        self.status != 'A' && Change::is_file(self.old_mode)
    }
}

/// Whether content is binary the way git decides it: a NUL byte in the first 8000 bytes.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8000)].contains(&0)
}

/// Parses `git diff --raw -z --no-renames --no-abbrev` output.
fn parse_raw(out: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut fields = out.split('\0');
    while let Some(header) = fields.next() {
        let Some(header) = header.strip_prefix(':') else {
            continue;
        };
        let Some(path) = fields.next() else { break };
        let parts: Vec<&str> = header.split(' ').collect();
        let [old_mode, new_mode, old_blob, new_blob, status] = parts[..] else {
            continue;
        };
        let mode = |m: &str| u32::from_str_radix(m, 8).unwrap_or(0);
        changes.push(Change {
            path: path.to_owned(),
            status: status.chars().next().unwrap_or('M'),
            old_mode: mode(old_mode),
            new_mode: mode(new_mode),
            old_blob: old_blob.to_owned(),
            new_blob: new_blob.to_owned(),
            binary: false,
            was_binary: false,
        });
    }
    changes
}

pub fn diff_facts(ctx: &GateContext<'_>) -> Result<DiffFacts> {
    let raw = ctx.git.run(&[
        "diff",
        "--raw",
        "-z",
        "--no-renames",
        "--no-abbrev",
        ctx.base,
        ctx.head,
    ])?;
    let mut changes = parse_raw(&raw);
    let files = changes.iter().map(|c| c.path.clone()).collect();
    let (added, removed) = ctx.git.diff_lines(ctx.base, ctx.head)?;

    // New contents of files and links, in one read of the object store.
    let wanted: Vec<usize> = (0..changes.len())
        .filter(|&i| {
            let c = &changes[i];
            c.has_new_file() || (c.status != 'D' && c.new_mode == MODE_SYMLINK)
        })
        .collect();
    let specs: Vec<String> = wanted
        .iter()
        .map(|&i| changes[i].new_blob.clone())
        .collect();
    let blobs = ctx.git.cat_file_batch(&specs)?;
    let mut symlinks = Vec::new();
    for (&i, blob) in wanted.iter().zip(blobs) {
        let blob = blob.unwrap_or_default();
        let c = &mut changes[i];
        if c.new_mode == MODE_SYMLINK {
            symlinks.push((c.path.clone(), String::from_utf8_lossy(&blob).into_owned()));
        } else {
            c.binary = is_binary(&blob);
        }
    }
    // Old contents only where the new one is binary: was it binary before?
    let was: Vec<usize> = (0..changes.len())
        .filter(|&i| changes[i].binary && changes[i].had_old_file())
        .collect();
    let specs: Vec<String> = was.iter().map(|&i| changes[i].old_blob.clone()).collect();
    for (&i, blob) in was.iter().zip(ctx.git.cat_file_batch(&specs)?) {
        changes[i].was_binary = blob.is_some_and(|b| is_binary(&b));
    }

    let new_binaries = changes
        .iter()
        .filter(|c| c.has_new_file() && c.binary && !c.was_binary)
        .map(|c| c.path.clone())
        .collect();
    let new_executables = changes
        .iter()
        .filter(|c| {
            c.status != 'D'
                && c.new_mode == MODE_EXECUTABLE
                && (c.status == 'A' || c.old_mode != MODE_EXECUTABLE)
        })
        .map(|c| c.path.clone())
        .collect();
    Ok(DiffFacts {
        files,
        added,
        removed,
        changes,
        symlinks,
        new_binaries,
        new_executables,
    })
}

fn result(name: &str, ok: bool, detail: String, started: Instant) -> GateResult {
    GateResult {
        name: name.to_owned(),
        ok,
        detail,
        duration_ms: started.elapsed().as_millis() as u64,
        output: String::new(),
        log: String::new(),
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

/// Added lines that contain a secret, as `file:line`, and secrets in the printable strings
/// of new binary content, as `file (binary, byte N)` (never the secret itself).
pub fn secrets(ctx: &GateContext<'_>, facts: &DiffFacts) -> Result<GateResult> {
    let t = Instant::now();
    let diff = ctx.git.diff(ctx.base, ctx.head)?;
    let mut found = Vec::new();
    let mut file = String::new();
    // Files whose added lines the text diff showed; the others (binary to git, or made to
    // look binary by a `.gitattributes` the agent wrote) are read as printable strings.
    let mut shown: HashSet<String> = HashSet::new();
    let mut line_no = 0u64;
    // Between a `diff --git` line and the first hunk: `+++ b/path` is a header there, and
    // an added line starting with "++ " anywhere else.
    let mut in_header = false;
    for line in diff.lines() {
        if line.starts_with("diff --git ") {
            in_header = true;
        } else if in_header && let Some(path) = line.strip_prefix("+++ ") {
            let path = unquote(path);
            file = path.strip_prefix("b/").unwrap_or(&path).to_owned();
            shown.insert(file.clone());
        } else if in_header && !line.starts_with("@@ ") {
            // mode, index, `---` and `Binary files ... differ` lines
        } else if let Some(hunk) = line.strip_prefix("@@ ") {
            in_header = false;
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
    found.extend(binary_secrets(ctx, facts, &shown)?);
    let detail = if found.is_empty() {
        String::new()
    } else {
        format!("secret-looking text added at {}", found.join(", "))
    };
    Ok(result("secrets", found.is_empty(), detail, t))
}

/// Secrets in the printable strings (see `redact::printable_strings`) of new content the
/// text diff did not show line by line. In a changed file, only strings that were not
/// already there count.
fn binary_secrets(
    ctx: &GateContext<'_>,
    facts: &DiffFacts,
    shown: &HashSet<String>,
) -> Result<Vec<String>> {
    let scan: Vec<&Change> = facts
        .changes
        .iter()
        .filter(|c| {
            c.has_new_file() && c.new_blob != c.old_blob && (c.binary || !shown.contains(&c.path))
        })
        .collect();
    if scan.is_empty() {
        return Ok(Vec::new());
    }
    let specs: Vec<String> = scan.iter().map(|c| c.new_blob.clone()).collect();
    let new = ctx.git.cat_file_batch(&specs)?;
    let olds: Vec<String> = scan
        .iter()
        .filter(|c| c.had_old_file())
        .map(|c| c.old_blob.clone())
        .collect();
    let mut old = ctx.git.cat_file_batch(&olds)?.into_iter();
    let mut found = Vec::new();
    for (c, blob) in scan.iter().zip(new) {
        let before: HashSet<String> = if c.had_old_file() {
            old.next()
                .flatten()
                .map(|b| ctx.redactor.binary_findings(&b))
                .unwrap_or_default()
                .into_iter()
                .map(|(_, text)| text)
                .collect()
        } else {
            HashSet::new()
        };
        let Some(blob) = blob else { continue };
        for (offset, text) in ctx.redactor.binary_findings(&blob) {
            if before.contains(&text) {
                continue;
            }
            found.push(if c.binary {
                format!("{} (binary, byte {offset})", c.path)
            } else {
                // Text that a `.gitattributes` makes git show as binary.
                let line = blob[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
                format!("{}:{line} (shown by git as binary)", c.path)
            });
        }
    }
    Ok(found)
}

/// A path as git prints it in a diff header: C-quoted when it has unusual characters.
fn unquote(path: &str) -> String {
    let Some(inner) = path.strip_prefix('"').and_then(|p| p.strip_suffix('"')) else {
        return path.to_owned();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(7),
            Some(b'b') => bytes.push(8),
            Some(b'f') => bytes.push(12),
            Some(b'v') => bytes.push(11),
            Some(d @ b'0'..=b'7') => {
                let mut n = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&d @ b'0'..=b'7') = chars.peek() {
                        n = n * 8 + u32::from(d - b'0');
                        chars.next();
                    }
                }
                bytes.push(n as u8);
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Why a symbolic link leaves the worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LinkEscape {
    Absolute,
    AboveRoot,
    GitDir,
    TooDeep,
}

/// Follows a symbolic link at `link` (a path in the tree) to `target`, lexically, inside the
/// tree: `..` climbs one directory of the tree, and each of the tree's `links` met on the
/// way is followed as the kernel would (a link's own `..` starts from the link's
/// directory). Ok when the target stays inside; otherwise why, and through which link when
/// another one led out.
fn follow_link(
    link: &str,
    target: &str,
    links: &HashMap<String, String>,
) -> std::result::Result<(), (LinkEscape, Option<String>)> {
    let mut dir: Vec<String> = link.split('/').map(str::to_owned).collect();
    dir.pop();
    let mut via: Option<String> = None;
    if target.starts_with('/') {
        return Err((LinkEscape::Absolute, None));
    }
    let mut pending: VecDeque<String> = target.split('/').map(str::to_owned).collect();
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        match part.as_str() {
            "" | "." => {}
            ".." => {
                if dir.pop().is_none() {
                    return Err((LinkEscape::AboveRoot, via));
                }
            }
            name => {
                if name.eq_ignore_ascii_case(".git") {
                    return Err((LinkEscape::GitDir, via));
                }
                dir.push(name.to_owned());
                let here = dir.join("/");
                if let Some(next) = links.get(&here) {
                    hops += 1;
                    if hops > 40 {
                        return Err((LinkEscape::TooDeep, Some(here)));
                    }
                    if next.starts_with('/') {
                        return Err((LinkEscape::Absolute, Some(here)));
                    }
                    dir.pop();
                    for p in next.split('/').rev() {
                        pending.push_front(p.to_owned());
                    }
                    via = Some(here);
                }
            }
        }
    }
    Ok(())
}

/// Text from the agent, shown safely: control characters escaped.
fn escaped(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Policy: a symbolic link the step added or changed must point inside the worktree. Its
/// target (read from git, not the filesystem) is resolved lexically from the link's
/// directory, following the tree's other links: an absolute target, one that climbs above
/// the root, or one into `.git` fails, naming `path -> target`. None when the step touched
/// no link.
pub fn symlinks(ctx: &GateContext<'_>, facts: &DiffFacts) -> Result<Option<GateResult>> {
    if facts.symlinks.is_empty() {
        return Ok(None);
    }
    let t = Instant::now();
    // Every link in the step's tree, for targets that pass through another link.
    let listing = ctx
        .git
        .run(&["ls-tree", "-r", "-z", "--full-tree", ctx.head])?;
    let mut paths = Vec::new();
    let mut blobs = Vec::new();
    for entry in listing.split('\0') {
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let mut meta = meta.split(' ');
        if meta.next() == Some("120000") {
            meta.next();
            if let Some(blob) = meta.next() {
                paths.push(path.to_owned());
                blobs.push(blob.to_owned());
            }
        }
    }
    let links: HashMap<String, String> = paths
        .into_iter()
        .zip(ctx.git.cat_file_batch(&blobs)?)
        .map(|(p, b)| {
            (
                p,
                String::from_utf8_lossy(&b.unwrap_or_default()).into_owned(),
            )
        })
        .collect();
    let mut out = Vec::new();
    // Every link of the tree is followed: one the base already had may escape through a
    // link this step adds (`l -> d/d/../../..` stays inside until `d -> .`). A link the
    // step did not touch is reported only if it escapes through one it did.
    let changed: HashSet<&str> = facts.symlinks.iter().map(|(p, _)| p.as_str()).collect();
    let mut all: Vec<(&String, &String)> = links.iter().collect();
    all.sort();
    for (path, target) in all {
        let result = follow_link(path, target, &links);
        if let Err((_, via)) = &result
            && !changed.contains(path.as_str())
            && !via.as_deref().is_some_and(|v| changed.contains(v))
        {
            continue;
        }
        if let Err((why, via)) = result {
            let why = match why {
                LinkEscape::Absolute => "an absolute path",
                LinkEscape::AboveRoot => "climbs above the worktree root",
                LinkEscape::GitDir => "points into .git",
                LinkEscape::TooDeep => "too many levels of symbolic links",
            };
            let via = via
                .map(|v| format!(" through {}", escaped(&v)))
                .unwrap_or_default();
            out.push(format!(
                "{} -> {} ({why}{via})",
                escaped(path),
                escaped(target)
            ));
        }
    }
    let detail = if out.is_empty() {
        String::new()
    } else {
        format!("symbolic links out of the worktree: {}", out.join(", "))
    };
    Ok(Some(result("symlinks", out.is_empty(), detail, t)))
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
            log: log.clone(),
            timeout: Duration::from_secs(timeout),
            idle_timeout: None,
            grace: Duration::from_secs(2),
            sandbox: ctx.sandbox.cloned(),
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

/// Every gate, in order: policy first, then the configured commands.
pub fn run_all(ctx: &GateContext<'_>, facts: &DiffFacts) -> Result<Vec<GateResult>> {
    let mut out = vec![
        forge_untouched(facts),
        protected_paths(ctx, facts),
        diff_size(ctx, facts),
        secrets(ctx, facts)?,
    ];
    out.extend(symlinks(ctx, facts)?);
    out.extend(conflict_markers(ctx)?);
    out.extend(new_file_kinds(facts));
    for gate in &ctx.config.gates {
        out.push(command(ctx, &gate.name, &gate.run, gate.timeout)?);
    }
    Ok(out)
}

/// The risk tier an approver sees: the bead's own risk, raised by a large diff and by new
/// binary or executable files.
pub fn risk_tier(bead_risk: Risk, facts: &DiffFacts, max_lines: u64) -> Risk {
    risk_assessment(bead_risk, facts, max_lines).0
}

/// The risk tier with the reasons that raised it above the bead's own risk.
pub fn risk_assessment(bead_risk: Risk, facts: &DiffFacts, max_lines: u64) -> (Risk, Vec<String>) {
    let lines = facts.added + facts.removed;
    let files = facts.files.len();
    let mut reasons = Vec::new();
    let mut risk = bead_risk;
    let mut raise = |to: Risk, why: String| {
        if to > risk {
            risk = to;
        }
        if to > bead_risk {
            reasons.push(why);
        }
    };
    if lines * 2 > max_lines || files > 20 {
        raise(
            Risk::High,
            format!("large diff: {lines} lines in {files} files"),
        );
    } else if lines > 200 || files > 5 {
        raise(
            Risk::Medium,
            format!("diff of {lines} lines in {files} files"),
        );
    }
    if !facts.new_binaries.is_empty() {
        raise(
            Risk::Medium,
            format!("new binary files: {}", facts.new_binaries.join(", ")),
        );
    }
    if !facts.new_executables.is_empty() {
        raise(
            Risk::Medium,
            format!("new executable files: {}", facts.new_executables.join(", ")),
        );
    }
    (risk, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_diff_entries_are_parsed() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let out = format!(
            ":000000 100755 {z} {a} A\0run.sh\0:100644 100644 {a} {b} M\0dir/file with space\0\
             :100644 120000 {a} {b} T\0link\0:100644 000000 {a} {z} D\0gone\0"
        );
        let changes = parse_raw(&out);
        assert_eq!(changes.len(), 4);
        assert_eq!(changes[0].path, "run.sh");
        assert_eq!(
            (changes[0].status, changes[0].old_mode, changes[0].new_mode),
            ('A', 0, MODE_EXECUTABLE)
        );
        assert_eq!(changes[1].path, "dir/file with space");
        assert_eq!(changes[2].new_mode, MODE_SYMLINK);
        assert!(!changes[3].has_new_file() && changes[3].had_old_file());
        assert!(parse_raw("").is_empty());
    }

    #[test]
    fn binary_is_decided_by_a_nul_in_the_first_8000_bytes() {
        assert!(is_binary(b"PNG\0\x01"));
        assert!(!is_binary(b"plain text\n"));
        let mut late = vec![b'a'; 8000];
        late.push(0);
        assert!(!is_binary(&late));
    }

    #[test]
    fn quoted_diff_paths_are_unquoted() {
        assert_eq!(unquote("b/plain"), "b/plain");
        assert_eq!(unquote("\"b/caf\\303\\251\""), "b/café");
        assert_eq!(unquote("\"b/tab\\there\""), "b/tab\there");
        assert_eq!(unquote("\"b/q\\\"uote\""), "b/q\"uote");
    }

    #[test]
    fn links_are_followed_inside_the_tree() {
        let none = HashMap::new();
        let ok = |link: &str, target: &str, links: &HashMap<String, String>| {
            follow_link(link, target, links).is_ok()
        };
        assert!(ok("docs/readme", "../README", &none));
        assert!(ok("a/b/c", "../../x/./y", &none));
        assert!(ok("link", "sub/dir/", &none));
        assert_eq!(
            follow_link("evil", "/etc/passwd", &none),
            Err((LinkEscape::Absolute, None))
        );
        assert_eq!(
            follow_link("evil", "../../../../etc/shadow", &none),
            Err((LinkEscape::AboveRoot, None))
        );
        assert_eq!(
            follow_link("a/evil", "../..", &none),
            Err((LinkEscape::AboveRoot, None))
        );
        assert_eq!(
            follow_link("a/evil", "x/../../../y", &none),
            Err((LinkEscape::AboveRoot, None))
        );
        assert_eq!(
            follow_link("x", ".git/config", &none),
            Err((LinkEscape::GitDir, None))
        );
        // Through another link: `a/b/up -> ../../c` lands at the root's `c`, so
        // `a/b/up/..` is the root, and one more `..` leaves it, although lexically
        // `a/b/up/../..` is `a`.
        let links: HashMap<String, String> = [
            ("a/b/up".to_owned(), "../../c".to_owned()),
            ("abs".to_owned(), "/etc".to_owned()),
            ("loop".to_owned(), "loop".to_owned()),
        ]
        .into();
        assert_eq!(
            follow_link("e", "a/b/up/../..", &links),
            Err((LinkEscape::AboveRoot, Some("a/b/up".into())))
        );
        assert!(ok("e", "a/b/up/..", &links));
        assert_eq!(
            follow_link("e", "abs/passwd", &links),
            Err((LinkEscape::Absolute, Some("abs".into())))
        );
        assert_eq!(
            follow_link("e", "loop", &links),
            Err((LinkEscape::TooDeep, Some("loop".into())))
        );
    }

    fn facts(lines: u64, files: usize, binaries: &[&str], executables: &[&str]) -> DiffFacts {
        DiffFacts {
            files: (0..files).map(|i| format!("f{i}")).collect(),
            added: lines,
            removed: 0,
            changes: Vec::new(),
            symlinks: Vec::new(),
            new_binaries: binaries.iter().map(|s| s.to_string()).collect(),
            new_executables: executables.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn new_binaries_and_executables_raise_the_risk_to_medium() {
        assert_eq!(
            risk_tier(Risk::Low, &facts(3, 1, &[], &[]), 2000),
            Risk::Low
        );
        let (risk, why) = risk_assessment(Risk::Low, &facts(3, 2, &["a.bin"], &[]), 2000);
        assert_eq!(risk, Risk::Medium);
        assert_eq!(why, ["new binary files: a.bin"]);
        let (risk, why) = risk_assessment(Risk::Low, &facts(3, 1, &[], &["run.sh"]), 2000);
        assert_eq!(risk, Risk::Medium);
        assert_eq!(why, ["new executable files: run.sh"]);
        // Never lowered, and no reason when the bead's own risk is already as high.
        let (risk, why) = risk_assessment(Risk::High, &facts(3, 1, &["a.bin"], &["x"]), 2000);
        assert_eq!((risk, why.len()), (Risk::High, 0));
        assert_eq!(
            risk_tier(Risk::Low, &facts(1500, 1, &["a.bin"], &[]), 2000),
            Risk::High
        );
        let listed = new_file_kinds(&facts(3, 2, &["a.bin"], &["run.sh"])).unwrap();
        assert!(listed.ok);
        assert_eq!(
            listed.detail,
            "new binary files: a.bin; new executable files: run.sh; risk at least medium"
        );
        assert!(new_file_kinds(&facts(3, 1, &[], &[])).is_none());
    }
}
