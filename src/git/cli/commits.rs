//! Commits, refs, diffs and objects through git's plumbing: snapshots of a worktree made
//! through forge's own index, trees and commits, atomic ref updates, ancestry, signatures,
//! trailers and batch object reads.

use std::process::Stdio;

use super::{Git, git_has_attr_source};
use crate::error::{Error, Result};

impl Git {
    /// With a [`pinned`](Git::pinned) git: a commit of everything in the worktree except
    /// paths matching `excluded` (glob pathspecs), honouring `.gitignore`, on top of
    /// `parent`, made through forge's own index with plumbing. None when the tree is
    /// `parent`'s. Moves no ref.
    pub fn snapshot(
        &self,
        parent: &str,
        excluded: &[&str],
        message: &str,
        author: &str,
    ) -> Result<Option<String>> {
        debug_assert!(self.git_dir.is_some(), "only a pinned git snapshots");
        // `-m` keeps the stat data of entries that still match, so unchanged files are not
        // hashed again; a damaged index is simply read afresh.
        if self.run(&["read-tree", "-m", parent]).is_err() {
            self.run(&["read-tree", parent])?;
        }
        // Attributes come from `parent`, not from the worktree: a `.gitattributes` the agent
        // wrote cannot attach a filter driver to forge's own `git add`.
        let mut args = Vec::new();
        if git_has_attr_source() {
            args.push(format!("--attr-source={parent}"));
        }
        args.extend([
            "add".to_owned(),
            "--all".to_owned(),
            "--".to_owned(),
            ".".to_owned(),
        ]);
        args.extend(excluded.iter().map(|p| format!(":(exclude,glob){p}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args)?;
        let tree = self.run(&["write-tree"])?.trim().to_owned();
        if tree == self.rev_parse_tree(parent)? {
            return Ok(None);
        }
        Ok(Some(self.as_forge(author).commit_tree(
            &tree,
            &[parent],
            message,
        )?))
    }

    /// The tree of a commit.
    pub fn rev_parse_tree(&self, commit: &str) -> Result<String> {
        Ok(self
            .run(&["rev-parse", "--verify", &format!("{commit}^{{tree}}")])?
            .trim()
            .to_owned())
    }

    /// Names of files changed between two commits.
    pub fn changed_files(&self, from: &str, to: &str) -> Result<Vec<String>> {
        Ok(self
            .run(&[
                "diff",
                "--no-ext-diff",
                "--name-only",
                "--no-renames",
                "-z",
                from,
                to,
            ])?
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// (added, removed) lines between two commits; binary files count as one line each.
    pub fn diff_lines(&self, from: &str, to: &str) -> Result<(u64, u64)> {
        let mut added = 0;
        let mut removed = 0;
        for line in self
            .run(&[
                "diff",
                "--no-ext-diff",
                "--numstat",
                "--no-renames",
                from,
                to,
            ])?
            .lines()
        {
            let mut parts = line.split('\t');
            let a = parts.next().unwrap_or("-");
            let r = parts.next().unwrap_or("-");
            added += a.parse::<u64>().unwrap_or(1);
            removed += r.parse::<u64>().unwrap_or(1);
        }
        Ok((added, removed))
    }

    /// The unified diff between two commits.
    pub fn diff(&self, from: &str, to: &str) -> Result<String> {
        self.run(&[
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
            from,
            to,
        ])
    }

    pub fn diffstat(&self, from: &str, to: &str) -> Result<String> {
        self.run(&["diff", "--stat", "--no-color", "--no-ext-diff", from, to])
    }

    /// Several compare-and-swap ref updates as one transaction (`update-ref --stdin`): all
    /// happen or none. Each is (ref, new, old); old None means "must not exist".
    pub fn update_refs(&self, updates: &[(&str, &str, Option<&str>)]) -> Result<()> {
        use std::io::Write;
        let mut script = String::from("start\n");
        for (r, new, old) in updates {
            let old = old.unwrap_or("0000000000000000000000000000000000000000");
            script.push_str(&format!("update {r} {new} {old}\n"));
        }
        script.push_str("prepare\ncommit\n");
        let mut child = self
            .command(["update-ref", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("git", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .map_err(|e| Error::io("git", e))?;
        }
        let out = child.wait_with_output().map_err(|e| Error::io("git", e))?;
        self.check(&["update-ref", "--stdin"], out).map(drop)
    }

    /// Points `refname` at `new`, only if it currently is `old` (all zeros: must not exist).
    pub fn update_ref(&self, refname: &str, new: &str, old: Option<&str>) -> Result<()> {
        let mut args = vec!["update-ref", refname, new];
        if let Some(old) = old {
            args.push(old);
        }
        self.run(&args)?;
        Ok(())
    }

    /// With a [`pinned`](Git::pinned) git: a commit of everything in the worktree
    /// (ignored files excepted) on top of `parent`, even when nothing changed, for the
    /// attic. Returns the commit id.
    pub fn snapshot_commit(&self, parent: &str, message: &str) -> Result<String> {
        Ok(match self.snapshot(parent, &[], message, "forge")? {
            Some(commit) => commit,
            None => {
                let tree = self.rev_parse_tree(parent)?;
                self.as_forge("forge")
                    .commit_tree(&tree, &[parent], message)?
            }
        })
    }

    /// A commit of `tree` with `parents`, made with the user's identity and signing settings
    /// (`commit-tree` honours `commit.gpgSign`).
    pub fn commit_tree(&self, tree: &str, parents: &[&str], message: &str) -> Result<String> {
        let mut args = vec!["commit-tree", tree];
        for p in parents {
            args.push("-p");
            args.push(p);
        }
        args.push("-m");
        args.push(message);
        Ok(self.run(&args)?.trim().to_owned())
    }

    /// The contents of several objects in one `git cat-file --batch`: `:path` for the
    /// index, `HEAD:path`, a blob id. None for an object that does not exist.
    pub fn cat_file_batch(&self, specs: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        use std::io::{Read, Write};
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let mut child = self
            .command(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("git", e))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input: String = specs.iter().map(|s| format!("{s}\n")).collect();
        // Written from a thread: git answers while it reads, and a large answer would fill
        // the stdout pipe while we were still writing.
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut out = Vec::new();
        child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_to_end(&mut out)
            .map_err(|e| Error::io("git", e))?;
        let status = child.wait().map_err(|e| Error::io("git", e))?;
        let _ = writer.join();
        if !status.success() {
            return Err(Error::GitCommand {
                command: "git cat-file --batch".into(),
                message: format!("exited with {status}"),
            });
        }
        let mut result = Vec::with_capacity(specs.len());
        let mut rest = &out[..];
        for spec in specs {
            let nl = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
            rest = rest.get(nl + 1..).unwrap_or_default();
            if header.ends_with(" missing") || header.ends_with(" ambiguous") {
                result.push(None);
                continue;
            }
            let size: usize = header
                .rsplit(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::GitCommand {
                    command: "git cat-file --batch".into(),
                    message: format!("unexpected answer for {spec}: {header}"),
                })?;
            let body = rest.get(..size).unwrap_or(rest).to_vec();
            rest = rest.get(size + 1..).unwrap_or_default();
            result.push(Some(body));
        }
        Ok(result)
    }

    /// The full id and the trailers (`Key: value` lines, unfolded) of a commit's message.
    pub fn commit_trailers(&self, rev: &str) -> Result<(String, Vec<(String, String)>)> {
        let out = self.run(&[
            "show",
            "-s",
            "--format=%H%x00%(trailers:only,unfold)",
            rev,
            "--",
        ])?;
        let (id, trailers) = out.split_once('\0').unwrap_or((out.as_str(), ""));
        let trailers = trailers
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok((id.trim().to_owned(), trailers))
    }

    /// Whether `ancestor` is reachable from `descendant` (or is it).
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        self.succeeds(&["merge-base", "--is-ancestor", ancestor, descendant])
    }

    /// The best common ancestor of two commits, if they have one.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>> {
        let out = self
            .command(["merge-base", a, b])
            .output()
            .map_err(|e| Error::io("git", e))?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    }

    /// `git verify-commit`: whether `commit` carries a signature that is good by the
    /// user's own gpg/ssh configuration (allowed signers, trust levels), and what git said
    /// about it ("" for an unsigned commit).
    pub fn verify_commit(&self, commit: &str) -> Result<(bool, String)> {
        let out = self
            .command(["verify-commit", commit])
            .output()
            .map_err(|e| Error::io("git", e))?;
        let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Ok((out.status.success(), said))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_refs_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let git = Git::new(dir.path());
        git.run(&["init", "-q"]).unwrap();
        let tree = git.run(&["write-tree"]).unwrap();
        let a = git
            .clone()
            .with_env("GIT_AUTHOR_NAME", "t")
            .with_env("GIT_AUTHOR_EMAIL", "t@t")
            .with_env("GIT_COMMITTER_NAME", "t")
            .with_env("GIT_COMMITTER_EMAIL", "t@t")
            .commit_tree(tree.trim(), &[], "a")
            .unwrap();
        git.update_ref("refs/heads/x", &a, None).unwrap();
        // The second update's expected old value is wrong: neither happens.
        let wrong = "1111111111111111111111111111111111111111";
        assert!(
            git.update_refs(&[("refs/y", &a, None), ("refs/heads/x", &a, Some(wrong))])
                .is_err()
        );
        assert!(git.rev_parse("refs/y").is_err());
        git.update_refs(&[("refs/y", &a, None), ("refs/heads/x", &a, Some(&a))])
            .unwrap();
        assert_eq!(git.rev_parse("refs/y").unwrap(), a);
    }
}
