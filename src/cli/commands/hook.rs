//! `forge hook pre-commit|post-commit`: what the installed hooks run. Hidden: people run
//! `forge hooks install`, or call these from their own hook manager (docs/hooks.md).

use std::path::PathBuf;

use clap::Subcommand;

use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::git::cli::Git;
use crate::hooks::postcommit;
use crate::workspace::redactor_of;

/// Run forge's part of a git hook
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the staged .forge/ files; exit 7 to refuse the commit
    PreCommit,
    /// Link and close beads named in the new commit's trailers; never fails
    PostCommit(PostCommitArgs),
}

#[derive(Debug, clap::Args)]
pub struct PostCommitArgs {
    /// The commit to read (default: HEAD)
    #[arg(long, default_value = "HEAD")]
    pub rev: String,
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    match command {
        Command::PreCommit => pre_commit(helper),
        Command::PostCommit(args) => Ok(post_commit(helper, &args)),
    }
}

fn var<'a>(helper: &'a CommandHelper, name: &str) -> Option<&'a str> {
    helper
        .env()
        .vars
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn pre_commit(helper: &CommandHelper) -> CommandResult {
    let ui = helper.ui();
    let (_, layout) = helper.repository()?;
    let mut git = Git::new(&layout.root);
    // A partial commit (`git commit FILE`, `commit -a`) stages into a temporary index that
    // git names here; the checks must read that one.
    if let Some(index) = var(helper, "GIT_INDEX_FILE") {
        let index: PathBuf = helper.cwd().join(index);
        git = git.with_env("GIT_INDEX_FILE", &index.to_string_lossy());
    }
    let config = crate::config::Config::load(&layout.config()).ok();
    let redactor = redactor_of(config.as_ref(), helper.env());
    let report = crate::hooks::precommit::check_staged(&git, &redactor)?;
    if report.ok() {
        if ui.json {
            ui.report(&report, |_| Ok(()))?;
        }
        return Ok(exit::OK);
    }
    ui.report(&report, |out| {
        writeln!(
            out,
            "forge: commit refused: {} problem(s) in staged .forge/ files",
            report.problems.len()
        )?;
        for p in &report.problems {
            match p.line {
                Some(line) => writeln!(out, "  {}:{line}: {}", p.file, p.message)?,
                None => writeln!(out, "  {}: {}", p.file, p.message)?,
            }
            writeln!(out, "    hint: {}", p.hint)?;
        }
        writeln!(
            out,
            "(to commit anyway, which is not recommended: git commit --no-verify)"
        )
    })?;
    Ok(exit::REFUSED)
}

/// Never fails: the commit is made already; every problem is a warning.
fn post_commit(helper: &CommandHelper, args: &PostCommitArgs) -> u8 {
    let ui = helper.ui();
    let warn = |message: String| ui.warn(&format!("forge post-commit: {message}"));
    let (repo, layout) = match helper.repository() {
        Ok(r) => r,
        Err(e) => {
            warn(e.to_string());
            return exit::OK;
        }
    };
    // Not a forge repository, or a step's own worktree (forge records its commits itself).
    let in_step_worktree = crate::step::worktree_dirs(layout)
        .iter()
        .any(|d| layout.root.starts_with(d));
    if !layout.config().exists() || in_step_worktree {
        return exit::OK;
    }
    if args.rev == "HEAD" && repo.state() != git2::RepositoryState::Clean {
        warn(format!(
            "skipped while a {:?} is in progress (writing .forge/ now could stop it); afterwards run `forge hook post-commit --rev <commit>` for each commit",
            repo.state()
        ));
        return exit::OK;
    }
    let git = Git::new(&layout.root);
    let (commit, trailers) = match postcommit::read(&git, &args.rev) {
        Ok(t) => t,
        Err(e) => {
            warn(e.to_string());
            return exit::OK;
        }
    };
    if !postcommit::wanted(&trailers) {
        return exit::OK;
    }
    let mut ws = match helper.workspace() {
        Ok(ws) => ws,
        Err(e) => {
            warn(e.to_string());
            return exit::OK;
        }
    };
    let report = match postcommit::apply(&mut ws, &commit, &trailers) {
        Ok(r) => r,
        Err(e) => {
            warn(e.to_string());
            return exit::OK;
        }
    };
    for w in &report.warnings {
        warn(w.clone());
    }
    let short: String = report.commit.chars().take(12).collect();
    let _ = ui.report(&report, |out| {
        for b in &report.linked {
            if report.closed.contains(b) {
                writeln!(out, "forge: closed {} (commit {short})", ui.id(b))?;
            } else if report.already_closed.contains(b) {
                writeln!(
                    out,
                    "forge: linked {} to commit {short} (already closed)",
                    ui.id(b)
                )?;
            } else {
                writeln!(out, "forge: linked {} to commit {short}", ui.id(b))?;
            }
        }
        Ok(())
    });
    exit::OK
}
