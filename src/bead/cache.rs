//! A cache of bead summaries under the runtime dir, so that `forge ready` need not parse
//! thousands of TOML files. It is never a source of truth: every entry is checked against
//! its file's size, mtime, ctime and inode on every use, and re-read when in doubt.
//!
//! Why it cannot be fooled by an edit that keeps the size and restores the old mtime: the
//! kernel sets ctime on every change to a file, including `touch -d`, and no user call sets
//! it back. The remaining gap is an edit that lands in the same clock tick as the cache was
//! written ("racy git"): entries whose ctime is that close to the cache's own write time are
//! always re-read, as git does for its index.
//!
//! The directory gets the same treatment: its stamp changes whenever a file is added,
//! removed or renamed in it, so while the stamp matches, the cached list of ids is the
//! listing and `readdir` is skipped. Each file is still stat'ed.
//!
//! The file is a magic number, a format version and a CRC-32 of the body, then the body
//! in postcard: the stamps, and the summaries in columns (see `columns`) read in place, so
//! that a warm read allocates per bead only for labels and deps.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize, Serializer};

use super::BeadSummary;
use super::columns::{Columns, ColumnsBuf, RECORD_LEN};

const MAGIC: &[u8; 4] = b"fgix";
const FORMAT: u32 = 4;
const HEADER: usize = 12;
const STAMP_LEN: usize = 32;
/// Entries changed less than this before the cache was written are re-read. Far larger than
/// any filesystem's timestamp granularity.
const RACY_NS: i64 = 2_000_000_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    fn to_bytes(self) -> [u8; STAMP_LEN] {
        let mut b = [0; STAMP_LEN];
        b[..8].copy_from_slice(&self.size.to_le_bytes());
        b[8..16].copy_from_slice(&self.mtime_ns.to_le_bytes());
        b[16..24].copy_from_slice(&self.ctime_ns.to_le_bytes());
        b[24..].copy_from_slice(&self.ino.to_le_bytes());
        b
    }

    fn from_bytes(b: &[u8]) -> Stamp {
        let word = |i: usize| <[u8; 8]>::try_from(&b[i..i + 8]).expect("8 bytes");
        Stamp {
            size: u64::from_le_bytes(word(0)),
            mtime_ns: i64::from_le_bytes(word(8)),
            ctime_ns: i64::from_le_bytes(word(16)),
            ino: u64::from_le_bytes(word(24)),
        }
    }
}

/// The file's body: the stamps as a fixed-width little-endian array and the summaries in
/// columns (see [`Columns`]), so that reading the cache decodes nothing per bead until a
/// summary is used.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Body<'a> {
    written_ns: i64,
    dir: Option<Stamp>,
    /// One [`Stamp`] per bead (32 bytes each), in id order.
    #[serde(borrow, serialize_with = "as_bytes")]
    stamps: &'a [u8],
    #[serde(borrow, serialize_with = "as_bytes")]
    records: &'a [u8],
    text: &'a str,
    #[serde(borrow, serialize_with = "as_bytes")]
    lengths: &'a [u8],
}

fn as_bytes<S: Serializer>(bytes: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(bytes)
}

/// The cache's contents, borrowing from the bytes read.
#[derive(Debug, Default)]
pub struct Cache<'a> {
    pub written_ns: i64,
    /// The directory's stamp, taken before the listing these ids came from; `None` when
    /// that listing held leftovers (temp files) that were swept, which changed it again.
    pub dir: Option<Stamp>,
    /// Sorted.
    pub ids: Vec<&'a str>,
    stamps: &'a [u8],
    summaries: Columns<'a>,
}

/// The real time, in nanoseconds since the epoch: the cache compares it with file times,
/// which the kernel stamps in real time (a pinned `FORGE_NOW` has no say here).
#[allow(clippy::disallowed_methods)] // compared with file mtimes, never recorded
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl<'a> Cache<'a> {
    /// Reads the cache file into `buf` and decodes it; an empty cache when the file is
    /// missing, unreadable, not a regular file (a FIFO there must not block `forge ready`),
    /// of another format, or fails its checksum.
    pub fn load(path: &Path, buf: &'a mut Vec<u8>) -> Cache<'a> {
        *buf = crate::store::file::read_regular_bytes(path).unwrap_or_default();
        Self::decode(buf).unwrap_or_default()
    }

    fn decode(bytes: &'a [u8]) -> Option<Cache<'a>> {
        let (head, body) = bytes.split_at_checked(HEADER)?;
        let format = u32::from_le_bytes(head[4..8].try_into().ok()?);
        let crc = u32::from_le_bytes(head[8..12].try_into().ok()?);
        if &head[..4] != MAGIC || format != FORMAT || crc32fast::hash(body) != crc {
            return None;
        }
        let body: Body = postcard::from_bytes(body).ok()?;
        let summaries = Columns {
            records: body.records,
            text: body.text,
            lengths: body.lengths,
        };
        let n = summaries.len();
        if body.records.len() != n * RECORD_LEN || body.stamps.len() != n * STAMP_LEN {
            return None;
        }
        let ids = (0..n).map(|i| summaries.id(i)).collect::<Option<_>>()?;
        Some(Cache {
            written_ns: body.written_ns,
            dir: body.dir,
            ids,
            stamps: body.stamps,
            summaries,
        })
    }

    /// The stamp of entry `i` when the cache was written.
    pub fn stamp(&self, i: usize) -> Stamp {
        Stamp::from_bytes(&self.stamps[i * STAMP_LEN..(i + 1) * STAMP_LEN])
    }

    /// The summary of entry `i`; `None` if it does not read back whole.
    pub fn summary(&self, i: usize) -> Option<BeadSummary<'a>> {
        self.summaries.get(i)
    }

    /// Whether the cached ids are the listing of a directory whose stamp is now `dir`.
    pub fn lists(&self, dir: &Stamp) -> bool {
        self.dir == Some(*dir) && !self.racy(dir)
    }

    /// Whether a file with `stamp` cannot be trusted because it changed too close to when
    /// this cache was written (see the module docs).
    pub fn racy(&self, stamp: &Stamp) -> bool {
        stamp.ctime_ns >= self.written_ns - RACY_NS
    }

    /// Whether `stamp` was racy when this cache was written but has aged enough that a
    /// rewrite would let the next reader trust it.
    pub fn worth_refreshing(&self, stamp: &Stamp, now_ns: i64) -> bool {
        self.racy(stamp) && stamp.ctime_ns < now_ns - RACY_NS
    }

    /// Writes a cache of `entries` (sorted by id). It is replaced atomically but not
    /// fsynced: a cache lost in a crash only costs speed, a torn one fails its checksum, and
    /// a stale one is caught by the stamps.
    pub fn save<'e>(
        path: &Path,
        dir: Option<Stamp>,
        entries: impl Iterator<Item = (Stamp, &'e BeadSummary<'e>)>,
    ) -> std::io::Result<()> {
        let mut stamps = Vec::new();
        let mut columns = ColumnsBuf::default();
        for (stamp, summary) in entries {
            stamps.extend_from_slice(&stamp.to_bytes());
            columns
                .push(summary)
                .map_err(|_| std::io::Error::other("too much to cache"))?;
        }
        let summaries = columns.columns();
        let body = Body {
            written_ns: now_ns(),
            dir,
            stamps: &stamps,
            records: summaries.records,
            text: summaries.text,
            lengths: summaries.lengths,
        };
        write_replacing(path, |file| {
            // The header's checksum is only known at the end: write the body through a
            // hashing writer, then fill the header in.
            file.write_all(&header(0))?;
            let crc = {
                let mut out = CrcWriter {
                    inner: std::io::BufWriter::new(&mut *file),
                    crc: crc32fast::Hasher::new(),
                };
                postcard::to_io(&body, &mut out).map_err(std::io::Error::other)?;
                out.flush()?;
                out.crc.clone().finalize()
            };
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&header(crc))
        })
    }
}

/// Passes writes through, hashing what was written.
struct CrcWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn header(crc: u32) -> [u8; HEADER] {
    let mut h = [0; HEADER];
    h[..4].copy_from_slice(MAGIC);
    h[4..8].copy_from_slice(&FORMAT.to_le_bytes());
    h[8..].copy_from_slice(&crc.to_le_bytes());
    h
}

fn write_replacing(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    // Readers killed mid-save leave temp files here, not in .forge/beads/.
    crate::store::sweep_temp_files(dir);
    let tmp = crate::store::temp_path_for(path)?;
    let written = fs::File::create(&tmp).and_then(|mut file| write(&mut file));
    written
        .and_then(|()| fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(ctime_ns: i64) -> Stamp {
        Stamp {
            size: 10,
            mtime_ns: ctime_ns,
            ctime_ns,
            ino: 7,
        }
    }

    fn summary(id: &str) -> BeadSummary<'_> {
        BeadSummary {
            id,
            title: id,
            kind: super::super::Kind::Task,
            status: super::super::Status::Open,
            priority: 2,
            value: 50,
            risk: super::super::Risk::Low,
            labels: vec!["x"],
            created: "2026-11-21T00:00:00Z",
            updated: "2026-11-21T00:00:00Z",
            deps: vec![],
        }
    }

    fn save_and_load(dir: Option<Stamp>, entries: &[(Stamp, BeadSummary)]) -> Vec<u8> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("beads.bin");
        Cache::save(&path, dir, entries.iter().map(|(st, s)| (*st, s))).unwrap();
        fs::read(&path).unwrap()
    }

    #[test]
    fn a_fifo_in_the_cache_s_place_is_no_cache_not_a_hang() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::File::open(tmp.path()).unwrap();
        rustix::fs::mkfifoat(
            &dir,
            "beads.bin",
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        )
        .unwrap();
        let mut buf = Vec::new();
        assert!(
            Cache::load(&tmp.path().join("beads.bin"), &mut buf)
                .ids
                .is_empty()
        );
    }

    #[test]
    fn round_trips() {
        let entries = [
            (stamp(1), summary("fg-a")),
            (stamp(2), summary("fg-b")),
            (stamp(3), summary("fg-c")),
        ];
        let bytes = save_and_load(Some(stamp(5)), &entries);
        let cache = Cache::decode(&bytes).unwrap();
        assert_eq!(cache.ids, ["fg-a", "fg-b", "fg-c"]);
        assert_eq!(cache.dir, Some(stamp(5)));
        for (i, (st, s)) in entries.iter().enumerate() {
            assert_eq!(cache.stamp(i), *st);
            assert_eq!(cache.summary(i).as_ref(), Some(s));
        }
    }

    #[test]
    fn a_flipped_bit_or_a_torn_file_reads_as_empty() {
        let bytes = save_and_load(None, &[(stamp(1), summary("fg-a"))]);
        for i in [0, 5, 9, HEADER, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert!(
                Cache::decode(&flipped).is_none(),
                "flipped byte {i} was accepted"
            );
        }
        for len in [0, 3, HEADER, bytes.len() - 1] {
            assert!(
                Cache::decode(&bytes[..len]).is_none(),
                "{len} bytes were accepted"
            );
        }
    }

    #[test]
    fn the_listing_is_trusted_only_for_the_same_aged_directory() {
        let dir = stamp(1_000);
        let cache = Cache {
            written_ns: 1_000 + RACY_NS + 1,
            dir: Some(dir),
            ..Cache::default()
        };
        assert!(cache.lists(&dir));
        for changed in [
            Stamp { size: 11, ..dir },
            Stamp {
                mtime_ns: 999,
                ..dir
            },
            Stamp {
                ctime_ns: 1_001,
                ..dir
            },
            Stamp { ino: 8, ..dir },
        ] {
            assert!(!cache.lists(&changed), "{changed:?} was trusted");
        }
        let racy = Cache {
            written_ns: 1_000 + RACY_NS,
            ..cache
        };
        assert!(
            !racy.lists(&dir),
            "a directory changed within the racy window"
        );
        let unlisted = Cache {
            dir: None,
            ..Cache::default()
        };
        assert!(!unlisted.lists(&dir));
    }

    #[test]
    fn racy_entries_are_refreshed_once_they_have_aged() {
        let cache = Cache {
            written_ns: 10 * RACY_NS,
            ..Cache::default()
        };
        let changed = stamp(10 * RACY_NS - 1);
        assert!(cache.racy(&changed));
        assert!(!cache.worth_refreshing(&changed, 10 * RACY_NS + 1));
        assert!(cache.worth_refreshing(&changed, 11 * RACY_NS));
        assert!(!cache.racy(&stamp(8 * RACY_NS)));
    }
}
