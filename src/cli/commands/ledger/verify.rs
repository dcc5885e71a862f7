use serde::Serialize;

use crate::cli::render::plural;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::git::cli::Git;
use crate::ledger::growth::{HistoryProblem, HistoryReport};
use crate::ledger::history::resolve_range;
use crate::ledger::provenance::{ApprovalMerge, ApprovalsReport, Violation, verify_range};
use crate::ledger::review::short;
use crate::ledger::{VerifyReport, verify_all};

/// Check every hash chain in the ledger, and with --range its history and approvals
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
/// With --range, also proves that agent work reached HEAD only through approvals: every
/// commit in the range that carries a `Forge-Step:` trailer must be an approval merge (a
/// merge whose second parent the ledger committed at HEAD approves for that step, and
/// whose `step.merged` names it), a rollback the ledger records, or reachable from HEAD
/// only through the approval merge of its own step. Anything else (an agent commit
/// fast-forwarded, cherry-picked, or merged by a merge the ledger does not record, or
/// under an approval of another head) is named with its step and what is missing. The
/// report lists each approval merge with who approved it and how (prompt, flag, policy).
/// Claims on a shared remote are checked too: a `claim.released` by a generation older than
/// one that had taken the claim over by then, or for another step than its generation
/// took, is named (a stale holder's result, which must never be published).
///
/// Exits with 8 when anything is broken: suitable as a required check in CI (see
/// docs/ci.md).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Change nothing: report a torn last line as a problem instead of moving it aside
    #[arg(long)]
    pub no_quarantine: bool,
    /// Also check the committed history of BASE..HEAD, BASE...HEAD or BASE (up to HEAD),
    /// and that its agent commits reached HEAD through approvals
    #[arg(
        long,
        value_name = "BASE..HEAD",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub range: Option<String>,
    /// With --range: every approval merge must carry a good signature (`git verify-commit`,
    /// by your gpg or ssh configuration, e.g. gpg.ssh.allowedSignersFile)
    #[arg(long, requires = "range")]
    pub require_signed: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    tree: &'a VerifyReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a HistoryReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approvals: Option<&'a ApprovalsReport>,
}

/// Text from commit messages and the ledger, with control characters (terminal escape
/// sequences) shown escaped rather than obeyed.
fn printable(text: &str) -> String {
    crate::cli::render::Safe::line(text).to_string()
}

fn history_line(p: &HistoryProblem) -> String {
    format!(
        "commit {}: {}:{}: {}",
        short(&p.commit),
        printable(&p.file),
        p.line,
        printable(&p.message)
    )
}

fn violation_line(v: &Violation) -> String {
    format!(
        "commit {}: {}: {}",
        short(&v.commit),
        printable(&v.step),
        printable(&v.message)
    )
}

fn merge_line(m: &ApprovalMerge) -> String {
    let mut line = format!(
        "approved: merge {} of {} at {} ({}), by {} ({})",
        short(&m.commit),
        printable(&m.step),
        short(&m.head),
        plural(m.commits, "commit"),
        printable(&m.approved_by),
        printable(&m.how)
    );
    if let Some(sig) = &m.signature {
        let said = sig.detail.lines().next().unwrap_or_default();
        line.push_str(&match (sig.good, said.is_empty()) {
            (true, _) => format!(", signed: {}", printable(said)),
            (false, true) => ", not signed".to_owned(),
            (false, false) => format!(", bad signature: {}", printable(said)),
        });
    }
    line
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let report = verify_all(&layout.ledger(), !args.no_quarantine)?;
    let (history, approvals) = match &args.range {
        Some(spec) => {
            let (repo, _) = helper.repository()?;
            let range = resolve_range(repo, Some(spec))?;
            // The user's own git: their gpg/ssh configuration decides what is a good
            // signature.
            let git = Git::new(&layout.root);
            let signatures = args.require_signed.then_some(&git);
            let (history, approvals) = verify_range(repo, range, signatures)?;
            (Some(history), Some(approvals))
        }
        None => (None, None),
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
    let out = Report {
        tree: &report,
        history: history.as_ref(),
        approvals: approvals.as_ref(),
    };
    ui.report(&out, |out| {
        for p in &report.problems {
            writeln!(out, "{}:{}: {}", show(&p.file), p.line, p.message)?;
        }
        if report.ok() {
            writeln!(
                out,
                "ledger ok: {} in {}",
                plural(report.events, "event"),
                plural(report.files, "file")
            )?;
        }
        if let Some(h) = &history {
            for p in &h.problems {
                writeln!(out, "{}", history_line(p))?;
            }
            if h.ok() {
                writeln!(
                    out,
                    "history ok: {} in {}, {}",
                    plural(h.commits, "commit"),
                    h.range.spec,
                    plural(h.versions, "committed file version")
                )?;
            }
        }
        if let Some(a) = &approvals {
            for m in &a.merges {
                writeln!(out, "{}", merge_line(m))?;
            }
            for r in &a.rollbacks {
                writeln!(
                    out,
                    "rolled back: {} reverted by {} ({})",
                    printable(&r.step),
                    short(&r.commit),
                    printable(&r.by)
                )?;
            }
            for v in &a.problems {
                writeln!(out, "{}", violation_line(v))?;
            }
            if a.ok() {
                writeln!(
                    out,
                    "approvals ok: {} carrying Forge-Step, {}{}, {}",
                    plural(a.step_commits, "commit"),
                    plural(a.merges.len(), "approval merge"),
                    if a.require_signed { " all signed" } else { "" },
                    plural(a.rollbacks.len(), "rollback")
                )?;
            }
        }
        Ok(())
    })?;
    if let Some(a) = approvals.as_ref().filter(|a| !a.ok()) {
        ui.status(&format!(
            "note: approvals are read from the ledger as committed at {} (commit .forge/ after approving)",
            short(&a.head)
        ));
    }
    let first = report
        .problems
        .first()
        .map(|p| format!("{}:{}: {}", show(&p.file), p.line, p.message))
        .or_else(|| {
            history
                .as_ref()
                .and_then(|h| h.problems.first())
                .map(history_line)
        })
        .or_else(|| {
            approvals
                .as_ref()
                .and_then(|a| a.problems.first())
                .map(violation_line)
        });
    let count = report.problems.len()
        + history.as_ref().map_or(0, |h| h.problems.len())
        + approvals.as_ref().map_or(0, |a| a.problems.len());
    match first {
        None => Ok(exit::OK),
        Some(first) => {
            let approvals_only = report.problems.is_empty()
                && history.as_ref().is_none_or(|h| h.problems.is_empty());
            let err = Error::VerifyFailed {
                count,
                first,
                approvals_only,
            };
            ui.error(&err);
            Ok(err.exit_code())
        }
    }
}
