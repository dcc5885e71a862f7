use serde::Serialize;

use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};
use crate::error::{Error, exit};
use crate::ledger::growth::{HistoryReport, verify_history};
use crate::ledger::history::resolve_range;
use crate::ledger::review::short;
use crate::ledger::{VerifyReport, verify_all};
use crate::workspace::open_repo;

/// Check every hash chain in the ledger, and with --range its history
///
/// Names the file and line of every break: a changed byte, a deleted, inserted or moved
/// line. A torn last line left by a killed run is reported and moved aside to
/// `<file>.torn`, not counted as a break.
///
/// With --range, also checks every commit in the range against each of its parents:
/// committed ledger files only ever grew (no line rewritten, no file truncated, deleted or
/// renamed; a merge bringing files from both parents is fine), and every committed
/// version's chain holds. Each violation names the commit, file and line. Without a value,
/// the range starts at the merge base with the default branch (see `forge ledger render`).
///
/// Exits with 8 when anything is broken: suitable as a required check in CI.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Change nothing: report a torn last line as a problem instead of moving it aside
    #[arg(long)]
    pub no_quarantine: bool,
    /// Also check the committed history of BASE..HEAD, BASE...HEAD or BASE (up to HEAD)
    #[arg(
        long,
        value_name = "BASE..HEAD",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub range: Option<String>,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    tree: &'a VerifyReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a HistoryReport>,
}

pub fn run(ui: &Ui, ctx: &Context, args: Args) -> CommandResult {
    let layout = super::super::ready::layout(ctx)?;
    let report = verify_all(&layout.ledger(), !args.no_quarantine)?;
    let history = match &args.range {
        Some(spec) => {
            let (repo, _) = open_repo(&ctx.cwd)?;
            let range = resolve_range(&repo, Some(spec))?;
            Some(verify_history(&repo, range)?)
        }
        None => None,
    };
    let show = |p: &std::path::Path| layout.display(p).into_owned();
    for t in &report.torn {
        match (&t.quarantined, t.live) {
            (_, true) => ui.status(&format!(
                "{}: last line is still being written by a live run",
                show(&t.file)
            )),
            (Some(q), _) => ui.warn(&format!(
                "{}: torn last line ({} bytes) from an interrupted run, moved to {}",
                show(&t.file),
                t.bytes,
                show(q)
            )),
            (None, _) => ui.warn(&format!(
                "{}: torn last line ({} bytes) from an interrupted run",
                show(&t.file),
                t.bytes
            )),
        }
    }
    let history_line = |p: &crate::ledger::growth::HistoryProblem| {
        format!(
            "commit {}: {}:{}: {}",
            short(&p.commit),
            p.file,
            p.line,
            p.message
        )
    };
    let out = Report {
        tree: &report,
        history: history.as_ref(),
    };
    ui.report(&out, |out| {
        for p in &report.problems {
            writeln!(out, "{}:{}: {}", show(&p.file), p.line, p.message)?;
        }
        if report.ok() {
            writeln!(
                out,
                "ledger ok: {} events in {} files",
                report.events, report.files
            )?;
        }
        if let Some(h) = &history {
            for p in &h.problems {
                writeln!(out, "{}", history_line(p))?;
            }
            if h.ok() {
                writeln!(
                    out,
                    "history ok: {} commits in {}, {} committed file versions",
                    h.commits, h.range.spec, h.versions
                )?;
            }
        }
        Ok(())
    })?;
    let first = report
        .problems
        .first()
        .map(|p| format!("{}:{}: {}", show(&p.file), p.line, p.message))
        .or_else(|| {
            history
                .as_ref()
                .and_then(|h| h.problems.first())
                .map(history_line)
        });
    match first {
        None => Ok(exit::OK),
        Some(first) => {
            let err = Error::VerifyFailed {
                count: report.problems.len() + history.as_ref().map_or(0, |h| h.problems.len()),
                first,
            };
            ui.error(&err);
            Ok(err.exit_code())
        }
    }
}
