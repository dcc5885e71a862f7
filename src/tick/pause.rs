//! `forge pause` and `forge resume`.

use super::state::{Pause, TickState};
use crate::error::Result;
use crate::ledger::Payload;
use crate::workspace::Workspace;

pub fn pause(ws: &mut Workspace, reason: &str) -> Result<(Pause, bool)> {
    let _lock = ws.lock()?;
    let mut state = TickState::load(&ws.layout)?;
    if let Some(p) = &state.paused {
        return Ok((p.clone(), false));
    }
    let p = Pause {
        reason: if reason.is_empty() {
            "paused by hand".into()
        } else {
            reason.to_owned()
        },
        by: ws.actor.clone(),
        at: ws.clock.now(),
    };
    ws.record(Payload::ForgePaused {
        reason: p.reason.clone(),
        by: p.by.clone(),
    })?;
    state.paused = Some(p.clone());
    state.save(&ws.layout)?;
    Ok((p, true))
}

/// Resumes; also resets the circuit breaker's count. Returns the pause that ended.
pub fn resume(ws: &mut Workspace) -> Result<Option<Pause>> {
    let _lock = ws.lock()?;
    let mut state = TickState::load(&ws.layout)?;
    let ended = state.paused.take();
    if ended.is_some() || state.consecutive_failures > 0 {
        ws.record(Payload::ForgeResumed {
            was: ended.clone(),
            by: ws.actor.clone(),
        })?;
        state.consecutive_failures = 0;
        state.save(&ws.layout)?;
    }
    Ok(ended)
}
