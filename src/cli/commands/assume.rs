use crate::assumption::ops::{NewAssumption, raise};
use crate::assumption::outbox::{self, Posted};
use crate::bead::Risk;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

use super::bead::create::parse;

/// Record an assumption: something guessed that someone should check
///
/// Inside a step (FORGE_STEP, FORGE_BEAD and FORGE_OUTBOX set by forge for the harness), the
/// assumption goes to the step's outbox; when the harness is done forge adds it to the main
/// working tree's registry, attributed to that step and its bead, and the approver sees it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What was assumed
    pub text: String,
    /// The bead that rests on it (default inside a step: the step's bead)
    #[arg(long, value_name = "ID")]
    pub bead: Option<String>,
    /// How bad it would be if it were wrong (default: medium)
    #[arg(long, value_parser = parse::<Risk>)]
    pub risk: Option<Risk>,
    /// How to reduce the risk
    #[arg(long, value_name = "TEXT")]
    pub mitigation: Option<String>,
    /// Also create a bead that would check or remove the assumption
    #[arg(long)]
    pub mitigate: bool,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let step = helper.env().step.clone();
    if let Some(outbox) = step.as_ref().and_then(|s| s.outbox.clone()) {
        let posted = Posted {
            text: args.text,
            bead: args.bead,
            risk: args.risk,
            mitigation: args.mitigation,
            mitigate: args.mitigate,
        };
        outbox::post(&outbox, &posted)?;
        ui.report(&posted, |out| {
            writeln!(
                out,
                "Noted; forge adds it to the registry when this step's harness is done"
            )
        })?;
        return Ok(exit::OK);
    }
    let mut ws = match &step {
        Some(s) => helper.workspace_at(&s.repo)?,
        None => helper.workspace()?,
    };
    let a = raise(
        &mut ws,
        NewAssumption {
            text: args.text,
            bead: args.bead.or_else(|| step.as_ref().map(|s| s.bead.clone())),
            risk: args.risk,
            mitigation: args.mitigation,
            mitigate: args.mitigate,
            step: step.map(|s| s.step),
        },
    )?;
    ui.report(&a, |out| {
        write!(out, "Recorded {} ({} risk)", ui.id(&a.id), a.risk)?;
        if !a.mitigation_bead.is_empty() {
            write!(out, "; check it in {}", ui.id(&a.mitigation_bead))?;
        }
        writeln!(out)
    })?;
    Ok(exit::OK)
}
