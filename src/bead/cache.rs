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
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::BeadSummary;

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
    pub fn of_stat(st: &rustix::fs::Stat) -> Stamp {
        Stamp {
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec as i64,
            ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec as i64,
            ino: st.st_ino,
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

    /// Whether an entry with `stamp` cannot be trusted because its file changed too close
    /// to when this cache was written (see the module docs).
    pub fn racy_check(&self) -> impl Fn(&Stamp) -> bool + use<> {
        let cutoff = self.written_ns - RACY_NS;
        move |stamp: &Stamp| stamp.ctime_ns >= cutoff
    }

    /// Writes a cache of `summaries` (sorted by name, like `names` and `stamps`). It is
    /// replaced atomically but not fsynced: a cache lost in a crash only costs speed, and a
    /// stale one is caught by the stamps.
    pub fn save(
        path: &Path,
        names: &[String],
        stamps: &[Stamp],
        summaries: &[BeadSummary],
    ) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct EntryRef<'a> {
            name: &'a str,
            stamp: Stamp,
            summary: &'a BeadSummary,
        }
        #[derive(Serialize)]
        struct CacheRef<'a> {
            format: u32,
            written_ns: i64,
            entries: Vec<EntryRef<'a>>,
        }
        let cache = CacheRef {
            format: FORMAT,
            written_ns: now_ns(),
            entries: names
                .iter()
                .zip(stamps)
                .zip(summaries)
                .map(|((name, stamp), summary)| EntryRef {
                    name,
                    stamp: *stamp,
                    summary,
                })
                .collect(),
        };
        let bytes = postcard::to_stdvec(&cache).map_err(std::io::Error::other)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        // Readers killed mid-save leave temp files here, not in .forge/beads/.
        crate::store::sweep_temp_files(dir);
        let tmp = crate::store::temp_path_for(path)?;
        fs::write(&tmp, &bytes)?;
        fs::rename(&tmp, path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
    }

    /// Whether entries that were racy when this cache was written have aged enough that a
    /// rewrite would let the next reader trust them.
    pub fn worth_refreshing(
        racy: &impl Fn(&Stamp) -> bool,
        stamps: impl Iterator<Item = Stamp>,
    ) -> bool {
        let now = now_ns();
        stamps
            .filter(|s| racy(s))
            .any(|s| s.ctime_ns < now - RACY_NS)
    }
}
