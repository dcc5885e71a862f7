//! Committing forge's own state after a tick, touching only `.forge/` paths: a separate
//! index builds the commit, so whatever the user staged or changed stays as it was.

use crate::error::Result;
use crate::git::cli::Git;
use crate::step::checkpoint::{self, State};
use crate::workspace::Workspace;

/// Commits the `.forge/` changes on the checked-out branch; returns the commit, or None when
/// there was nothing to commit.
pub fn commit_state(ws: &Workspace, message: &str) -> Result<Option<String>> {
    let main = Git::new(&ws.layout.root);
    let Ok(head) = main.rev_parse("HEAD") else {
        return Ok(None);
    };
    let index = ws.layout.tick_index();
    let _ = std::fs::remove_file(&index);
    let scratch = main
        .clone()
        .with_env("GIT_INDEX_FILE", &index.to_string_lossy());
    scratch.run(&["read-tree", &head])?;
    scratch.run(&["add", "--all", "--", ".forge"])?;
    let tree = scratch.run(&["write-tree"])?.trim().to_owned();
    let _ = std::fs::remove_file(&index);
    let head_tree = main
        .run(&["rev-parse", &format!("{head}^{{tree}}")])?
        .trim()
        .to_owned();
    if tree == head_tree {
        return Ok(None);
    }
    let commit = main.commit_tree(&tree, &[&head], message)?;
    main.update_ref("HEAD", &commit, Some(&head))?;
    // The user's index still has the old .forge/ entries; bring only those up to date.
    main.run(&["reset", "-q", "--", ".forge"])?;
    Ok(Some(commit))
}

/// Pushes the branches of steps waiting for approval (explicit refspecs, never forced).
pub fn push_branches(ws: &mut Workspace, remote: &str) -> Result<()> {
    let branches: Vec<String> = checkpoint::load_all(&ws.layout)?
        .into_iter()
        .filter(|c| c.state == State::AwaitingApproval)
        .map(|c| format!("refs/heads/{0}:refs/heads/{0}", c.branch))
        .collect();
    if branches.is_empty() {
        return Ok(());
    }
    ws.record(crate::ledger::Payload::BranchesPush {
        remote: remote.to_owned(),
        refs: branches.clone(),
    })?;
    let mut args = vec!["push", "--quiet", remote];
    args.extend(branches.iter().map(String::as_str));
    Git::new(&ws.layout.root).run(&args)?;
    Ok(())
}
