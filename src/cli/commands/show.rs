use crate::cli::{CommandHelper, CommandResult};

/// Show a bead (shortcut for `forge bead show`)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bead id or any unique prefix of one
    pub id: String,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    super::bead::show::run(helper, super::bead::show::Args { id: args.id })
}
