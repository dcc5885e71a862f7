//! `forge resolve [FILE]...`: repair conflict-marked .forge/ files.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::cli::ui::Ui;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::git::cli::Git;
use crate::merge::Side;
use crate::merge::resolve::{self, Resolution};

/// Repair .forge/ files that a merge left with git conflict markers
///
/// Takes each side of the conflict (from git's index while the merge is in progress, else
/// from the markers, with the base when they carry one), merges bead, assumption and
/// checkpoint files field by field with the merge driver's rules (docs/merge.md), shows what
/// it decided for each field, records it in the ledger and replaces the file atomically.
/// A field both sides changed differently is settled for ours (or --theirs); the other
/// side's value is shown and recorded. Then `git add` the file.
///
/// Without FILE, repairs every conflict-marked file under .forge/.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to repair (default: every .forge/ file with conflict markers)
    pub files: Vec<PathBuf>,
    /// Settle a field both sides changed for their side instead of ours
    #[arg(long)]
    pub theirs: bool,
}

#[derive(Serialize)]
struct Failure {
    path: String,
    error: String,
}

#[derive(Serialize)]
struct Report {
    resolved: Vec<Resolution>,
    failed: Vec<Failure>,
}

pub fn write_resolution(ui: &Ui, out: &mut dyn Write, r: &Resolution) -> std::io::Result<()> {
    writeln!(out, "{} (sides from {}):", ui.bold(&r.path), r.source)?;
    for d in &r.decisions {
        writeln!(out, "  {}: {}", d.field, d.outcome)?;
    }
    if r.decisions.is_empty() {
        writeln!(out, "  both sides were the same")?;
    }
    Ok(())
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let (_, layout) = helper.repository()?;
    let git = Git::new(&layout.root);
    let prefer = if args.theirs {
        Side::Theirs
    } else {
        Side::Ours
    };
    let targets: Vec<PathBuf> = if args.files.is_empty() {
        resolve::find_conflicted(layout, &git)?
            .into_iter()
            .filter(|c| c.marker_line.is_some())
            .map(|c| layout.root.join(c.path))
            .collect()
    } else {
        args.files.iter().map(|f| helper.cwd().join(f)).collect()
    };
    // The ledger records each repair when the workspace opens (a conflicted config keeps
    // it from opening; the repair still happens).
    let mut ws = helper.workspace().ok();
    let mut report = Report {
        resolved: Vec::new(),
        failed: Vec::new(),
    };
    let mut first_error: Option<Error> = None;
    for abs in &targets {
        let result = resolve::prepare(layout, &git, abs, prefer)
            .and_then(|r| crate::doctor::apply(layout, ws.as_mut(), &r).map(|()| r));
        match result {
            Ok(r) => report.resolved.push(r),
            Err(e) => {
                report.failed.push(Failure {
                    path: layout.display(abs).into_owned(),
                    error: e.to_string(),
                });
                if !ui.json {
                    ui.error(&e);
                }
                first_error.get_or_insert(e);
            }
        }
    }
    ui.report(&report, |out| {
        for r in &report.resolved {
            write_resolution(ui, out, r)?;
        }
        if !report.resolved.is_empty() {
            let paths: Vec<&str> = report.resolved.iter().map(|r| r.path.as_str()).collect();
            ui.status(&format!(
                "Review the result, then: git add {}",
                paths.join(" ")
            ));
        }
        if targets.is_empty() {
            writeln!(out, "no .forge/ file has conflict markers")?;
        }
        Ok(())
    })?;
    Ok(first_error.map_or(exit::OK, |e| e.exit_code()))
}
