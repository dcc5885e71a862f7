use std::io::{IsTerminal, Write};

use crate::approval::{self, How};
use crate::cli::progress::StepProgress;
use crate::cli::prompt::{interactive, select, text};
use crate::cli::render::Safe;
use crate::cli::ui::Ui;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::git::cli::Git;
use crate::step::Checkpoint;
use crate::step::revise::revise;
use crate::workspace::Workspace;

/// Approve a step and merge it into its base branch
///
/// On a terminal, shows each step waiting for approval (bead, harness, cost, gates, risk,
/// the agent's last message, diffstat), then its diff (through $PAGER, default `less -R`,
/// when stdout is a terminal), and asks: approve, reject, revise, view the diff again, or
/// skip. Without a terminal
/// nothing is approved unless --yes names the step explicitly; otherwise exits 3. The
/// approval is bound to the step's head commit and recorded in the ledger before the merge.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Step id (fg-3k9x.1) or bead id; default: choose among the waiting steps
    pub step: Option<String>,
    /// Approve STEP without asking (the ledger records that a flag approved it)
    #[arg(long, requires = "step")]
    pub yes: bool,
    /// Approve only if the step's head is this commit (what you reviewed)
    #[arg(long, value_name = "COMMIT")]
    pub head: Option<String>,
}

pub fn needs_human(what: &str, flag: &str) -> Error {
    Error::NeedsHuman {
        message: format!("{what} needs a human, and there is no terminal to ask on"),
        hint: format!("pass {flag} to decide explicitly"),
    }
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    // A named step is looked up first: an unknown id, or a step with nothing to approve,
    // is said as such before anyone is asked (or told a human is needed).
    let named = match &args.step {
        Some(s) => {
            let cp = crate::step::checkpoint::load_step(&ws.layout, s)?;
            approval::check_approvable(&ws, &cp)?;
            Some(cp)
        }
        None => None,
    };
    if args.yes {
        let step = args.step.as_deref().expect("clap requires STEP with --yes");
        let cp = named.as_ref().expect("loaded above");
        let head = match &args.head {
            Some(h) => Some(approval::reviewed_head(&ws, cp, h)?),
            None => None,
        };
        if head.is_none() && cp.state == crate::step::State::AwaitingApproval {
            ui.status(&format!(
                "Approving {} at {} (pass --head to bind the approval to the commit you reviewed)",
                cp.step, cp.head
            ));
        }
        let approved = approval::approve(&mut ws, step, head.as_deref(), How::Flag)?;
        ui.report(&approved, |out| merged_line(ui, out, &approved))?;
        return Ok(code(&approved));
    }
    if !interactive(ui) {
        let target = args.step.unwrap_or_else(|| "STEP".into());
        return Err(needs_human(
            "approving a step",
            &format!("`forge approve {target} --yes`"),
        )
        .into());
    }
    let mut queue: Vec<Checkpoint> = match named {
        Some(cp) => vec![cp],
        None => approval::waiting(&ws)?,
    };
    if queue.is_empty() {
        ui.status("No step is waiting for approval.");
        return Ok(exit::OK);
    }
    if args.step.is_none() && queue.len() > 1 {
        let items: Vec<String> = queue
            .iter()
            .map(|c| format!("{}  {}", c.step, title(&ws, c)))
            .collect();
        match select("Which step?", &items)? {
            Some(i) => queue = vec![queue.swap_remove(i)],
            None => return Ok(exit::OK),
        }
    }
    let mut cp = queue.remove(0);
    // The diff is shown once for each head the question is about (again after a revision).
    let mut diff_shown_at = String::new();
    loop {
        show(&ws, &cp)?;
        if diff_shown_at != cp.head {
            show_diff(ui, &ws, &cp)?;
            diff_shown_at = cp.head.clone();
        }
        // The highlighted choice is harmless, and merging takes a typed word: a stray
        // Space, Enter or paste never merges.
        let choices = [
            "view the diff",
            "approve and merge",
            "reject",
            "revise (send feedback)",
            "skip",
        ];
        let items: Vec<String> = choices.iter().map(|s| s.to_string()).collect();
        match select(&format!("{}:", cp.step), &items)? {
            Some(0) => show_diff(ui, &ws, &cp)?,
            Some(1) => {
                let answer = text(&format!(
                    "Type \"merge\" to merge {} at {} into {}",
                    cp.step,
                    approval::short(&cp.head),
                    cp.base_ref.trim_start_matches("refs/heads/")
                ))?;
                if answer.trim() != "merge" {
                    ui.status(&format!("Not merged: {} still waits.", cp.step));
                    continue;
                }
                let approved = approval::approve(&mut ws, &cp.step, Some(&cp.head), How::Prompt)?;
                ui.report(&approved, |out| merged_line(ui, out, &approved))?;
                return Ok(code(&approved));
            }
            Some(2) => {
                let reason = text("Why reject it? (the next attempt sees this)")?;
                let rejected = approval::reject(&mut ws, &cp.step, &reason)?;
                ui.report(&rejected, |out| {
                    writeln!(
                        out,
                        "Rejected {}; the work is kept in {}",
                        ui.id(&rejected.step),
                        rejected.attic
                    )
                })?;
                return Ok(exit::OK);
            }
            Some(3) => {
                let feedback = text("What should change?")?;
                let mut progress = StepProgress::new(false, false).redacting(ws.redactor.clone());
                let outcome = revise(&mut ws, &cp.step, &feedback, &mut progress);
                progress.finish();
                let outcome = outcome?;
                cp = outcome.checkpoint;
                if cp.state != crate::step::State::AwaitingApproval {
                    ui.report(&cp, |out| {
                        writeln!(out, "{} {}: {}", ui.id(&cp.step), cp.state, cp.reason)
                    })?;
                    return Ok(exit::FAILURE);
                }
            }
            _ => {
                ui.status(&format!("Skipped {}; it still waits.", cp.step));
                return Ok(exit::OK);
            }
        }
    }
}

/// Exits 1 when the merge queue sent the approved step back (nothing was merged).
fn code(a: &approval::Approved) -> u8 {
    let sent_back =
        a.queue.iter().flatten().any(
            |o| matches!(o, approval::queue::Outcome::SentBack { step, .. } if *step == a.step),
        );
    if sent_back { exit::FAILURE } else { exit::OK }
}

/// The bead's title, safe to print at the prompt (an agent or a planner may have written
/// escape sequences into it).
fn title(ws: &Workspace, cp: &Checkpoint) -> String {
    let title = crate::bead::repo::BeadRepo::new(&ws.layout)
        .load(&cp.bead)
        .map(|b| b.title)
        .unwrap_or_default();
    crate::cli::render::Safe::line(&title).to_string()
}

fn merged_line(ui: &Ui, out: &mut dyn Write, a: &approval::Approved) -> std::io::Result<()> {
    if let Some(ran) = &a.queue {
        writeln!(
            out,
            "Approved {} at {}; it went through the merge queue",
            ui.id(&a.step),
            approval::short(&a.head)
        )?;
        for o in ran {
            super::queue::outcome_line(ui, out, o)?;
        }
        let handled = ran.iter().any(|o| match o {
            approval::queue::Outcome::Merged(m) => m.step == a.step,
            approval::queue::Outcome::SentBack { step, .. } => *step == a.step,
            _ => false,
        });
        if !handled {
            writeln!(
                out,
                "{} waits in the merge queue (`forge queue`)",
                ui.id(&a.step)
            )?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "Merged {} into {} as {} (approved by {} via {})",
        ui.id(&a.step),
        a.base_ref.trim_start_matches("refs/heads/"),
        approval::short(&a.merge_commit),
        a.approved_by,
        a.how.as_str()
    )?;
    for epic in &a.closed_epics {
        writeln!(out, "Closed {}: all its children are closed", ui.id(epic))?;
    }
    Ok(())
}

/// The step's diff (what would be merged), redacted: on a terminal through `$PAGER`
/// (default `less -R`, with `LESS=FRX` unless `LESS` is set, as git does) and coloured unless
/// colour is off; printed on stdout as it is when stdout is not a terminal.
fn show_diff(ui: &Ui, ws: &Workspace, cp: &Checkpoint) -> crate::Result<()> {
    let base = approval::review_base(ws, cp)?;
    let range = format!("{base}..{}", cp.head);
    let color = if ui.color {
        "--color=always"
    } else {
        "--color=never"
    };
    let diff = Git::new(&ws.layout.root).run(&[
        "diff",
        color,
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
        &range,
    ])?;
    let diff = crate::cli::render::safe_coloured(&ws.redactor.redact(&diff));
    let mut stdout = std::io::stdout();
    if !stdout.is_terminal() || !crate::cli::prompt::page(&diff) {
        let _ = stdout.write_all(diff.as_bytes());
        let _ = stdout.flush();
    }
    Ok(())
}

/// The review summary, on stderr next to the prompt.
fn show(ws: &Workspace, cp: &Checkpoint) -> crate::Result<()> {
    let git = Git::new(&ws.layout.root);
    let stat = git.diffstat(&approval::review_base(ws, cp)?, &cp.head)?;
    if !approval::seal::verify(&ws.layout, cp) {
        let _ = writeln!(
            std::io::stderr(),
            "\n  NOTE: this step's evidence was not written by this clone (another clone, a \
             merge or a hand edit); forge re-runs its gates on {} before merging.",
            approval::short(&cp.head)
        );
    }
    let tokens = if cp.tokens.reported {
        cp.tokens.total().to_string()
    } else {
        "unknown".into()
    };
    let cost = cp.cost_usd.map_or("unknown".into(), |c| format!("${c:.4}"));
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "\n{}  {}", cp.step, title(ws, cp));
    let _ = writeln!(
        e,
        "  harness: {} ({}{})",
        cp.harness,
        cp.preset,
        if cp.model.is_empty() {
            String::new()
        } else {
            format!(", {}", cp.model)
        }
    );
    let _ = writeln!(
        e,
        "  duration: {:.1}s  tokens: {tokens}  cost: {cost}  risk: {}",
        cp.duration_ms as f64 / 1000.0,
        cp.risk.map_or("", |r| r.as_str())
    );
    if !cp.sandbox.is_empty() {
        let _ = writeln!(e, "  harness ran: {}", cp.sandbox);
    }
    if !cp.final_message.is_empty() {
        // Saved redacted; redacted again (a key added since), and shown, not sent, to the
        // terminal: an agent's words may hold escape sequences.
        let said = ws.redactor.redact(&cp.final_message);
        let _ = writeln!(e, "  the agent's last message:");
        for line in Safe::text(&said).to_string().lines() {
            let _ = writeln!(e, "    | {line}");
        }
    }
    // An ACP agent's permission requests, as forge answered them (best effort: the
    // ledger is read again here only to show them).
    let decisions: Vec<_> = crate::ledger::read_events(&ws.layout.ledger())
        .map(|(events, _)| events)
        .unwrap_or_default()
        .iter()
        .filter_map(|ev| match ev.payload() {
            crate::ledger::Payload::HarnessPermission { at, decision } if at.step == cp.step => {
                Some(decision)
            }
            _ => None,
        })
        .collect();
    if let Some(text) = crate::harness::presets::acp::policy::summary(&decisions) {
        let said = Safe::line(&ws.redactor.redact(&text)).to_string();
        let _ = writeln!(e, "  permissions: {said}");
    }
    for line in super::step::gate_lines(cp, true) {
        let _ = writeln!(e, "{line}");
    }
    // Best effort: a prediction that cannot be made (a base ref gone, a git error) must not
    // stop the review; the merge itself finds any conflict.
    let predicted = crate::step::checkpoint::load_all(&ws.layout)
        .and_then(|all| crate::step::overlap::predict(&ws.layout, &all))
        .unwrap_or_default();
    if let Some(p) = predicted.into_iter().find(|p| p.step == cp.step) {
        let base = crate::step::overlap::base_name(&cp.base_ref);
        let _ = writeln!(e, "  conflict ahead: {}", p.describe(base));
    }
    let raised: Vec<_> = crate::assumption::load_all(&ws.layout)?
        .into_iter()
        .filter(|a| a.step == cp.step)
        .collect();
    if !raised.is_empty() {
        let _ = writeln!(e, "  assumptions the step raised:");
        for a in raised {
            let _ = writeln!(
                e,
                "    {} ({} risk, {}): {}",
                a.id,
                a.risk,
                a.status.as_str(),
                a.text
            );
        }
    }
    let _ = writeln!(e, "  head: {}  branch: {}", cp.head, cp.branch);
    let _ = write!(e, "{stat}");
    Ok(())
}
