//! A cache of bead summaries under the runtime dir, so that `forge ready` need not parse
//! thousands of TOML files. It is never a source of truth: every entry is checked against
//! its file's size, mtime, ctime and inode on every use, and re-read when in doubt.
//!
//! Why it cannot be fooled by an edit that keeps the size and restores the old mtime: the
//! kernel sets ctime on every change to a file, including `touch -d`, and no user call sets
//! it back. The remaining gap is an edit that lands in the same clock tick as the cache was
//! written ("racy git"): entries whose ctime is that close to the cache's own write time are
//! always re-read, as git does for its index.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::BeadSummary;
use crate::store::atomic_write;

const FORMAT: u32 = 1;
/// Entries changed less than this before the cache was written are re-read. Far larger than
/// any filesystem's timestamp granularity.
const RACY_NS: i64 = 2_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
}

impl Stamp {
    pub fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
            ino: meta.ino(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub stamp: Stamp,
    pub summary: BeadSummary,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Cache {
    format: u32,
    written_ns: i64,
    /// Sorted by name.
    pub entries: Vec<Entry>,
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl Cache {
    /// An empty cache when the file is missing, unreadable or of another format.
    pub fn load(path: &Path) -> Cache {
        let Ok(bytes) = fs::read(path) else {
            return Cache::default();
        };
        match postcard::from_bytes::<Cache>(&bytes) {
            Ok(c) if c.format == FORMAT => c,
            _ => Cache::default(),
        }
    }

    /// The cached summary for `name` if its stamp still matches and it is not racy.
    pub fn lookup(&self, name: &str, stamp: &Stamp) -> Option<&BeadSummary> {
        let i = self
            .entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()?;
        let e = &self.entries[i];
        (e.stamp == *stamp && !self.is_racy(stamp)).then_some(&e.summary)
    }

    pub fn is_racy(&self, stamp: &Stamp) -> bool {
        stamp.ctime_ns >= self.written_ns - RACY_NS
    }

    pub fn save(path: &Path, mut entries: Vec<Entry>) -> std::io::Result<()> {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let cache = Cache {
            format: FORMAT,
            written_ns: now_ns(),
            entries,
        };
        let bytes = postcard::to_stdvec(&cache).map_err(std::io::Error::other)?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
            // Readers killed mid-save leave temp files here, not in .forge/beads/.
            crate::store::sweep_temp_files(dir);
        }
        atomic_write(path, &bytes).map_err(std::io::Error::other)
    }

    /// Whether entries that were racy when this cache was written have aged enough that a
    /// rewrite would let the next reader trust them.
    pub fn worth_refreshing(&self, stamps: impl Iterator<Item = Stamp>) -> bool {
        let now = now_ns();
        stamps
            .filter(|s| self.is_racy(s))
            .any(|s| s.ctime_ns < now - RACY_NS)
    }
}
