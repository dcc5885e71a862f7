//! Interactive prompts (dialoguer, on stderr). Only used when stdin and stderr are
//! terminals and neither --json nor -q was given; otherwise commands ask for a flag.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, Select};

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

/// Shows `text` in $PAGER (default `less -FRX`), or prints it when no pager runs.
pub fn page(text: &str) {
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -FRX".into());
    let child = Command::new("sh")
        .arg("-c")
        .arg(&pager)
        .stdin(Stdio::piped())
        .spawn();
    match child {
        Ok(mut child) => {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            if child.wait().is_ok_and(|s| s.success()) {
                return;
            }
            eprint!("{text}");
        }
        Err(_) => eprint!("{text}"),
    }
}
