//! Reading and writing the bead files under `.forge/beads/`.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs::AtFlags;

use super::cache::{Cache, Stamp, now_ns};
use super::columns::ColumnsBuf;
use super::par::{par_fill, par_parts};
use super::{Bead, BeadSummary, id};
use crate::error::{Error, Result};
use crate::redact::Redactor;
use crate::store::journal::sweep_staged;
use crate::store::{
    Layout, atomic_write_state, file, is_scratch_name, is_temp_name, sweep_temp_files,
};

/// Owns a copy of the layout so that callers can keep using their workspace mutably.
pub struct BeadRepo {
    layout: Layout,
}

impl BeadRepo {
    pub fn new(layout: &Layout) -> Self {
        BeadRepo {
            layout: layout.clone(),
        }
    }

    fn cache_path(&self) -> PathBuf {
        self.layout.cache_dir().join("beads.bin")
    }

    /// Ids of all beads, from file names alone (no parsing), sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let dir = self.layout.beads();
        Ok(scan(&file::open_dir(&dir)?, &dir)?.ids)
    }

    /// Whether anything has the file name of bead `id`: a link or a FIFO too, so that no
    /// new bead is ever written in its place and reading it reports what it is.
    pub fn exists(&self, id: &str) -> bool {
        id::is_valid(id) && file::taken(&self.layout.bead(id))
    }

    /// Resolves a full id or any unique prefix of one (with or without `fg-`). An empty
    /// one (nothing but spaces, or `fg-` alone) is a usage error, never a prefix of all.
    pub fn resolve(&self, input: &str) -> Result<String> {
        id::check_input(input, id::PREFIX, "bead")?;
        let wanted = id::normalise(input);
        if self.exists(&wanted) {
            return Ok(wanted);
        }
        let ids = self.ids()?;
        let matches: Vec<&String> = ids.iter().filter(|i| i.starts_with(&wanted)).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::UnknownId {
                id: input.to_owned(),
                suggestion: ids
                    .iter()
                    .map(|i| (id::distance(&wanted, i), i))
                    .filter(|(d, _)| *d <= 2)
                    .min()
                    .map(|(_, i)| i.clone()),
            }),
            many => Err(Error::AmbiguousId {
                prefix: input.to_owned(),
                candidates: many.iter().map(|s| (*s).clone()).collect(),
            }),
        }
    }

    pub fn load(&self, id: &str) -> Result<Bead> {
        load_file(&self.layout.bead(id))
    }

    /// A new id that no bead file uses (nor a link or anything else by that name), drawn
    /// from `randomness` (the workspace's). Call under the store lock. A linked `beads/`
    /// (or `.forge/`) is refused here, before anything is recorded.
    pub fn new_id(&self, randomness: &crate::randomness::Randomness) -> Result<String> {
        let dirfd = file::open_dir(&self.layout.beads())?;
        let taken = |id: &str| {
            let mut name = [0u8; 64];
            rustix::fs::statat(&dirfd, file_name(id, &mut name), AtFlags::SYMLINK_NOFOLLOW).is_ok()
        };
        loop {
            if let Some(id) = id::pick(&id::random_digits(randomness), taken) {
                return Ok(id);
            }
        }
    }

    /// The file text of a bead, redacted.
    pub fn text(bead: &Bead, redactor: &Redactor) -> String {
        crate::store::document::render(bead, redactor)
    }

    /// Writes a bead through the redactor, atomically, never through a symbolic link. Call
    /// under the store lock.
    pub fn write(&self, bead: &Bead, redactor: &Redactor) -> Result<()> {
        atomic_write_state(
            &self.layout.bead(&bead.id),
            Self::text(bead, redactor).as_bytes(),
        )
    }

    /// Summaries of every bead, sorted by id, from the cache where it is provably current.
    /// They borrow from `buf`. Any file that does not parse is an error naming it; nothing
    /// is written then.
    pub fn index<'s>(&self, buf: &'s mut IndexBuf) -> Result<Vec<BeadSummary<'s>>> {
        let IndexBuf { cache, fresh } = buf;
        let dir = self.layout.beads();
        // Neither `.forge/` nor `beads/` may be a link (see `store::file`).
        let dirfd = file::open_dir(&dir)?;
        // Taken before any listing, so that a change made during it shows next time.
        let dir_stamp = rustix::fs::fstat(&dirfd)
            .map(|st| Stamp::of_stat(&st))
            .map_err(|e| Error::io(&dir, e.into()))?;
        let cache_path = self.cache_path();
        let cache = Cache::load(&cache_path, cache);

        // While the directory's stamp is unchanged, the cached ids are its listing. A file
        // gone all the same means the stamp lied (a clock step, say): list after all.
        let checked = if cache.lists(&dir_stamp) {
            check_all(&dirfd, &dir, &cache, &cache.ids, Some).ok()
        } else {
            None
        };
        let listing = match checked {
            Some(_) => None,
            None => Some(self.list(&dirfd, &dir)?),
        };
        let listed: Vec<&str> = listing
            .iter()
            .flat_map(|l| &l.ids)
            .map(String::as_str)
            .collect();
        let ids: &[&str] = if listing.is_some() {
            &listed
        } else {
            &cache.ids
        };
        let mut checked = match checked {
            Some(checked) => checked,
            None => {
                let positions = positions_in(&cache.ids, ids);
                check_all(&dirfd, &dir, &cache, ids, |i| positions[i])?
            }
        };

        // Parse the files the cache could not vouch for.
        let misses: Vec<usize> = (0..ids.len()).filter(|&i| checked[i].1.is_none()).collect();
        if !misses.is_empty() {
            for part in read_summaries(&dirfd, &dir, ids, &misses) {
                fresh.push(part?);
            }
        }
        let fresh: &'s [ColumnsBuf] = fresh;
        let read = fresh
            .iter()
            .map(ColumnsBuf::columns)
            .flat_map(|part| (0..part.len()).map(move |k| part.get(k)));
        for (&i, summary) in misses.iter().zip(read) {
            checked[i].1 = Some(summary.expect("summaries just put in columns read back"));
        }

        let now = now_ns();
        let clean_listing = listing.as_ref().is_none_or(Listing::clean);
        let refresh = !misses.is_empty()
            || cache.ids.len() != ids.len()
            || (clean_listing && cache.dir != Some(dir_stamp))
            || cache.worth_refreshing(&dir_stamp, now)
            || checked.iter().any(|(s, _)| cache.worth_refreshing(s, now));
        if refresh {
            let entries = checked
                .iter()
                .map(|(stamp, summary)| (*stamp, summary.as_ref().expect("every miss was read")));
            // A cache that cannot be written only costs speed.
            let _ = Cache::save(&cache_path, clean_listing.then_some(dir_stamp), entries);
        }
        Ok(checked
            .into_iter()
            .map(|(_, summary)| summary.expect("every miss was read"))
            .collect())
    }

    /// The bead ids in the directory, sweeping leftovers of interrupted writes.
    fn list(&self, dirfd: &OwnedFd, dir: &Path) -> Result<Listing> {
        let listing = scan(dirfd, dir)?;
        if listing.saw_temp {
            sweep_temp_files(dir);
        }
        if listing.saw_staged {
            sweep_staged(&self.layout, dir);
        }
        Ok(listing)
    }
}

/// The bead ids in `dir` (open as `dirfd`), sorted, and whether leftovers of interrupted
/// writes lie there.
fn scan(dirfd: &OwnedFd, dir: &Path) -> Result<Listing> {
    let mut listing = Listing::default();
    let mut entries = rustix::fs::Dir::read_from(dirfd).map_err(|e| Error::io(dir, e.into()))?;
    while let Some(entry) = entries.read() {
        let entry = entry.map_err(|e| Error::io(dir, e.into()))?;
        let name = entry.file_name().to_string_lossy();
        if is_temp_name(&name) {
            listing.saw_temp = true;
        } else if is_scratch_name(&name) {
            listing.saw_staged |= name.starts_with(".staged-");
        } else if let Some(id) = name.strip_suffix(".toml") {
            listing.ids.push(id.to_owned());
        }
    }
    listing.ids.sort_unstable();
    Ok(listing)
}

/// Where the summaries returned by [`BeadRepo::index`] live.
#[derive(Debug, Default)]
pub struct IndexBuf {
    cache: Vec<u8>,
    /// Summaries of the files read this time, one set per thread that read them.
    fresh: Vec<ColumnsBuf>,
}

#[derive(Default)]
struct Listing {
    ids: Vec<String>,
    saw_temp: bool,
    saw_staged: bool,
}

impl Listing {
    /// No leftovers were swept, so the directory is as its stamp (taken before) says.
    fn clean(&self) -> bool {
        !self.saw_temp && !self.saw_staged
    }
}

/// Reads the beads `misses` (indices into `ids`) and puts their summaries in columns, each
/// core its part into columns of its own.
fn read_summaries(
    dirfd: &OwnedFd,
    dir: &Path,
    ids: &[&str],
    misses: &[usize],
) -> Vec<Result<ColumnsBuf>> {
    par_parts(misses, |part| {
        let mut columns = ColumnsBuf::default();
        for &i in part {
            let name = format!("{}.toml", ids[i]);
            let text = file::read_at(dirfd, dir, &name)?;
            let bead = Bead::parse(&dir.join(name), &text)?;
            columns.push(&bead.summary()).map_err(|_| {
                Error::io(
                    dir,
                    std::io::Error::other("too many beads to index at once"),
                )
            })?;
        }
        Ok(columns)
    })
}

/// For each of `ids`, its position in `cached`; both are sorted.
fn positions_in(cached: &[&str], ids: &[&str]) -> Vec<Option<usize>> {
    let mut next = 0;
    ids.iter()
        .map(|id| {
            while next < cached.len() && cached[next] < *id {
                next += 1;
            }
            (cached.get(next) == Some(id)).then_some(next)
        })
        .collect()
}

/// Stats `<id>.toml` for every id (relative to the directory: no path resolution per
/// file) and, where the cache entry at `position(i)` still matches, decodes it.
fn check_all<'s>(
    dirfd: &OwnedFd,
    dir: &Path,
    cache: &Cache<'s>,
    ids: &[&str],
    position: impl Fn(usize) -> Option<usize> + Sync,
) -> Result<Vec<(Stamp, Option<BeadSummary<'s>>)>> {
    let mut out = vec![(Stamp::default(), None); ids.len()];
    // The error of the first file that failed, for the same message on every run.
    let failed: Mutex<Option<(usize, Error)>> = Mutex::new(None);
    par_fill(&mut out, |i, (stamp, summary)| {
        let id = ids[i];
        let mut name = [0u8; 64];
        let path = || dir.join(format!("{id}.toml"));
        let checked = match rustix::fs::statat(
            dirfd.as_fd(),
            file_name(id, &mut name),
            AtFlags::SYMLINK_NOFOLLOW,
        ) {
            // A link or a FIFO is refused from the stat already made: no call more per bead.
            Ok(st) => file::check_regular(path, &st).map(|()| st),
            Err(e) => Err(Error::io(path(), e.into())),
        };
        match checked {
            Ok(st) => {
                *stamp = Stamp::of_stat(&st);
                *summary = position(i)
                    .filter(|&p| cache.stamp(p) == *stamp && !cache.racy(stamp))
                    .and_then(|p| cache.summary(p))
                    .filter(|s| s.id == id);
            }
            Err(e) => {
                let mut failed = failed.lock().unwrap_or_else(|p| p.into_inner());
                if failed.as_ref().is_none_or(|(j, _)| i < *j) {
                    *failed = Some((i, e));
                }
            }
        }
    });
    match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(out),
    }
}

/// `<id>.toml` as a C string in `buf` (ids are short; a longer one is cut and then
/// simply not found).
fn file_name<'b>(id: &str, buf: &'b mut [u8; 64]) -> &'b std::ffi::CStr {
    let id = &id.as_bytes()[..id.len().min(buf.len() - 6)];
    let end = id.len() + 6;
    buf[..id.len()].copy_from_slice(id);
    buf[id.len()..end].copy_from_slice(b".toml\0");
    // A NUL inside an id (only from a damaged cache) names no file: the stat fails.
    std::ffi::CStr::from_bytes_with_nul(&buf[..end]).unwrap_or(c"")
}

/// Reads and parses the bead file `path`: never through a symbolic link (the file's or its
/// directory's), and only a regular file (a FIFO would block the read forever).
pub fn load_file(path: &Path) -> Result<Bead> {
    let text = file::read_state(path).map_err(|e| match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            Error::UnknownId {
                id: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                suggestion: None,
            }
        }
        e => e,
    })?;
    Bead::parse(path, &text)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn bead_text(id: &str, title: &str, deps: &str) -> String {
        format!(
            "schema = 1\nid = \"{id}\"\ntitle = \"{title}\"\nkind = \"task\"\nstatus = \"open\"\n\
             priority = 2\nvalue = 50\nrisk = \"low\"\nlabels = [\"a\", \"b\"]\n\
             created = \"2026-11-21T00:00:00Z\"\nupdated = \"2026-11-21T00:00:00Z\"\n{deps}"
        )
    }

    /// Enough beads for the parallel paths: reading every file, then checking the cache.
    #[test]
    fn many_beads_read_the_same_from_files_and_from_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path(), &tmp.path().join(".git"));
        fs::create_dir_all(layout.beads()).unwrap();
        let n = super::super::par::PARALLEL_THRESHOLD + 500;
        let ids: Vec<String> = (0..n).map(|i| format!("fg-{i:05}")).collect();
        for (i, id) in ids.iter().enumerate() {
            let deps = match i {
                0 => String::new(),
                _ => format!("\n[[deps]]\nid = \"{}\"\ntype = \"blocks\"\n", ids[i - 1]),
            };
            fs::write(layout.bead(id), bead_text(id, &format!("t{i}"), &deps)).unwrap();
        }
        let repo = BeadRepo::new(&layout);
        let expected: Vec<Bead> = ids.iter().map(|id| repo.load(id).unwrap()).collect();
        let expected: Vec<BeadSummary> = expected.iter().map(Bead::summary).collect();

        // Past the racy window, so that the cache written next is trusted.
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let mut cold = IndexBuf::default();
        assert_eq!(repo.index(&mut cold).unwrap(), expected);
        assert!(layout.cache_dir().join("beads.bin").exists());
        let mut warm = IndexBuf::default();
        assert_eq!(repo.index(&mut warm).unwrap(), expected);
        assert!(warm.fresh.is_empty(), "a fresh cache was not used");
        assert!(!warm.cache.is_empty());

        // A hand edit in the middle, seen through the trusted listing.
        let edited = &ids[n / 2];
        let text = fs::read_to_string(layout.bead(edited)).unwrap();
        fs::write(
            layout.bead(edited),
            text.replace("title = \"t", "title = \"T"),
        )
        .unwrap();
        let mut again = IndexBuf::default();
        let (title, len) = {
            let index = repo.index(&mut again).unwrap();
            (index[n / 2].title.to_owned(), index.len())
        };
        assert_eq!(title, format!("T{}", n / 2));
        assert_eq!(len, n);
        let read: usize = again.fresh.iter().map(|c| c.columns().len()).sum();
        assert_eq!(read, 1, "more than the edited file was read");
    }
}
