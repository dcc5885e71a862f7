//! Fetches and compare-and-swap pushes to a shared remote, for ticks on several machines
//! (DESIGN.md §5, `crate::remote`).
//!
//! Every push here names each ref it changes with `--force-with-lease=<ref>:<expected>`:
//! git then updates the remote ref only if it still has the value this clone read (or, with
//! an empty expectation, does not exist), which RELIABILITY.md measured to be a true
//! compare-and-swap. A `+` refspec or `--force` would silently turn that check off, so
//! neither is ever built, and every object id is validated before it goes into a refspec:
//! an empty source in a refspec would delete the remote ref.

use super::Git;
use crate::error::{Error, Result};

/// One ref a push changes: to `new`, only if the remote's value is still `expect` (None:
/// only if the remote does not have the ref).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedUpdate {
    pub refname: String,
    pub new: String,
    pub expect: Option<String>,
}

/// How a push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Every ref was updated.
    Done,
    /// A lease did not hold: the remote moved under this clone (another clone won). With
    /// `--atomic`, nothing was updated.
    Stale { refs: Vec<String> },
    /// The remote refused a ref for a reason of its own (a hook, a protected ref, no
    /// permission): not a race, an error a person has to fix.
    Refused { refs: Vec<(String, String)> },
}

/// What git says of a ref whose update lost a race: the lease did not hold when the client
/// compared (`stale info`), or two pushes passed that check at once and the remote's own
/// compare-and-swap of the ref turned the later one away (`failed to update ref`, `cannot
/// lock ref`, and with `--atomic`, `atomic transaction failed`). Anything else the remote
/// rejects (a hook, a protected ref, no permission) is a refusal a person has to fix.
const LOST_RACE: &[&str] = &[
    "stale info",
    "fetch first",
    "non-fast-forward",
    "already exists",
    "atomic transaction failed",
    "failed to update ref",
    "cannot lock ref",
    "failed to lock",
    "incorrect old value",
];

/// Whether `oid` is a full object id (SHA-1 or SHA-256 hex) and not the null id.
pub fn valid_oid(oid: &str) -> bool {
    matches!(oid.len(), 40 | 64)
        && oid
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && oid.bytes().any(|b| b != b'0')
}

/// Whether `name` is a ref name forge may put into a refspec: under `refs/`, and nothing
/// a refspec would read as syntax (`:`, `+`, `*`, `^`, spaces) or git refuses.
pub fn valid_refname(name: &str) -> bool {
    name.starts_with("refs/")
        && !name.contains("..")
        && !name.ends_with('/')
        && !name.ends_with(".lock")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
}

fn checked(u: &LeasedUpdate) -> Result<()> {
    let bad = |what: &str| Error::Refused {
        message: format!("forge would push {what} in {} -> {}", u.new, u.refname),
        hint: "this is a bug in forge: nothing was pushed".into(),
    };
    if !valid_refname(&u.refname) {
        return Err(bad("an invalid ref name"));
    }
    if !valid_oid(&u.new) || u.expect.as_deref().is_some_and(|e| !valid_oid(e)) {
        return Err(bad("an invalid object id"));
    }
    Ok(())
}

impl Git {
    /// `git fetch --no-tags REMOTE REFSPEC...` (with `--prune` when asked). The refspecs
    /// are forge's own (explicit source and destination, no `+`).
    pub fn fetch(&self, remote: &str, refspecs: &[String], prune: bool) -> Result<()> {
        let mut args = vec!["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"];
        if prune {
            args.push("--prune");
        }
        args.push("--");
        args.push(remote);
        args.extend(refspecs.iter().map(String::as_str));
        self.run(&args)?;
        Ok(())
    }

    /// Pushes `updates` to `remote` in one `git push --atomic --porcelain`, each under its
    /// lease. Refused before anything runs if an object id or ref name is not valid.
    pub fn push_leased(&self, remote: &str, updates: &[LeasedUpdate]) -> Result<Pushed> {
        for u in updates {
            checked(u)?;
        }
        let mut args: Vec<String> = ["push", "--porcelain", "--atomic", "--no-verify"]
            .map(str::to_owned)
            .to_vec();
        for u in updates {
            args.push(format!(
                "--force-with-lease={}:{}",
                u.refname,
                u.expect.as_deref().unwrap_or("")
            ));
        }
        args.push("--".into());
        args.push(remote.to_owned());
        args.extend(updates.iter().map(|u| format!("{}:{}", u.new, u.refname)));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self
            .command(&argv)
            .output()
            .map_err(|e| Error::io("git", e))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let (mut stale, mut refused) = (Vec::new(), Vec::new());
        // Porcelain lines: `<flag>\t<from>:<to>\t<summary> (<reason>)`; `!` is a rejection.
        for line in stdout.lines() {
            let mut fields = line.split('\t');
            let (Some(flag), Some(spec), summary) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if flag != "!" {
                continue;
            }
            let refname = spec.rsplit(':').next().unwrap_or(spec).to_owned();
            let summary = summary.unwrap_or_default();
            if summary.contains("atomic push failed") {
                continue;
            }
            if LOST_RACE.iter().any(|r| summary.contains(r)) {
                stale.push(refname);
            } else {
                refused.push((refname, summary.to_owned()));
            }
        }
        if out.status.success() {
            return Ok(Pushed::Done);
        }
        if !refused.is_empty() {
            return Ok(Pushed::Refused { refs: refused });
        }
        if !stale.is_empty() {
            return Ok(Pushed::Stale { refs: stale });
        }
        // No ref was rejected, yet the push failed: the remote could not be reached, or
        // git did not get as far as comparing refs.
        self.check(&argv, out).map(|_| Pushed::Done)
    }

    /// `git ls-remote --refs REMOTE PATTERN`: the remote's refs that match, with their ids.
    pub fn ls_remote(&self, remote: &str, pattern: &str) -> Result<Vec<(String, String)>> {
        let out = self.run(&["ls-remote", "--refs", "--", remote, pattern])?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let (oid, name) = l.split_once('\t')?;
                Some((name.to_owned(), oid.to_owned()))
            })
            .collect())
    }

    /// Every ref under `prefix` with its object id and the body of its commit message.
    pub fn refs_with_bodies(&self, prefix: &str) -> Result<Vec<(String, String, String)>> {
        let out = self.run(&[
            "for-each-ref",
            "--format=%(refname)%00%(objectname)%00%(contents:body)%00",
            prefix,
        ])?;
        Ok(out
            .split("\0\n")
            .filter_map(|rec| {
                let mut f = rec.trim_start_matches('\n').splitn(3, '\0');
                let (name, oid, body) = (f.next()?, f.next()?, f.next().unwrap_or(""));
                (!name.is_empty()).then(|| (name.to_owned(), oid.to_owned(), body.to_owned()))
            })
            .collect())
    }

    /// The ids and message bodies of the first-parent history of `commit`, newest first.
    pub fn first_parent_bodies(&self, commit: &str) -> Result<Vec<(String, String)>> {
        let out = self.run(&["log", "--first-parent", "--format=%H%x00%b%x00", commit])?;
        Ok(out
            .split("\0\n")
            .filter_map(|rec| {
                let (oid, body) = rec.trim_start_matches('\n').split_once('\0')?;
                (!oid.is_empty()).then(|| (oid.to_owned(), body.to_owned()))
            })
            .collect())
    }

    /// The empty tree, written to the object store.
    pub fn empty_tree(&self) -> Result<String> {
        Ok(self
            .run(&["hash-object", "-t", "tree", "-w", "--stdin"])?
            .trim()
            .to_owned())
    }

    /// A tree: `base`'s (or an empty one) with the files `paths` (relative to the working
    /// tree) as they are on disk, made through the scratch index `index` (removed after).
    pub fn tree_with_files(
        &self,
        base: Option<&str>,
        paths: &[String],
        index: &std::path::Path,
    ) -> Result<String> {
        let _ = std::fs::remove_file(index);
        let scratch = self
            .clone()
            .with_env("GIT_INDEX_FILE", &index.to_string_lossy());
        let made = (|| {
            match base {
                Some(b) => scratch.run(&["read-tree", b])?,
                None => scratch.run(&["read-tree", "--empty"])?,
            };
            if !paths.is_empty() {
                let mut args = vec!["add", "--force", "--"];
                args.extend(paths.iter().map(String::as_str));
                scratch.run(&args)?;
            }
            Ok(scratch.run(&["write-tree"])?.trim().to_owned())
        })();
        let _ = std::fs::remove_file(index);
        made
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_lowercase_non_null_ids_are_valid() {
        assert!(valid_oid(&"a".repeat(40)));
        assert!(valid_oid(
            &"0".repeat(39)
                .to_owned()
                .chars()
                .chain(['1'])
                .collect::<String>()
        ));
        assert!(!valid_oid(""));
        assert!(!valid_oid(&"0".repeat(40)));
        assert!(!valid_oid(&"A".repeat(40)));
        assert!(!valid_oid(&"a".repeat(41)));
        assert!(!valid_oid("HEAD"));
    }

    #[test]
    fn ref_names_with_refspec_syntax_are_refused() {
        assert!(valid_refname("refs/forge/claims/fg-3k9x"));
        assert!(valid_refname("refs/heads/forge/fg-3k9x/2"));
        for bad in [
            "refs/forge/claims/a:b",
            "+refs/x",
            "refs/forge/*",
            "refs/a b",
            "refs/../x",
            "heads/x",
            "refs/x/",
        ] {
            assert!(!valid_refname(bad), "{bad}");
        }
    }

    #[test]
    fn a_push_with_an_empty_id_is_refused_before_git_runs() {
        let git = Git::new(std::path::Path::new("/nonexistent"));
        let u = LeasedUpdate {
            refname: "refs/forge/claims/fg-a".into(),
            new: String::new(),
            expect: None,
        };
        assert!(matches!(
            git.push_leased("origin", &[u]),
            Err(Error::Refused { .. })
        ));
    }
}
