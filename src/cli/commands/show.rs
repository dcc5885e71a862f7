use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};

/// Show a bead (shortcut for `forge bead show`)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bead id or any unique prefix of one
    pub id: String,
}

pub fn run(ui: &Ui, ctx: &Context, args: Args) -> CommandResult {
    super::bead::show::run(ui, ctx, super::bead::show::Args { id: args.id })
}
