use std::time::Instant;

use crate::cli::progress::StepProgress;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::harness::adapter::{Event, RunSummary};
use crate::redact::Redactor;
use crate::step::{Observer, State};
use crate::tick::{TickOptions, TickReport, tick};

/// Do one round of unattended work (for cron)
///
/// Never prompts and never overlaps another tick on the same repository (a second one exits
/// 0 at once). Honours `forge pause`; reclaims steps whose owner died; runs up to
/// [tick] steps ready beads within the [budget] limits; trips the circuit breaker after
/// [tick] breaker consecutive failures; leaves each step waiting for approval unless
/// [policy] auto_approve allows its risk tier. Prints one summary line.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The [harness.NAME] to run (default: [step] harness)
    #[arg(long, value_name = "NAME")]
    pub harness: Option<String>,
    /// Steps to run at once, each in its own worktree, sandbox and lease (default: [tick]
    /// jobs, 1); a step starts only while the day's [budget] covers its reservation
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Claim beads on this shared git remote, so that ticks on several machines never run
    /// one twice, and publish each result there (default: [tick] remote; see
    /// docs/scale-out.md)
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    ui.set_redactor(ws.redactor.clone());
    // A tick's steps are not watched by a person: one plain line per event at most.
    let mut progress = StepProgress::new(ui.json, ui.quiet).redacting(ws.redactor.clone());
    let (json, quiet, redactor) = (ui.json, ui.quiet, ws.redactor.clone());
    let started = Instant::now();
    let job_observers = move || -> Box<dyn Observer + Send> {
        Box::new(JobProgress {
            plain: !json && !quiet,
            started,
            step: String::new(),
            redactor: redactor.clone(),
        })
    };
    let result = tick(
        &mut ws,
        &TickOptions {
            harness: args.harness,
            jobs: args.jobs,
            remote: args.remote,
        },
        &mut progress,
        &job_observers,
    );
    progress.finish();
    let r = redacted(ui.redactor(), &result?);
    ui.report(&r, |out| {
        let ran: Vec<String> = r
            .ran
            .iter()
            .map(|s| match &s.merged {
                Some(commit) => format!(
                    "{} merged by policy in {}",
                    s.step,
                    crate::approval::short(commit)
                ),
                None => format!("{} {}", s.step, s.state),
            })
            .collect();
        let spent = &r.spent_today;
        writeln!(
            out,
            "tick: {}; ran {}{}; reclaimed {}; awaiting approval {}; today ${:.2}, {} tokens",
            r.reason,
            r.ran.len(),
            if ran.is_empty() {
                String::new()
            } else {
                format!(" ({})", ran.join(", "))
            },
            r.reclaimed.len(),
            r.awaiting_approval.len(),
            spent.money,
            spent.tokens
        )?;
        for w in &r.warnings {
            writeln!(out, "warning: {w}")?;
        }
        for c in &r.reconciled {
            writeln!(
                out,
                "finished recording the merge of {} ({}): {}",
                c.step,
                crate::approval::short(&c.merge_commit),
                c.finished.join(", ")
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}

/// What one of several steps running at once reports: plain lines on stderr, each naming
/// its step (no spinner: several would fight over one line).
struct JobProgress {
    plain: bool,
    started: Instant,
    step: String,
    redactor: Redactor,
}

impl JobProgress {
    fn line(&self, text: &str) {
        if self.plain {
            eprintln!("[{:>5.1}s] {text}", self.started.elapsed().as_secs_f64());
        }
    }
}

impl Observer for JobProgress {
    fn phase(&mut self, step: &str, state: State, detail: &str) {
        step.clone_into(&mut self.step);
        self.line(&format!("{step}: {state} ({detail})"));
    }

    fn harness_event(&mut self, event: &Event, _summary: &RunSummary) {
        if let Some(what) = event.headline(&self.redactor) {
            self.line(&format!("{}: {what}", self.step));
        }
    }
}

/// The report as it may be printed (and mailed by cron): the reasons a step failed can
/// quote what a harness said, keys included.
fn redacted(redactor: &Redactor, report: &TickReport) -> TickReport {
    let mut r = report.clone();
    let redact = |text: &mut String| *text = redactor.redact(text).into_owned();
    redact(&mut r.reason);
    for ran in &mut r.ran {
        redact(&mut ran.reason);
    }
    for (_, until) in &mut r.rate_limited {
        redact(until);
    }
    if let Some(pause) = &mut r.paused {
        redact(&mut pause.reason);
    }
    r
}
