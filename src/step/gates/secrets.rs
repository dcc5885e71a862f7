//! The secrets gate: secret-looking text added by the step, in its text diff and in the
//! printable strings of new binary content.

use std::collections::HashSet;
use std::time::Instant;

use super::{Change, DiffFacts, GateContext, result};
use crate::error::Result;
use crate::step::checkpoint::GateResult;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_diff_paths_are_unquoted() {
        assert_eq!(unquote("b/plain"), "b/plain");
        assert_eq!(unquote("\"b/caf\\303\\251\""), "b/café");
        assert_eq!(unquote("\"b/tab\\there\""), "b/tab\there");
        assert_eq!(unquote("\"b/q\\\"uote\""), "b/q\"uote");
    }
}
