//! Reading and writing the bead files under `.forge/beads/`.

use std::fs;
use std::path::{Path, PathBuf};

use super::cache::{Cache, Stamp};
use super::{Bead, BeadSummary, id};
use crate::error::{Error, Result};
use crate::redact::Redactor;
use crate::store::journal::sweep_staged;
use crate::store::{Layout, atomic_write, is_scratch_name, is_temp_name, sweep_temp_files};

/// Above this many files, stat and parse in parallel.
const PARALLEL_THRESHOLD: usize = 2048;

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
        let mut ids = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".toml"))
                && !is_scratch_name(id)
            {
                ids.push(id.to_owned());
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    pub fn exists(&self, id: &str) -> bool {
        id::is_valid(id) && self.layout.bead(id).exists()
    }

    /// Resolves a full id or any unique prefix of one (with or without `fg-`).
    pub fn resolve(&self, input: &str) -> Result<String> {
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

    /// A new id that no bead file uses. Call under the store lock.
    pub fn new_id(&self) -> Result<String> {
        loop {
            if let Some(id) = id::pick(&id::random_digits(), |id| self.layout.bead(id).exists()) {
                return Ok(id);
            }
        }
    }

    /// The file text of a bead, redacted.
    pub fn text(bead: &Bead, redactor: &Redactor) -> String {
        crate::store::document::render(bead, redactor)
    }

    /// Writes a bead through the redactor, atomically. Call under the store lock.
    pub fn write(&self, bead: &Bead, redactor: &Redactor) -> Result<()> {
        atomic_write(
            &self.layout.bead(&bead.id),
            Self::text(bead, redactor).as_bytes(),
        )
    }

    /// Summaries of every bead, sorted by id, from the cache where it is provably current.
    /// Any file that does not parse is an error naming it; nothing is written then.
    pub fn index(&self) -> Result<Vec<BeadSummary>> {
        let dir = self.layout.beads();
        let mut names = Vec::new();
        let mut saw_temp = false;
        let mut saw_staged = false;
        for entry in fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_temp_name(&name) {
                saw_temp = true;
            } else if is_scratch_name(&name) {
                saw_staged |= name.starts_with(".staged-");
            } else if name.ends_with(".toml") {
                names.push(name);
            }
        }
        if saw_temp {
            sweep_temp_files(&dir);
        }
        if saw_staged {
            sweep_staged(&self.layout, &dir);
        }
        names.sort_unstable();

        // Stat every file relative to the directory (no path resolution per file), while
        // another thread reads and decodes the cache.
        let dirfd = fs::File::open(&dir).map_err(|e| Error::io(&dir, e))?;
        let cache_path = self.cache_path();
        let (stamps, cache) = std::thread::scope(|s| {
            let loading = s.spawn(|| Cache::load(&cache_path));
            let stamps = par_map(&names, |name| {
                rustix::fs::statat(&dirfd, name.as_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| Stamp::of_stat(&st))
                    .map_err(|e| Error::io(dir.join(name), e.into()))
            });
            let cache = loading
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (stamps, cache)
        });
        let stamps = stamps.into_iter().collect::<Result<Vec<Stamp>>>()?;

        // Both lists are sorted by name: walk them together and move each still-valid
        // summary out of the cache.
        let cached_len = cache.entries.len();
        let racy = cache.racy_check();
        let mut cached = cache.entries.into_iter().peekable();
        let mut slots: Vec<Option<BeadSummary>> = Vec::with_capacity(names.len());
        let mut misses = Vec::new();
        for (i, (name, stamp)) in names.iter().zip(&stamps).enumerate() {
            while cached.next_if(|e| e.name < *name).is_some() {}
            let hit = cached
                .next_if(|e| e.name == *name && e.stamp == *stamp && !racy(stamp))
                .map(|e| e.summary);
            if hit.is_none() {
                misses.push(i);
            }
            slots.push(hit);
        }
        let parsed = par_map(&misses, |&i| {
            load_file(&dir.join(&names[i])).map(Bead::into_summary)
        });
        for (i, summary) in misses.iter().zip(parsed) {
            slots[*i] = Some(summary?);
        }
        let summaries: Vec<BeadSummary> = slots.into_iter().map(|s| s.expect("filled")).collect();
        if !misses.is_empty()
            || cached_len != names.len()
            || Cache::worth_refreshing(&racy, stamps.iter().copied())
        {
            // A cache that cannot be written only costs speed.
            let _ = Cache::save(&cache_path, &names, &stamps, &summaries);
        }
        Ok(summaries)
    }
}

/// `f` over `items`, on every core when there are many.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < PARALLEL_THRESHOLD || threads < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

pub fn load_file(path: &Path) -> Result<Bead> {
    let text = fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::UnknownId {
            id: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            suggestion: None,
        },
        _ => Error::io(path, e),
    })?;
    Bead::parse(path, &text)
}
