//! Interactive prompts (dialoguer, on stderr). Only used when stdin and stderr are
//! terminals and neither --json nor -q was given; otherwise commands ask for a flag.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};

use super::ui::Ui;
use crate::error::{Error, Result};

pub fn interactive(ui: &Ui) -> bool {
    !ui.json && !ui.quiet && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn prompt_error(e: dialoguer::Error) -> Error {
    match e {
        dialoguer::Error::IO(io) => Error::io("<terminal>", io),
    }
}

/// One choice among `items`; None when the user pressed Esc or q.
pub fn select(prompt: &str, items: &[String]) -> Result<Option<usize>> {
    Select::with_theme(&ColorfulTheme::default())
        .with_prompt(prompt)
        .items(items)
        .default(0)
        .interact_opt()
        .map_err(prompt_error)
}

/// A non-empty line of text.
pub fn text(prompt: &str) -> Result<String> {
    Input::<String>::with_theme(&ColorfulTheme::default())
        .with_prompt(prompt)
        .validate_with(|s: &String| {
            if s.trim().is_empty() {
                Err("please type something (Ctrl-C to cancel)")
            } else {
                Ok(())
            }
        })
        .interact_text()
        .map_err(prompt_error)
}

/// Shows `text` through `$PAGER` (default `less -R`, with `LESS=FRX` unless `LESS` is
/// set, as git does); false when no pager ran to the end (then the caller prints it).
#[allow(clippy::disallowed_methods)] // the pager is the terminal's choice, read when paging
pub fn page(text: &str) -> bool {
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -R".into());
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(&pager).stdin(Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        cmd.env("LESS", "FRX");
    }
    let Ok(mut child) = cmd.spawn() else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit before the end closes its input: that is not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait().is_ok_and(|s| s.success())
}

/// The person at the terminal, asked about an ACP agent's permission request when a rule
/// says `ask` (see `harness::presets::acp::policy`). The progress spinner is held while
/// asking; what the agent wrote is shown, not sent, and redacted.
pub struct TerminalAsk {
    pub bar: Option<indicatif::ProgressBar>,
    pub redactor: crate::redact::Redactor,
}

impl crate::harness::presets::acp::policy::Ask for TerminalAsk {
    fn ask(
        &self,
        request: &crate::harness::presets::acp::policy::Request,
        because: &str,
    ) -> Option<bool> {
        // One line each: an agent's newlines must not paint lines of their own.
        let shown = |t: &str| super::render::Safe::line(&self.redactor.redact(t)).to_string();
        let what = request
            .command
            .as_deref()
            .or(request.url.as_deref())
            .unwrap_or(&request.title);
        let question = || {
            let mut e = std::io::stderr().lock();
            let _ = writeln!(e, "\nThe agent asks to {}: {}", request.kind, shown(what));
            for p in &request.paths {
                let _ = writeln!(e, "  path: {}", shown(p));
            }
            let _ = writeln!(e, "  rule: {}", shown(because));
            drop(e);
            Confirm::with_theme(&ColorfulTheme::default())
                .with_prompt("Allow it?")
                .default(false)
                .interact_opt()
                .ok()
                .map(|answer| answer.unwrap_or(false))
        };
        match &self.bar {
            Some(bar) => bar.suspend(question),
            None => question(),
        }
    }
}
