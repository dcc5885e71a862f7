//! `forge import ...`: work items from other trackers become beads.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use crate::cli::render::Safe;
use crate::cli::ui::Ui;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::import::beads::{self, Imported, Options, Report};

/// Import work items from another tracker
#[derive(Debug, Subcommand)]
pub enum Command {
    Beads(BeadsArgs),
}

/// Import an issues.jsonl written by beads (bd) or beads_rust (br), all or nothing
///
/// Every line is checked first; if any is invalid (not JSON, an unknown field, a status or
/// dependency type forge cannot map, a dependency on an id that is neither in the file nor
/// imported before, a dependency cycle, a second parent), the lines are listed with their
/// numbers and nothing is imported (exit 5). The new beads are written in one batch and
/// recorded in the ledger as `forge bead create` records them.
///
/// Mapping: issue_type task, bug, feature, epic and chore become the same kind, any other
/// type becomes a task labelled beads-type:TYPE. Priority 0-4 is kept; value and risk are
/// forge's defaults (50, low). Status open, in_progress, blocked and hooked become open;
/// deferred, draft and pinned become deferred; closed becomes closed with close_reason as
/// its reason; tombstone (deleted) issues are not imported, and dependencies on them are
/// dropped with a note. Dependencies: blocks becomes blocks, parent-child becomes parent (so
/// epics keep their children), related and discovered-from stay forge dependencies of those
/// types (they never block); waits-for and conditional-blocks become blocks, relates-to,
/// replies-to, duplicates, supersedes and caused-by become related, with the beads type kept
/// beside them in the bead file. acceptance_criteria become the acceptance criteria (one per
/// item of a Markdown list); description, design, notes and comments become the bead's
/// description under a heading each, followed by what forge has no field for (original id
/// and status, assignee, external ref, ...) under "Imported from beads". The labels
/// are kept, and its id is kept as the label beads:ID (`forge bead list --label beads:ID`
/// finds it). An issue whose beads:ID label is already on a bead is left alone, so
/// importing the same file again changes nothing.
#[derive(Debug, clap::Args)]
pub struct BeadsArgs {
    /// The issues.jsonl file (`.beads/issues.jsonl` after `br sync --flush-only`, or `bd
    /// export`)
    pub path: PathBuf,
    /// Import the valid issues, skipping (and listing) invalid lines and the issues that
    /// depend on them
    #[arg(long)]
    pub skip_invalid: bool,
    /// Check and show what would be imported; write nothing (the ids shown are not reserved)
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    match command {
        Command::Beads(args) => run_beads(helper, args),
    }
}

fn run_beads(helper: &CommandHelper, args: BeadsArgs) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let path = helper.cwd().join(&args.path);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let options = Options {
        skip_invalid: args.skip_invalid,
        dry_run: args.dry_run,
    };
    let report = beads::import(&mut ws, &args.path, &bytes, options)?;
    if let Some(err) = report.refusal() {
        // The lines, as data, for --json; the error names them for people.
        if ui.json {
            ui.report(&report, |_| Ok(()))?;
        }
        return Err(err.into());
    }
    for note in &report.notes {
        ui.warn(&format!("{}:{}: {}", report.file, note.line, note.message));
    }
    ui.report(&report, |out| render(ui, out, &report))?;
    Ok(exit::OK)
}

fn render(ui: &Ui, out: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    let file = Safe::line(&r.file);
    if ui.quiet {
        // Just the mapping, for scripts: `beads-id bead-id` per line.
        for (orig, bead) in &r.mapping {
            writeln!(out, "{} {bead}", Safe::line(orig))?;
        }
        return Ok(());
    }
    let width = r
        .created
        .iter()
        .chain(&r.existing)
        .map(|e| e.beads.chars().count())
        .max()
        .unwrap_or(0);
    if r.created.is_empty() && r.existing.is_empty() {
        writeln!(out, "Nothing to import from {file}; nothing changed")?;
    } else if r.created.is_empty() {
        writeln!(
            out,
            "Nothing new in {file}: {} issue(s) were imported before; nothing changed",
            r.existing.len()
        )?;
    } else {
        let verb = if r.dry_run {
            "Would import"
        } else {
            "Imported"
        };
        writeln!(out, "{verb} {} issue(s) from {file}:", r.created.len())?;
        for e in &r.created {
            row(ui, out, e, width)?;
        }
        if r.dry_run {
            writeln!(
                out,
                "(dry run: nothing was written; the ids are not reserved)"
            )?;
        }
    }
    if !r.existing.is_empty() {
        writeln!(out, "Imported before, left alone:")?;
        for e in &r.existing {
            row(ui, out, e, width)?;
        }
    }
    if !r.deleted.is_empty() {
        writeln!(out, "Deleted in beads, not imported:")?;
        for d in &r.deleted {
            writeln!(
                out,
                "  {}  (line {})  {}",
                Safe::line(&d.beads),
                d.line,
                Safe::line(&d.title)
            )?;
        }
    }
    if !r.invalid.is_empty() {
        writeln!(out, "Invalid, skipped:")?;
        for p in &r.invalid {
            writeln!(out, "  {file}:{}: {}", p.line, Safe::line(&p.message))?;
        }
    }
    Ok(())
}

fn row(ui: &Ui, out: &mut dyn Write, e: &Imported, width: usize) -> std::io::Result<()> {
    let pad = " ".repeat(width.saturating_sub(e.beads.chars().count()));
    writeln!(
        out,
        "  {}{pad} -> {}  {:<7}  {:<8}  {}",
        Safe::line(&e.beads),
        ui.id(&e.bead),
        e.kind.as_str(),
        e.status.as_str(),
        Safe::line(&e.title)
    )
}
