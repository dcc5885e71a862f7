//! Merging an approved step into its base branch, and reverting it.
//!
//! If the base branch is checked out in a working tree, the merge happens there with the
//! user's own git (identity, signing, hooks), after checking that it would overwrite none of
//! their uncommitted work; forge never stashes. Otherwise the merge is computed in memory
//! and the branch is moved with a compare-and-swap, touching no working tree.

use std::path::PathBuf;

use super::{How, short};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::step::checkpoint::Checkpoint;
use crate::workspace::Workspace;

pub struct Merged {
    pub commit: String,
    pub worktree: Option<PathBuf>,
}

pub(crate) fn message(ws: &Workspace, cp: &Checkpoint, approver: &str, how: How) -> String {
    let title = crate::bead::repo::BeadRepo::new(&ws.layout)
        .load(&cp.bead)
        .map(|b| b.title)
        .unwrap_or_default();
    format!(
        "Merge forge step {}: {title}\n\nForge-Step: {}\nForge-Bead: {}\nForge-Approved-By: {approver}\nForge-Approval: {}\n",
        cp.step,
        cp.step,
        cp.bead,
        how.as_str()
    )
}

/// A merge of `head` that a killed approval left in progress in `worktree` (its
/// `MERGE_HEAD` is the step's head) is aborted; anyone else's merge is left alone.
fn abort_forges_merge(worktree: &Git, head: &str) -> Result<()> {
    let path = worktree.git_path("MERGE_HEAD")?;
    let ours = std::fs::read_to_string(&path).is_ok_and(|h| h.trim() == head);
    if ours {
        worktree.run(&["merge", "--abort"])?;
    }
    Ok(())
}

/// A `git merge` killed after it wrote the index but before it made the commit leaves the
/// user's checkout with exactly this merge staged (and no MERGE_HEAD). When HEAD is still
/// the base tip and the staged tree is the merge's, the merge is finished forward: the
/// commit is made (with the user's identity and signing), the branch moved by
/// compare-and-swap, and the files it touches written from the index.
fn finish_killed_merge(
    worktree: &Git,
    cp: &Checkpoint,
    base_tip: &str,
    tree: &str,
    touched: &[String],
    msg: &str,
) -> Result<Option<String>> {
    let (_, staged) = worktree.dirty_paths()?;
    if !staged
        || worktree.git_path("MERGE_HEAD")?.exists()
        || worktree.rev_parse("HEAD")? != base_tip
        || worktree.run(&["write-tree"])?.trim() != tree
    {
        return Ok(None);
    }
    let commit = worktree.commit_tree(tree, &[base_tip, &cp.head], msg)?;
    worktree.update_ref(&cp.base_ref, &commit, Some(base_tip))?;
    if !touched.is_empty() {
        let mut args = vec!["checkout-index", "-f", "--"];
        args.extend(touched.iter().map(String::as_str));
        // Paths the merge deleted are not in the index: git skips them with a warning.
        let _ = worktree.run(&args);
    }
    Ok(Some(commit))
}

/// Refuses when the merge would touch uncommitted work in `worktree`.
fn check_clean_for(worktree: &Git, touched: &[String]) -> Result<()> {
    let (dirty, staged) = worktree.dirty_paths()?;
    if staged {
        return Err(Error::Refused {
            message: format!(
                "{} has staged changes, and a merge would mix them into its commit",
                worktree.dir().display()
            ),
            hint: "commit or unstage them first; forge never stashes your work".into(),
        });
    }
    let clash: Vec<&String> = dirty.iter().filter(|d| touched.contains(d)).collect();
    if !clash.is_empty() {
        return Err(Error::Refused {
            message: format!(
                "the merge would overwrite uncommitted changes in {}: {}",
                worktree.dir().display(),
                clash
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            hint: "commit or move those changes first; forge never stashes your work".into(),
        });
    }
    Ok(())
}

fn conflict_error(cp: &Checkpoint, base_ref: &str, conflicts: &[String]) -> Error {
    Error::Refused {
        message: format!(
            "{} conflicts with {base_ref}: {}",
            cp.step,
            conflicts.join(", ")
        ),
        hint: format!(
            "the step still waits; `forge step --rebase {0}` replays it on the new base and \
             has the agent resolve the conflict (or `forge revise {0} --feedback ...`)",
            cp.step
        ),
    }
}

pub fn merge_step(ws: &Workspace, cp: &Checkpoint, approver: &str, how: How) -> Result<Merged> {
    let main = Git::new(&ws.layout.root);
    let base_tip = main.rev_parse(&cp.base_ref)?;
    let merged = main.merge_tree(&base_tip, &cp.head, None)?;
    if !merged.conflicts.is_empty() {
        return Err(conflict_error(cp, &cp.base_ref, &merged.conflicts));
    }
    let msg = message(ws, cp, approver, how);
    match main.worktree_of_branch(&cp.base_ref)? {
        Some(dir) => merge_in_checkout(&main, dir, cp, &base_tip, &merged.tree, &msg),
        None => {
            let commit = main.commit_tree(&merged.tree, &[&base_tip, &cp.head], &msg)?;
            // Compare-and-swap: if the base moved since we read it, nothing changes.
            main.update_ref(&cp.base_ref, &commit, Some(&base_tip))
                .map_err(|_| Error::Refused {
                    message: format!("{} moved while merging; nothing was merged", cp.base_ref),
                    hint: format!("run `forge approve {}` again", cp.step),
                })?;
            Ok(Merged {
                commit,
                worktree: None,
            })
        }
    }
}

/// Advances the base from `base_tip` to `tested`, a merge of the step's head onto that tip
/// whose gates passed (the merge queue). Without a checkout of the base this is a
/// compare-and-swap to exactly that commit; with one, the merge is made there as
/// [`merge_step`] makes it (the user's identity, signing and guarantees), and must come out
/// with the tested tree. `None`: the base is no longer at `base_tip`, nothing changed.
pub fn merge_tested(
    ws: &Workspace,
    cp: &Checkpoint,
    base_tip: &str,
    tested: &str,
) -> Result<Option<Merged>> {
    let main = Git::new(&ws.layout.root);
    if main.rev_parse(&cp.base_ref)? != base_tip {
        return Ok(None);
    }
    let tree_of = |c: &str| -> Result<String> {
        Ok(main
            .run(&["rev-parse", "--verify", &format!("{c}^{{tree}}")])?
            .trim()
            .to_owned())
    };
    let tree = tree_of(tested)?;
    match main.worktree_of_branch(&cp.base_ref)? {
        Some(dir) => {
            let msg = main.run(&["log", "-1", "--format=%B", tested])?;
            let merged = merge_in_checkout(&main, dir, cp, base_tip, &tree, msg.trim_end())?;
            let made = tree_of(&merged.commit)?;
            if made != tree {
                return Err(Error::Refused {
                    message: format!(
                        "the merge made in the checkout ({}) does not hold the tree the gates \
                         ran on ({})",
                        short(&merged.commit),
                        short(tested)
                    ),
                    hint: "inspect the base branch; a hook may have changed the merge".into(),
                });
            }
            Ok(Some(merged))
        }
        None => {
            if main
                .update_ref(&cp.base_ref, tested, Some(base_tip))
                .is_err()
            {
                return Ok(None);
            }
            Ok(Some(Merged {
                commit: tested.to_owned(),
                worktree: None,
            }))
        }
    }
}

/// Merges the step's head in the user's checkout `dir` of the base, whose tip is
/// `base_tip` and the merge's tree `tree`: refuses to touch their uncommitted work, and
/// finishes (or aborts) a merge a killed approval left there.
fn merge_in_checkout(
    main: &Git,
    dir: PathBuf,
    cp: &Checkpoint,
    base_tip: &str,
    tree: &str,
    msg: &str,
) -> Result<Merged> {
    let wt = Git::new(&dir);
    // What the merge brings in is the step's side since the merge base; comparing against
    // the base tip would also list every later change on the base.
    let since = main
        .merge_base(base_tip, &cp.head)?
        .unwrap_or_else(|| base_tip.to_owned());
    let touched = main.changed_files(&since, &cp.head)?;
    abort_forges_merge(&wt, &cp.head)?;
    if let Some(commit) = finish_killed_merge(&wt, cp, base_tip, tree, &touched, msg)? {
        return Ok(Merged {
            commit,
            worktree: Some(dir),
        });
    }
    check_clean_for(&wt, &touched)?;
    if let Err(e) = wt.merge_no_ff(&cp.head, msg) {
        // Never leave the user's index half-merged.
        let aborted = wt.git_path("MERGE_HEAD")?.exists() && wt.run(&["merge", "--abort"]).is_ok();
        return Err(Error::Refused {
            message: format!("merging {} into {} failed: {e}", cp.step, cp.base_ref),
            hint: if aborted {
                "the merge was aborted; your checkout is as it was".into()
            } else {
                format!("check `git status` in {}", dir.display())
            },
        });
    }
    let commit = wt.rev_parse("HEAD")?;
    check_parents(&wt, &commit, base_tip, &cp.head)?;
    Ok(Merged {
        commit,
        worktree: Some(dir),
    })
}

fn check_parents(git: &Git, commit: &str, first: &str, second: &str) -> Result<()> {
    let parents = git.run(&["rev-list", "--parents", "-n", "1", commit])?;
    let parents: Vec<&str> = parents.split_whitespace().skip(1).collect();
    if parents != [first, second] {
        return Err(Error::Refused {
            message: format!(
                "the merge commit {} does not have the expected parents {} and {}",
                short(commit),
                short(first),
                short(second)
            ),
            hint: "inspect the base branch; a hook may have changed the merge".into(),
        });
    }
    Ok(())
}

/// Reverts a merged step on its base branch; returns the revert commit.
pub fn revert_step(ws: &Workspace, cp: &Checkpoint, reason: &str) -> Result<String> {
    let main = Git::new(&ws.layout.root);
    let tip = main.rev_parse(&cp.base_ref)?;
    let first_parent = main.rev_parse(&format!("{}^1", cp.merge_commit))?;
    let msg = format!(
        "Revert forge step {}: {reason}\n\nThis reverts merge {}.\n\nForge-Step: {}\nForge-Bead: {}\nForge-Rollback-By: {}\n",
        cp.step, cp.merge_commit, cp.step, cp.bead, ws.actor
    );
    let reverted = main.merge_tree(&tip, &first_parent, Some(&cp.merge_commit))?;
    if !reverted.conflicts.is_empty() {
        return Err(Error::Refused {
            message: format!(
                "reverting {} conflicts with later changes: {}",
                cp.step,
                reverted.conflicts.join(", ")
            ),
            hint: format!("revert {} by hand with `git revert -m 1`", cp.merge_commit),
        });
    }
    match main.worktree_of_branch(&cp.base_ref)? {
        Some(dir) => {
            let wt = Git::new(&dir);
            let touched = main.changed_files(&first_parent, &cp.merge_commit)?;
            check_clean_for(&wt, &touched)?;
            wt.revert_merge(&cp.merge_commit, &msg)?;
            wt.rev_parse("HEAD")
        }
        None => {
            let commit = main.commit_tree(&reverted.tree, &[&tip], &msg)?;
            main.update_ref(&cp.base_ref, &commit, Some(&tip))?;
            Ok(commit)
        }
    }
}
