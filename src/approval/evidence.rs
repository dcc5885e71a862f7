//! Whether the ledger backs a checkpoint's claim that a step waits for approval.

use crate::error::{Error, Result};
use crate::ledger::Payload;
use crate::ledger::line::decode;
use crate::ledger::verify::verify_file;
use crate::ledger::{ledger_files, read_file};
use crate::step::checkpoint::Checkpoint;
use crate::workspace::Workspace;

/// Refuses unless a verifying ledger file records this step reaching
/// `step.awaiting_approval` at the checkpoint's head, and no later event voids it.
pub fn check(ws: &Workspace, cp: &Checkpoint) -> Result<()> {
    let mut backed = false;
    for path in ledger_files(&ws.layout.ledger()) {
        let file = read_file(&path)?;
        let mut about_step = Vec::new();
        for line in &file.lines {
            // Cheap filter before decoding: most lines are about other steps.
            if !line.contains(&cp.step) {
                continue;
            }
            if let Ok(e) = decode(line) {
                let payload = e.payload();
                if payload.step() == Some(cp.step.as_str()) {
                    about_step.push(payload);
                }
            }
        }
        if about_step.is_empty() {
            continue;
        }
        let mut problems = Vec::new();
        verify_file(&path, &mut problems)?;
        if let Some(p) = problems.first() {
            return Err(refused(format!(
                "the ledger file recording {} does not verify ({}:{}: {})",
                cp.step,
                ws.layout.display(&p.file),
                p.line,
                p.message
            )));
        }
        for p in about_step {
            match p {
                Payload::StepAwaitingApproval { head, .. } => backed = head == cp.head,
                Payload::StepMerged { .. }
                | Payload::StepRejected { .. }
                | Payload::StepRolledBack { .. } => backed = false,
                _ => {}
            }
        }
    }
    if !backed {
        return Err(refused(format!(
            "the ledger does not record {} waiting for approval at {}: the checkpoint may have been edited by hand",
            cp.step,
            super::short(&cp.head)
        )));
    }
    Ok(())
}

fn refused(message: String) -> Error {
    Error::Refused {
        message,
        hint: "nothing was merged; run `forge ledger verify` and compare the checkpoint with `forge ledger show`"
            .into(),
    }
}
