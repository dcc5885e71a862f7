//! The command-line interface: argument parsing, dispatch, rendering and exit codes. This is
//! the only layer that prints or reads the process environment.

pub mod commands;
pub mod helper;
pub mod progress;
pub mod prompt;
pub mod render;
pub mod ui;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser};

use crate::error::{Error, exit};
use crate::workspace::Environment;
pub use helper::CommandHelper;
use ui::{ColorChoice, Ui};

/// forge runs AI coding agents on a git repository: beads, steps, approvals and a ledger.
#[derive(Debug, Parser)]
#[command(name = "forge", version, after_long_help = exit::help(), propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: commands::Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Run as if forge was started in DIR
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print the report as JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour output (NO_COLOR turns `auto` off)
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,
    /// Print only the report, no status lines
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Ctrl-C, SIGTERM and SIGHUP set the interrupt flag, which stops a running harness (and
/// everything it started) cleanly; a second signal ends forge at once.
fn install_signal_handlers() {
    let flag = crate::harness::process::interrupt_flag();
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register_conditional_shutdown(
            signal,
            i32::from(exit::INTERRUPTED),
            flag.clone(),
        );
        let _ = signal_hook::flag::register(signal, flag.clone());
    }
}

pub fn main() -> ExitCode {
    let first = std::env::args().nth(1).unwrap_or_default();
    if first == crate::sandbox::netns::FORWARD_ARG {
        let args: Vec<String> = std::env::args().skip(2).collect();
        return ExitCode::from(crate::sandbox::netns::forward_main(&args) as u8);
    }
    if first == crate::sandbox::netns::PROBE_ARG {
        return ExitCode::from(crate::sandbox::netns::probe_main() as u8);
    }
    if first == crate::sandbox::ptys::PROBE_ARG {
        return ExitCode::from(crate::sandbox::ptys::probe_main() as u8);
    }
    if first == crate::sandbox::pidns::PROBE_ARG {
        let args: Vec<String> = std::env::args().skip(2).collect();
        return ExitCode::from(crate::sandbox::pidns::probe_main(&args) as u8);
    }
    let mut args = std::env::args_os();
    let first = args.nth(1);
    if first.as_deref() == Some(std::ffi::OsStr::new(crate::sandbox::exec::ARG)) {
        // The sandbox trampoline: it returns only if it could not exec the harness, or,
        // when the harness runs in a PID namespace of its own, once it ended.
        return match crate::sandbox::exec::main(args.collect()) {
            Ok(ended) => ExitCode::from(crate::sandbox::pidns::end(ended)),
            Err(message) => {
                eprintln!("forge: sandbox: {message}");
                ExitCode::from(crate::sandbox::exec::FAILED)
            }
        };
    }
    if first.as_deref() == Some(std::ffi::OsStr::new(crate::sandbox::pidns::INIT_ARG)) {
        // PID 1 of the harness's own PID namespace.
        return match crate::sandbox::pidns::init_main(args.collect()) {
            Ok(code) => ExitCode::from(code),
            Err(message) => {
                eprintln!("forge: sandbox: {message}");
                ExitCode::from(crate::sandbox::exec::FAILED)
            }
        };
    }
    install_signal_handlers();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    #[allow(clippy::disallowed_methods)] // the CLI's entry: how to print, before anything else
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut ui = Ui::new(
        cli.global.json,
        cli.global.quiet,
        cli.global.color,
        no_color,
    );
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            ui.error(&Error::io(".", e));
            return ExitCode::from(exit::FAILURE);
        }
    };
    let cwd = match &cli.global.dir {
        Some(dir) => cwd.join(dir),
        None => cwd,
    };
    // For messages only: the nearest directory with a `.git`, found without opening the
    // repository a second time.
    ui.root = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(|d| d.display().to_string());
    let env = Environment::from_process();
    let (at, printing_env) = (cwd.clone(), env.clone());
    ui.set_redactor_source(Box::new(move || printing_redactor(&at, &printing_env)));
    let helper = CommandHelper::new(&ui, cwd, env);
    match commands::run(&helper, cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(CommandError::Forge(e)) => {
            ui.error(&e);
            ExitCode::from(e.exit_code())
        }
        Err(CommandError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(exit::OK)
        }
        Err(CommandError::Output(e)) => {
            ui.error(&Error::io("<stdout>", e));
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// The redactor for what is printed without a workspace (an error before or instead of
/// one): the environment's secrets, and the config's (`pass_env`) when it loads.
fn printing_redactor(cwd: &std::path::Path, env: &Environment) -> crate::redact::Redactor {
    let config = crate::workspace::open_repo(cwd)
        .ok()
        .and_then(|(_, layout)| crate::config::Config::load(&layout.config()).ok());
    crate::workspace::redactor_of(config.as_ref(), env)
}

/// What a command can fail with: the library's error, or failing to print its report.
#[derive(Debug)]
pub enum CommandError {
    Forge(Error),
    Output(std::io::Error),
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        CommandError::Forge(e)
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        CommandError::Output(e)
    }
}

/// A command returns its exit code (0 unless it reports a failure it already printed).
pub type CommandResult = Result<u8, CommandError>;

/// Leaves `value` for the kernel to reclaim when the process exits, which it does in one
/// sweep. For the bead index at the end of a command: unmapping its megabytes block by
/// block costs a TLB shootdown each once a second thread has run, about a millisecond at
/// 10,000 beads, a tenth of `forge ready`. Only for what a command holds until it returns.
pub fn free_at_exit<T>(value: T) {
    std::mem::forget(value);
}
