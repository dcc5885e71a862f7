//! A bead's lease: an flock held by the process running a step of it. The kernel drops it
//! when that process dies, so a crash never leaves a bead claimed forever, and two steps of
//! one bead can never run at once (S5).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::store::{Layout, StoreLock};

pub fn lease_path(layout: &Layout, bead: &str) -> PathBuf {
    layout.lease(bead)
}

/// Takes the lease on `bead`, or None if a live process holds it.
pub fn try_take(layout: &Layout, bead: &str) -> Result<Option<StoreLock>> {
    let path = lease_path(layout, bead);
    let dir = path.parent().expect("leases live in a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    StoreLock::try_acquire(&path)
}

/// Whether a live process holds the lease on `bead`.
pub fn is_held(layout: &Layout, bead: &str) -> bool {
    let path = lease_path(layout, bead);
    path.exists() && matches!(StoreLock::try_acquire(&path), Ok(None))
}
