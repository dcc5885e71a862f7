//! `forge hooks install|uninstall|status`.

use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;

use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::git::cli::Git;
use crate::hooks::{HookState, HooksReport};

/// Install, remove or inspect forge's git hooks (pre-commit, post-commit)
///
/// forge's part of each hook is a small block between `# >>> forge >>>` and
/// `# <<< forge <<<` lines inside the hook file; your own lines are never touched, and
/// uninstall leaves them byte-identical. Hooks go where git looks for them
/// (`core.hooksPath` if set; linked worktrees share them). See docs/hooks.md for the
/// pre-commit framework, husky and lefthook.
#[derive(Debug, Subcommand)]
pub enum Command {
    Install(InstallArgs),
    Uninstall(UninstallArgs),
    Status(StatusArgs),
}

/// Add forge's block to the pre-commit and post-commit hooks; register the merge driver
///
/// pre-commit refuses commits whose staged .forge/ files are broken (conflict markers, bad
/// TOML, unknown schema, a rewritten ledger line, a secret); post-commit links and closes
/// beads named in `Forge-Bead:`, `Closes:` and `Fixes:` trailers. Running it again
/// refreshes the blocks. Also registers `forge merge-driver` for bead and assumption files,
/// like `forge init`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {}

/// Remove forge's block from the hooks (and hook files forge created)
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {}

/// Show whether forge's hooks and merge driver are installed
#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

/// The forge binary hooks and the merge driver should call: this one.
pub fn forge_exe() -> PathBuf {
    std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .unwrap_or_else(|_| PathBuf::from("forge"))
}

#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    hooks: HooksReport,
    merge_driver: crate::merge::register::DriverStatus,
    /// What registering the merge driver changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    registered: Vec<String>,
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let git = Git::new(&layout.root);
    let exe = forge_exe();
    let (hooks, registered) = match command {
        Command::Install(_) => {
            let hooks = crate::hooks::install(&git, &exe)?;
            let registered = crate::merge::register::register(&git, layout, &exe)?;
            (hooks, registered)
        }
        Command::Uninstall(_) => (crate::hooks::uninstall(&git, &exe)?, Vec::new()),
        Command::Status(_) => (crate::hooks::status(&git, &exe)?, Vec::new()),
    };
    let merge_driver = crate::merge::register::status(&git, layout, &exe)?;
    let report = Report {
        hooks,
        merge_driver,
        registered,
    };
    ui.report(&report, |out| {
        let h = &report.hooks;
        match &h.hooks_path {
            Some(p) => writeln!(
                out,
                "hooks directory: {} (core.hooksPath = {p})",
                h.hooks_dir
            )?,
            None => writeln!(out, "hooks directory: {}", h.hooks_dir)?,
        }
        for (hook, action) in &h.actions {
            writeln!(out, "  {hook}: {action}")?;
        }
        if h.actions.is_empty() {
            for s in &h.hooks {
                let state = match s.state {
                    HookState::Installed => "installed",
                    HookState::Outdated => "installed, outdated (run `forge hooks install`)",
                    HookState::Missing if s.user_lines => {
                        "not installed (a hook of your own is there)"
                    }
                    HookState::Missing => "not installed",
                };
                writeln!(out, "  {}: {state}", s.hook)?;
            }
            let d = &report.merge_driver;
            let driver = if d.ok() {
                "registered"
            } else {
                "not registered (run `forge hooks install`)"
            };
            writeln!(out, "merge driver: {driver}")?;
        }
        for r in &report.registered {
            writeln!(out, "  registered the merge driver: {r}")?;
        }
        for n in &h.notes {
            ui.warn(n);
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
