//! Output: the report on stdout (text or JSON), everything else on stderr.

use std::io::{self, IsTerminal, Write};
use std::sync::OnceLock;

use serde::Serialize;

use crate::error::Error;
use crate::redact::Redactor;

/// Builds the redactor when a message needs it and no command has set one.
pub type RedactorSource = Box<dyn Fn() -> Redactor + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub struct Ui {
    pub json: bool,
    pub quiet: bool,
    pub color: bool,
    /// Printed paths are shown relative to this directory when inside it.
    pub root: Option<String>,
    /// What errors, warnings and step reasons pass through before they are printed: the
    /// same redactor that guards `.forge/` (see [`Ui::redactor`]).
    redactor: OnceLock<Redactor>,
    redactor_source: Option<RedactorSource>,
}

const RESET: &str = "\x1b[0m";

/// See [`Ui::painted`].
pub struct Painted<T> {
    style: Option<&'static str>,
    text: T,
}

impl<T: std::fmt::Display> std::fmt::Display for Painted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.style {
            Some(style) => write!(f, "{style}{}{RESET}", self.text),
            None => self.text.fmt(f),
        }
    }
}

impl Ui {
    pub fn new(json: bool, quiet: bool, color: ColorChoice, no_color_env: bool) -> Ui {
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !json && !no_color_env && io::stdout().is_terminal(),
        };
        Ui {
            json,
            quiet,
            color,
            root: None,
            redactor: OnceLock::new(),
            redactor_source: None,
        }
    }

    /// The redactor for what this command prints, once a command has opened the
    /// repository (it has the config, so `pass_env` values are known). Ignored when one is
    /// already in use.
    pub fn set_redactor(&self, redactor: Redactor) {
        let _ = self.redactor.set(redactor);
    }

    /// How to build the redactor if no command sets one (errors before or without a
    /// workspace): `main` loads the config if it can.
    pub fn set_redactor_source(&mut self, source: RedactorSource) {
        self.redactor_source = Some(source);
    }

    pub fn redactor(&self) -> &Redactor {
        self.redactor.get_or_init(|| {
            self.redactor_source
                .as_ref()
                .map_or_else(Redactor::default, |source| source())
        })
    }

    fn redact(&self, text: &str) -> String {
        self.redactor().redact(text).into_owned()
    }

    pub fn paint(&self, style: &'static str, text: &str) -> String {
        self.painted(style, text).to_string()
    }

    /// `text` in `style` when colour is on, for writing without building a string.
    pub fn painted<T: std::fmt::Display>(&self, style: &'static str, text: T) -> Painted<T> {
        Painted {
            style: self.color.then_some(style),
            text,
        }
    }

    pub fn id(&self, id: &str) -> String {
        self.paint("\x1b[33m", id)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("\x1b[1m", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("\x1b[2m", text)
    }

    /// Prints the command's report: as JSON with `--json`, otherwise through `human`.
    pub fn report<T: Serialize>(
        &self,
        report: &T,
        human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let stdout = io::stdout();
        let mut out = io::BufWriter::new(stdout.lock());
        if self.json {
            serde_json::to_writer_pretty(&mut out, report)?;
            writeln!(out)?;
        } else {
            human(&mut out)?;
        }
        out.flush()
    }

    /// A status line on stderr (not with `-q` or `--json`).
    pub fn status(&self, message: &str) {
        if !self.quiet && !self.json {
            eprintln!("{message}");
        }
    }

    /// A warning on stderr; one JSON object per line with `--json`.
    pub fn warn(&self, message: &str) {
        let message = self.redact(&self.relative(message));
        if self.json {
            eprintln!("{}", serde_json::json!({ "warning": message }));
        } else if !self.quiet {
            eprintln!("{} {message}", self.paint("\x1b[33m", "warning:"));
        }
    }

    fn relative(&self, text: &str) -> String {
        match &self.root {
            Some(root) => text.replace(&format!("{root}/"), ""),
            None => text.to_owned(),
        }
    }

    /// An error on stderr (a JSON envelope with `--json`), through the redactor: a harness
    /// or git error can quote a key.
    pub fn error(&self, err: &Error) {
        let message = self.redact(&self.relative(&err.to_string()));
        let hints: Vec<String> = err
            .hints()
            .iter()
            .map(|h| self.redact(&self.relative(h)))
            .collect();
        if self.json {
            let envelope = serde_json::json!({
                "error": {
                    "code": err.code(),
                    "exit": err.exit_code(),
                    "message": message,
                    "hints": hints,
                }
            });
            eprintln!("{envelope}");
            return;
        }
        eprintln!("{} {message}", self.paint("\x1b[1;31m", "error:"));
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            eprintln!("  caused by: {}", self.redact(&cause.to_string()));
            source = cause.source();
        }
        for hint in hints {
            eprintln!("{} {hint}", self.paint("\x1b[36m", "hint:"));
        }
    }
}
