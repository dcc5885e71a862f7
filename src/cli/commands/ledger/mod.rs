//! `forge ledger ...`: read and check the run ledger.

pub mod render;
pub mod show;
pub mod verify;

use clap::Subcommand;

use crate::cli::{CommandHelper, CommandResult};

/// Read, check and review the append-only run ledger
#[derive(Debug, Subcommand)]
pub enum Command {
    Show(show::Args),
    Render(render::Args),
    Verify(verify::Args),
}

pub fn run(helper: &CommandHelper, command: Command) -> CommandResult {
    match command {
        Command::Show(args) => show::run(helper, args),
        Command::Render(args) => render::run(helper, args),
        Command::Verify(args) => verify::run(helper, args),
    }
}
