//! Choosing what a step works on: its bead, its base, its attempt, and the bead's lease.

use super::busy::Busy;
use super::checkpoint::{self, Checkpoint};
use super::lease;
use crate::bead::graph::Graph;
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::bead::{Bead, Kind, Status};
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::store::StoreLock;
use crate::workspace::Workspace;

/// The base branch a step starts from and its commit, or a sentence saying why there is
/// none (HEAD detached, no commit yet, no such branch).
pub(crate) fn base_to_start_from(ws: &Workspace) -> Result<(String, String)> {
    let main = Git::new(&ws.layout.root);
    let base_branch = match &ws.config.step.base {
        Some(b) => b.clone(),
        None => main.current_branch()?.ok_or_else(|| Error::Refused {
            message: "HEAD is detached, so there is no base branch to start from".into(),
            hint: "check out a branch, or set [step] base in .forge/config.toml".into(),
        })?,
    };
    match main.rev_parse(&format!("refs/heads/{base_branch}")) {
        Ok(commit) => return Ok((base_branch, commit)),
        Err(Error::GitCommand { .. }) => {} // no such commit: say why below
        Err(e) => return Err(e),
    }
    let any_branch = main.run(&[
        "for-each-ref",
        "--count=1",
        "--format=%(refname)",
        "refs/heads/",
    ])?;
    Err(if any_branch.trim().is_empty() {
        Error::Refused {
            message: "the repository has no commits: commit something first".into(),
            hint: "a step starts from the latest commit of its base branch: \
                   `git add -A && git commit -m \"initial commit\"`, then run the step again"
                .into(),
        }
    } else if ws.config.step.base.is_some() {
        Error::Refused {
            message: format!("the base branch '{base_branch}' ([step] base) does not exist"),
            hint: "set [step] base in .forge/config.toml to a branch that exists, or create it \
                   with `git branch`"
                .into(),
        }
    } else {
        Error::Refused {
            message: format!("the branch '{base_branch}' has no commits yet"),
            hint: "commit something on it first, or set [step] base in .forge/config.toml to a \
                   branch that has commits"
                .into(),
        }
    })
}

/// The bead to work on: `wanted` (an id or prefix), or the top of the ready queue.
pub(super) fn pick_bead(ws: &Workspace, wanted: Option<&str>) -> Result<Bead> {
    let repo = BeadRepo::new(&ws.layout);
    let mut buf = IndexBuf::default();
    let index = repo.index(&mut buf)?;
    let graph = Graph::new(&index);
    let busy = Busy::load(&ws.layout)?;
    let id = match wanted {
        Some(w) => {
            let id = repo.resolve(w)?;
            let summary = graph.get(&id).expect("resolved ids are in the index");
            if summary.kind == Kind::Epic {
                return Err(Error::Refused {
                    message: format!(
                        "{id} is an epic: its children are the work, and it closes itself when \
                         the last of them closes"
                    ),
                    hint: format!(
                        "run `forge step` on one of its children (`forge ready` lists those that \
                         can start), or close it by hand if it is done: forge bead close {id}"
                    ),
                });
            }
            if summary.status != Status::Open {
                return Err(Error::Refused {
                    message: format!("{id} is {}", summary.status),
                    hint: format!("reopen it first: forge bead reopen {id}"),
                });
            }
            let blockers = graph.blockers(summary);
            if let Some(b) = blockers.first() {
                return Err(Error::Refused {
                    message: format!("{id} is not ready: blocked by {}", b.id()),
                    hint: "see `forge blocked`".into(),
                });
            }
            id
        }
        None => busy
            .startable(&graph)
            .first()
            .map(|b| b.id.to_owned())
            .ok_or_else(|| Error::Refused {
                message: "no bead is ready".into(),
                hint: "see `forge blocked`, or create one with `forge bead create`".into(),
            })?,
    };
    if busy.holds(&id) {
        let gone = checkpoint::of_bead(&ws.layout, &id)?
            .iter()
            .find_map(|c| super::owner_gone_hint(&ws.layout, c));
        return Err(Error::Refused {
            message: format!("{id} already has a step running or waiting for approval"),
            hint: gone.unwrap_or_else(|| "see `forge steps`".into()),
        });
    }
    repo.load(&id)
}

/// Takes the bead's lease, refused while another forge process holds it or the bead has a
/// step running or waiting (checked again under the lease: another process may have
/// finished a step meanwhile).
pub(super) fn take_lease(ws: &Workspace, bead: &str) -> Result<StoreLock> {
    let Some(lease) = lease::try_take(&ws.layout, bead)? else {
        return Err(Error::Refused {
            message: format!("{bead} is being worked on by another forge process"),
            hint: "see `forge steps`".into(),
        });
    };
    if Busy::load(&ws.layout)?.holds(bead) {
        return Err(Error::Refused {
            message: format!("{bead} already has a step running or waiting for approval"),
            hint: "see `forge steps`".into(),
        });
    }
    Ok(lease)
}

/// The bead's next attempt number: past every attempt a checkpoint or a branch records.
pub(crate) fn next_attempt(ws: &Workspace, bead: &str, earlier: &[Checkpoint]) -> Result<u32> {
    let from_checkpoints = earlier.iter().map(|c| c.attempt).max().unwrap_or(0);
    let git = Git::new(&ws.layout.root);
    let from_branches = git
        .run(&[
            "for-each-ref",
            "--format=%(refname)",
            &format!("refs/heads/forge/{bead}/"),
        ])?
        .lines()
        .filter_map(|r| r.rsplit('/').next()?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    Ok(from_checkpoints.max(from_branches) + 1)
}
