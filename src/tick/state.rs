//! Tick's operational state under the runtime dir (never committed): whether forge is
//! paused, the circuit breaker's count, and beads waiting out a rate limit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Layout, StoreLock, atomic_write};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// How the reason of a pause made by the circuit breaker begins.
pub const BREAKER_REASON: &str = "circuit breaker:";

impl Pause {
    /// The circuit breaker paused forge (after repeated failed steps), not a person.
    pub fn is_breaker(&self) -> bool {
        self.reason.starts_with(BREAKER_REASON)
    }

    /// The reason, when and by whom (for `status` and `doctor`).
    pub fn describe(&self) -> String {
        format!("{} (since {}, by {})", self.reason, self.at, self.by)
    }

    /// What lets `forge tick` work again.
    pub fn way_out(&self) -> &'static str {
        if self.is_breaker() {
            "look at the failed steps (`forge steps`, `forge log STEP`), then `forge resume`"
        } else {
            "forge resume"
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TickState {
    #[serde(default)]
    pub paused: Option<Pause>,
    /// Failed steps in a row, across ticks.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Bead id -> seconds since the epoch before which tick leaves it alone.
    #[serde(default)]
    pub waits: BTreeMap<String, i64>,
}

fn path(layout: &Layout) -> PathBuf {
    layout.tick_state()
}

impl TickState {
    /// The state, or the default when there is none; a damaged file is an error naming it
    /// (it may say forge is paused).
    pub fn load(layout: &Layout) -> Result<TickState> {
        let p = path(layout);
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
                path: p.clone(),
                message: format!("not valid tick state: {e}"),
                hint: format!(
                    "inspect it, or delete {} to reset pause and breaker state",
                    p.display()
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TickState::default()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    /// Applies `change` to the state as it is on disk now, under the store lock, and returns
    /// the result: a `forge pause` or `resume` given while a step ran is kept, not
    /// overwritten by a copy loaded before it. Not for callers that hold the lock already.
    pub fn update(layout: &Layout, change: impl FnOnce(&mut TickState)) -> Result<TickState> {
        std::fs::create_dir_all(&layout.runtime).map_err(|e| Error::io(&layout.runtime, e))?;
        let _lock = StoreLock::acquire(&layout.store_lock())?;
        let mut state = TickState::load(layout)?;
        change(&mut state);
        state.save(layout)?;
        Ok(state)
    }

    /// Saves atomically. Call under the store lock.
    pub fn save(&self, layout: &Layout) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("tick state serialises");
        std::fs::create_dir_all(&layout.runtime).map_err(|e| Error::io(&layout.runtime, e))?;
        atomic_write(&path(layout), &bytes)
    }
}
