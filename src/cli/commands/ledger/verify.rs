use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};
use crate::error::{Error, exit};
use crate::ledger::verify_all;

/// Check every hash chain in the ledger
///
/// Names the file and line of every break: a changed byte, a deleted, inserted or moved
/// line. A torn last line left by a killed run is reported and moved aside to
/// `<file>.torn`, not counted as a break. Exits with 8 when anything is broken.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Change nothing: report a torn last line as a problem instead of moving it aside
    #[arg(long)]
    pub no_quarantine: bool,
}

pub fn run(ui: &Ui, ctx: &Context, args: Args) -> CommandResult {
    let layout = super::super::ready::layout(ctx)?;
    let report = verify_all(&layout.ledger(), !args.no_quarantine)?;
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
    ui.report(&report, |out| {
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
        Ok(())
    })?;
    if report.ok() {
        Ok(exit::OK)
    } else {
        let p = &report.problems[0];
        let err = Error::VerifyFailed {
            count: report.problems.len(),
            first: format!("{}:{}: {}", show(&p.file), p.line, p.message),
        };
        ui.error(&err);
        Ok(err.exit_code())
    }
}
