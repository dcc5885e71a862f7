//! `forge doctor [--fix]`.

use std::time::Duration;

use crate::cli::{CommandHelper, CommandResult};
use crate::doctor::{DoctorOptions, Severity};
use crate::error::exit;
use crate::merge::Side;

/// Check that this repository is in shape for forge, and say how to fix what is not
///
/// Checks: the config is valid; no .forge/ file has conflict markers or fails to parse;
/// hooks and the merge driver are installed; each configured harness's program is on PATH
/// (a known CLI also answers `--version`, run in a scratch directory with the harness's own
/// environment and HOME, for at most 10 s; a `command` harness is never run), and the
/// variables its pass_env names are set; the runtime directory is
/// writable; whether forge is paused (by `forge pause` or the circuit breaker); no orphaned
/// step worktrees or temp files are left; every ledger chain holds; with `[tick] remote`,
/// no claim on the remote is stale (its lease ran out: the holder is gone) or keeps its bead
/// for a step the remote does not have (no branch, no checkpoint on its state ref) or that
/// ended here. Each finding names the command that fixes it.
///
/// --fix applies the safe fixes: repairs conflict-marked .forge/ files field by field (like
/// `forge resolve`), removes dead temp files, registers the merge driver, moves a dead
/// run's torn ledger line aside, prunes worktrees whose directory is gone, and settles a
/// claim whose step ended here or that has no step on the remote (as failed, so any clone
/// may take the bead).
///
/// Exits 1 if an error remains; warnings (such as hooks not installed) do not count.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Apply the safe fixes
    #[arg(long)]
    pub fix: bool,
    /// When repairing, settle a field both sides changed for their side (default: ours)
    #[arg(long)]
    pub theirs: bool,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let opts = DoctorOptions {
        fix: args.fix,
        forge_exe: super::hooks::forge_exe(),
        prefer: if args.theirs {
            Side::Theirs
        } else {
            Side::Ours
        },
        version_timeout: Duration::from_secs(10),
    };
    let report = crate::doctor::doctor(helper.cwd(), helper.env(), &opts)?;
    ui.report(&report, |out| {
        for f in &report.findings {
            let label = match (f.fixed, f.severity) {
                (true, _) => ui.paint("\x1b[32m", "fixed  "),
                (false, Severity::Ok) => ui.paint("\x1b[32m", "ok     "),
                (false, Severity::Warning) => ui.paint("\x1b[33m", "warning"),
                (false, Severity::Error) => ui.paint("\x1b[1;31m", "error  "),
            };
            writeln!(out, "{label} {:<12} {}", f.check, f.message)?;
            if let Some(fix) = &f.fix {
                writeln!(out, "{:20} fix: {fix}", "")?;
            }
        }
        for r in &report.resolved {
            super::resolve::write_resolution(ui, out, r)?;
        }
        writeln!(
            out,
            "{} error(s), {} warning(s)",
            report.errors(),
            report.warnings()
        )
    })?;
    Ok(if report.errors() > 0 {
        exit::FAILURE
    } else {
        exit::OK
    })
}
