//! `forge ledger ...`: read and check the run ledger.

pub mod render;
pub mod show;
pub mod verify;

use clap::Subcommand;

use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};

/// Read, check and review the append-only run ledger
#[derive(Debug, Subcommand)]
pub enum Command {
    Show(show::Args),
    Render(render::Args),
    Verify(verify::Args),
}

pub fn run(ui: &Ui, ctx: &Context, command: Command) -> CommandResult {
    match command {
        Command::Show(args) => show::run(ui, ctx, args),
        Command::Render(args) => render::run(ui, ctx, args),
        Command::Verify(args) => verify::run(ui, ctx, args),
    }
}
