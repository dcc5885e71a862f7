//! Step worktrees that lost their checkpoint, checkpoints that lost their worktree, and
//! worktrees git still lists whose directory is gone.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{DoctorReport, Severity};
use crate::error::Result;
use crate::git::cli::Git;
use crate::step::{checkpoint, worktree_dirs};
use crate::store::Layout;

pub(super) fn check(
    layout: &Layout,
    git: &Git,
    fix: bool,
    report: &mut DoctorReport,
) -> Result<()> {
    let dirs = worktree_dirs(layout);
    let entries = git.worktree_entries()?;
    let checkpoints = checkpoint::load_all(layout).unwrap_or_default();
    let claimed: BTreeSet<PathBuf> = checkpoints
        .iter()
        .map(|c| layout.step_worktree(&c.worktree))
        .collect();
    let registered: BTreeSet<PathBuf> = entries.iter().map(|e| e.path.clone()).collect();
    let before = report.findings.len();

    let prunable: Vec<_> = entries.iter().filter(|e| e.prunable).collect();
    if !prunable.is_empty() {
        let names: Vec<String> = prunable
            .iter()
            .map(|e| e.path.display().to_string())
            .collect();
        if fix {
            git.worktree_prune()?;
            report.fixed(
                "worktrees",
                Severity::Warning,
                format!(
                    "git listed worktrees whose directory is gone ({}): pruned",
                    names.join(", ")
                ),
            );
        } else {
            report.push(
                "worktrees",
                Severity::Warning,
                format!(
                    "git lists worktrees whose directory is gone: {}",
                    names.join(", ")
                ),
                Some("git worktree prune".into()),
            );
        }
    }
    for e in entries
        .iter()
        .filter(|e| dirs.iter().any(|d| e.path.starts_with(d)) && !e.prunable)
    {
        if !claimed.contains(&e.path) {
            report.push(
                "worktrees",
                Severity::Warning,
                format!(
                    "{} is a worktree under forge's directory that no checkpoint names",
                    e.path.display()
                ),
                Some(format!(
                    "look at it, then `git worktree remove {}` (git refuses if it holds changes)",
                    e.path.display()
                )),
            );
        }
    }
    for children in dirs.iter().filter_map(|d| std::fs::read_dir(d).ok()) {
        for child in children.flatten() {
            let p = child.path();
            if p.is_dir() && !registered.contains(&p) && !claimed.contains(&p) {
                report.push(
                    "worktrees",
                    Severity::Warning,
                    format!(
                        "{} is a directory under forge's worktrees that git does not know",
                        p.display()
                    ),
                    Some(format!("look at it, then remove it: rm -r {}", p.display())),
                );
            }
        }
    }
    let mut finished_with_worktree = Vec::new();
    for cp in &checkpoints {
        let wt = layout.step_worktree(&cp.worktree);
        let exists = wt.exists();
        if cp.state.is_finished() && exists {
            finished_with_worktree.push(cp.step.clone());
        } else if !cp.state.is_finished() && !exists && cp.state != crate::step::State::Approved {
            report.push(
                "worktrees",
                Severity::Warning,
                format!(
                    "step {} is {} but its worktree {} is gone",
                    cp.step,
                    cp.state,
                    wt.display()
                ),
                Some(format!(
                    "forge reject {} --reason \"worktree lost\" (its branch {} stays)",
                    cp.step, cp.branch
                )),
            );
        }
    }
    if !finished_with_worktree.is_empty() {
        report.push(
            "worktrees",
            Severity::Warning,
            format!(
                "{} finished steps still have worktrees ({})",
                finished_with_worktree.len(),
                finished_with_worktree.join(", ")
            ),
            Some("forge gc".into()),
        );
    }
    if report.findings.len() == before {
        report.ok(
            "worktrees",
            format!(
                "{} step checkpoints; no orphaned or missing worktrees",
                checkpoints.len()
            ),
        );
    }
    Ok(())
}
