use serde::Serialize;

use crate::bead::graph::{Blocker, Graph};
use crate::bead::repo::{BeadRepo, IndexBuf};
use crate::bead::{Bead, Kind};
use crate::cli::render;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Show one bead in full (an epic with its children and what it waits for)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bead id or any unique prefix of one
    pub id: String,
}

#[derive(Serialize)]
struct Child {
    id: String,
    status: crate::bead::Status,
    title: String,
}

#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    bead: &'a Bead,
    /// An epic's children (beads whose parent it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    children: Option<Vec<Child>>,
    /// What keeps an open bead from being ready, as `forge blocked` lists it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    blocked_by: Vec<Blocker<'a>>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let repo = BeadRepo::new(layout);
    let bead = repo.load(&repo.resolve(&args.id)?)?;
    let mut buf = IndexBuf::default();
    let index = repo.index(&mut buf)?;
    let graph = Graph::new(&index);
    let children = (bead.kind == Kind::Epic).then(|| {
        graph
            .children(&bead.id)
            .iter()
            .map(|c| Child {
                id: c.id.to_owned(),
                status: c.status,
                title: c.title.to_owned(),
            })
            .collect::<Vec<_>>()
    });
    let blocked_by = graph
        .get(&bead.id)
        .map(|b| graph.blockers(b))
        .unwrap_or_default();
    let shown = Shown {
        bead: &bead,
        children,
        blocked_by,
    };
    ui.report(&shown, |out| {
        render::bead(ui, out, &bead)?;
        if let Some(children) = &shown.children {
            if children.is_empty() {
                writeln!(
                    out,
                    "\n  children: none yet (add one with --parent {})",
                    bead.id
                )?;
            } else {
                writeln!(out, "\n  children:")?;
                for c in children {
                    writeln!(
                        out,
                        "    {}  {:<8}  {}",
                        ui.id(&c.id),
                        c.status.as_str(),
                        render::Safe::line(&c.title)
                    )?;
                }
            }
        }
        for b in &shown.blocked_by {
            let line = match b {
                Blocker::OpenChild { id } => format!("waits for {} (open child)", ui.id(id)),
                other => render::blocker(ui, other),
            };
            writeln!(out, "  {line}")?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
