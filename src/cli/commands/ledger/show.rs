use serde::Serialize;

use crate::bead::repo::BeadRepo;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;
use crate::ledger::line::decode;
use crate::ledger::{Event, ledger_files, read_file};

/// List ledger events, oldest first
///
/// Lines that do not verify are skipped here with a warning; `forge ledger verify` names
/// them.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events about this bead (id or unique prefix)
    #[arg(long, value_name = "ID")]
    pub bead: Option<String>,
    /// Only the last N events
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Serialize)]
struct Report {
    events: Vec<Event>,
}

fn mentions(event: &Event, bead: &str) -> bool {
    let payload = event.payload();
    payload.bead() == Some(bead) || payload.dep() == Some(bead)
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let bead = match &args.bead {
        Some(id) => {
            let repo = BeadRepo::new(layout);
            // A deleted bead still has its history: fall back to the literal id.
            Some(
                repo.resolve(id)
                    .unwrap_or_else(|_| crate::bead::id::normalise(id)),
            )
        }
        None => None,
    };
    let mut events = Vec::new();
    let mut skipped = 0;
    for path in ledger_files(&layout.ledger()) {
        let file = read_file(&path)?;
        for line in &file.lines {
            match decode(line) {
                Ok(e) => {
                    if bead.as_deref().is_none_or(|b| mentions(&e, b)) {
                        events.push(e);
                    }
                }
                Err(_) => skipped += 1,
            }
        }
    }
    events.sort_by(|a, b| (&a.ts, &a.run, a.seq).cmp(&(&b.ts, &b.run, b.seq)));
    if let Some(n) = args.limit {
        let drop = events.len().saturating_sub(n);
        events.drain(..drop);
    }
    if skipped > 0 {
        ui.warn(&format!(
            "{skipped} ledger line(s) do not verify and are not shown; run `forge ledger verify`"
        ));
    }
    let report = Report { events };
    ui.report(&report, |out| {
        for e in &report.events {
            let payload = e.payload();
            let bead = payload.bead().unwrap_or("");
            writeln!(
                out,
                "{}  {:<18} {:<9} {}  {}",
                ui.dim(&e.ts),
                e.kind,
                ui.id(bead),
                e.actor,
                ui.dim(&format!("{}#{}", e.run, e.seq))
            )?;
        }
        Ok(())
    })?;
    Ok(exit::OK)
}
