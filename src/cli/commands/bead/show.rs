use crate::bead::repo::BeadRepo;
use crate::cli::render;
use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};
use crate::error::exit;

/// Show one bead in full
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bead id or any unique prefix of one
    pub id: String,
}

pub fn run(ui: &Ui, ctx: &Context, args: Args) -> CommandResult {
    let layout = super::super::ready::layout(ctx)?;
    let repo = BeadRepo::new(&layout);
    let bead = repo.load(&repo.resolve(&args.id)?)?;
    ui.report(&bead, |out| render::bead(ui, out, &bead))?;
    Ok(exit::OK)
}
