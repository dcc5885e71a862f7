//! `forge ledger ...`: read and check the run ledger.

pub mod show;
pub mod verify;

use clap::Subcommand;

use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};

/// Read and check the append-only run ledger
#[derive(Debug, Subcommand)]
pub enum Command {
    Show(show::Args),
    Verify(verify::Args),
}

pub fn run(ui: &Ui, ctx: &Context, command: Command) -> CommandResult {
    match command {
        Command::Show(args) => show::run(ui, ctx, args),
        Command::Verify(args) => verify::run(ui, ctx, args),
    }
}
