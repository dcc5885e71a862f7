use crate::bead::ops::{self, NewBead};
use crate::bead::{DepKind, Kind, Risk};
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Create a bead (with -q, print only its id)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One-line title
    pub title: String,
    /// Longer description
    #[arg(short, long, default_value = "")]
    pub description: String,
    /// An acceptance criterion (repeatable)
    #[arg(short, long = "acceptance", value_name = "TEXT")]
    pub acceptance: Vec<String>,
    /// Kind of work
    #[arg(short, long, default_value = "task", value_enum)]
    pub kind: Kind,
    /// Priority from 0 (most urgent) to 4
    #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=4))]
    pub priority: u8,
    /// Value to the project, 0 to 100
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub value: u8,
    /// Risk of the change
    #[arg(long, default_value = "low", value_enum)]
    pub risk: Risk,
    /// A label (repeatable)
    #[arg(short, long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// A dependency, as ID or ID:TYPE with TYPE one of blocks (default), parent, related,
    /// discovered-from (repeatable)
    #[arg(long = "dep", value_name = "ID[:TYPE]", value_parser = super::parse_dep)]
    pub deps: Vec<(String, DepKind)>,
    /// The parent bead (same as --dep ID:parent)
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
}

pub fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let mut ws = helper.workspace()?;
    let mut deps = args.deps;
    if let Some(parent) = args.parent {
        deps.push((parent, DepKind::Parent));
    }
    let bead = ops::create(
        &mut ws,
        NewBead {
            title: args.title,
            description: args.description,
            acceptance: args.acceptance,
            kind: args.kind,
            priority: args.priority,
            value: args.value,
            risk: args.risk,
            labels: args.labels,
            deps,
        },
    )?;
    ui.report(&bead, |out| {
        if ui.quiet {
            // Just the id, for scripts: `id=$(forge -q bead create ...)`.
            writeln!(out, "{}", bead.id)
        } else {
            writeln!(
                out,
                "Created {}  {}",
                ui.id(&bead.id),
                crate::cli::render::Safe::line(&bead.title)
            )
        }
    })?;
    Ok(exit::OK)
}
