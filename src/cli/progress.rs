//! Live progress of a step on stderr: a spinner on a terminal, one plain line per event
//! otherwise, nothing with `--json` or `-q`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::harness::adapter::{Event, RunSummary};
use crate::redact::Redactor;
use crate::step::{Observer, State};

pub struct StepProgress {
    bar: Option<ProgressBar>,
    plain: bool,
    started: Instant,
    phase: String,
    /// What the harness says passes through this before it is shown (it can quote a key).
    redactor: Redactor,
    /// Whether a person at the terminal answers `ask` permission rules.
    asking: bool,
}

impl StepProgress {
    pub fn new(json: bool, quiet: bool) -> StepProgress {
        let silent = json || quiet;
        let tty = std::io::stderr().is_terminal();
        let bar = (!silent && tty).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {prefix} {msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        StepProgress {
            bar,
            plain: !silent && !tty,
            started: Instant::now(),
            phase: String::new(),
            redactor: Redactor::default(),
            asking: false,
        }
    }

    /// Lets the person at the terminal answer an ACP agent's `ask` permission rules.
    pub fn asking(mut self, yes: bool) -> StepProgress {
        self.asking = yes;
        self
    }

    /// Shows the harness's words through `redactor` (without one, only well-known token
    /// shapes are hidden).
    pub fn redacting(mut self, redactor: Redactor) -> StepProgress {
        self.redactor = redactor;
        self
    }

    fn line(&self, text: &str) {
        if self.plain {
            eprintln!("[{:>5.1}s] {text}", self.started.elapsed().as_secs_f64());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for StepProgress {
    fn asker(&self) -> Option<std::sync::Arc<dyn crate::harness::presets::acp::policy::Ask>> {
        self.asking.then(|| {
            std::sync::Arc::new(super::prompt::TerminalAsk {
                bar: self.bar.clone(),
                redactor: self.redactor.clone(),
            }) as std::sync::Arc<dyn crate::harness::presets::acp::policy::Ask>
        })
    }

    fn phase(&mut self, step: &str, state: State, detail: &str) {
        self.phase = format!("{step} {state}");
        if let Some(bar) = &self.bar {
            bar.set_prefix(self.phase.clone());
        }
        self.line(&format!("{step}: {state} ({detail})"));
    }

    fn harness_event(&mut self, event: &Event, summary: &RunSummary) {
        let Some(what) = event.headline(&self.redactor) else {
            return;
        };
        let cost = summary
            .cost_usd
            .map(|c| format!(" ${c:.4}"))
            .unwrap_or_default();
        let tokens = if summary.tokens.reported {
            format!(" [{} tok{cost}]", summary.tokens.total())
        } else {
            String::new()
        };
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{what}{tokens}"));
        }
        self.line(&format!("{what}{tokens}"));
    }
}
