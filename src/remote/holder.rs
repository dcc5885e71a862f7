//! Who holds a claim: the machine, the clone on it, the process.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::Layout;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The machine's host name.
    pub host: String,
    /// This clone's id: random, made once and kept in the runtime dir (`clone-id`), so two
    /// clones on one machine (or two containers with one host name) are told apart.
    pub clone: String,
    pub pid: u32,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (clone {}, pid {})", self.host, self.clone, self.pid)
    }
}

impl Holder {
    /// This process in this clone. Call with the clone's remote lock held: the first call
    /// makes the clone's id.
    pub fn this(layout: &Layout) -> Result<Holder> {
        Ok(Holder {
            host: host_name(),
            clone: clone_id(layout)?,
            pid: std::process::id(),
        })
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// The clone's id, made on first use. Not from the seeded randomness: clones in a test
/// share seeds, and the id must tell them apart.
pub fn clone_id(layout: &Layout) -> Result<String> {
    let path = layout.runtime.join("clone-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_owned());
        }
    }
    let mut bytes = [0u8; 6];
    crate::randomness::os_fill(&mut bytes).map_err(|e| Error::io("/dev/urandom", e))?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(&layout.runtime).map_err(|e| Error::io(&layout.runtime, e))?;
    crate::store::atomic::atomic_write(&path, format!("{id}\n").as_bytes())?;
    Ok(id)
}
