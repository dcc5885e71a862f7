//! The symlinks gate: every link the step added or changed, followed through the tree's
//! other links, must stay inside the worktree.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use super::{DiffFacts, GateContext, escaped, result};
use crate::error::Result;
use crate::step::checkpoint::GateResult;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
