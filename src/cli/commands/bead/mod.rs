//! `forge bead ...`: create, inspect and change beads.

pub mod create;
pub mod dep;
pub mod list;
pub mod show;
pub mod status;
pub mod update;

use clap::Subcommand;

use crate::cli::{CommandHelper, CommandResult};

/// Create, list, show and change beads (work items)
#[derive(Debug, Subcommand)]
pub enum Command {
    Create(create::Args),
    List(list::Args),
    Show(show::Args),
    Update(update::Args),
    Close(status::CloseArgs),
    Reopen(status::ReopenArgs),
    Defer(status::DeferArgs),
    #[command(subcommand)]
    Dep(dep::Command),
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    match command {
        Command::Create(args) => create::run(helper, args),
        Command::List(args) => list::run(helper, args),
        Command::Show(args) => show::run(helper, args),
        Command::Update(args) => update::run(helper, args),
        Command::Close(args) => status::close(helper, args),
        Command::Reopen(args) => status::reopen(helper, args),
        Command::Defer(args) => status::defer(helper, args),
        Command::Dep(cmd) => dep::run(helper, cmd),
    }
}

/// Parses `ID` or `ID:TYPE` for `--dep`.
pub fn parse_dep(s: &str) -> Result<(String, crate::bead::DepKind), String> {
    match s.split_once(':') {
        Some((id, kind)) => Ok((id.to_owned(), kind.parse()?)),
        None => Ok((s.to_owned(), crate::bead::DepKind::Blocks)),
    }
}
