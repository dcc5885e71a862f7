use std::io::Write;
use std::process::{Command as Process, Stdio};

use clap::Subcommand;

use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::tick::cron::{block, current, with, without};

/// Run `forge tick` from cron
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add (or update) this repository's entry in your crontab
    Install(Every),
    /// Remove this repository's entry from your crontab
    Uninstall,
    /// Print the entry `install` would add, and whether it is installed
    Show(Every),
}

#[derive(Debug, clap::Args)]
pub struct Every {
    /// Minutes between ticks
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub every: u32,
}

fn crontab_list() -> crate::Result<String> {
    let out = Process::new("crontab")
        .arg("-l")
        .output()
        .map_err(cron_missing)?;
    // "no crontab for user" is an empty crontab, not an error.
    Ok(if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::new()
    })
}

fn cron_missing(e: std::io::Error) -> Error {
    Error::Refused {
        message: format!("cannot run `crontab`: {e}"),
        hint: "install cron, or put the line `forge cron show` prints into a systemd timer or your scheduler".into(),
    }
}

fn crontab_write(text: &str) -> crate::Result<()> {
    let mut child = Process::new("crontab")
        .arg("-")
        .stdin(Stdio::piped())
        .spawn()
        .map_err(cron_missing)?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("crontab", e))?;
    let status = child.wait().map_err(|e| Error::io("crontab", e))?;
    if !status.success() {
        return Err(Error::Refused {
            message: format!("`crontab -` refused the new table ({status})"),
            hint: "check `crontab -l`; nothing was changed".into(),
        });
    }
    Ok(())
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let forge = std::env::current_exe().map_err(|e| Error::io("forge", e))?;
    let log = layout.tick_log();
    let entry = |every: u32| block(&layout.root, &forge, &log, every);
    match command {
        Command::Show(e) => {
            let b = entry(e.every);
            // `show` works without crontab(1); then nobody can tell what is installed.
            let found = crontab_list().ok().map(|t| current(&t, &layout.root));
            let installed = found.as_ref().map(|f| f.as_deref() == Some(b.as_str()));
            let other = found.as_ref().is_some_and(|f| f.is_some()) && installed == Some(false);
            ui.report(
                &serde_json::json!({ "entry": b, "installed": installed, "other_entry": other }),
                |out| {
                    write!(out, "{b}")?;
                    match installed {
                        Some(true) => writeln!(out, "# installed in your crontab"),
                        Some(false) if other => writeln!(
                            out,
                            "# not installed: your crontab has another entry for this \
                             repository; `forge cron install` replaces it"
                        ),
                        Some(false) => {
                            writeln!(out, "# not installed: `forge cron install` adds it")
                        }
                        None => writeln!(
                            out,
                            "# cannot tell whether it is installed: `crontab` cannot be run"
                        ),
                    }
                },
            )?;
        }
        Command::Install(e) => {
            let current = crontab_list()?;
            let b = entry(e.every);
            let next = with(&current, &layout.root, &b);
            let changed = next != current;
            if changed {
                crontab_write(&next)?;
            }
            ui.report(
                &serde_json::json!({ "entry": b, "changed": changed }),
                |out| {
                    if changed {
                        writeln!(
                            out,
                            "Installed: forge tick every {}, logging to {}",
                            crate::cli::render::plural(e.every as usize, "minute"),
                            log.display()
                        )
                    } else {
                        writeln!(out, "Already installed; nothing changed")
                    }
                },
            )?;
        }
        Command::Uninstall => {
            let current = crontab_list()?;
            let next = without(&current, &layout.root);
            let changed = next != current;
            if changed {
                crontab_write(&next)?;
            }
            ui.report(&serde_json::json!({ "changed": changed }), |out| {
                writeln!(
                    out,
                    "{}",
                    if changed {
                        "Removed this repository's forge tick entry"
                    } else {
                        "No entry for this repository; nothing changed"
                    }
                )
            })?;
        }
    }
    Ok(exit::OK)
}
