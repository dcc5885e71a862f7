//! Reading and writing the bead files under `.forge/beads/`.

use std::fs;
use std::path::{Path, PathBuf};

use super::cache::{Cache, Entry, Stamp};
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

        let cache_path = self.cache_path();
        let cache = Cache::load(&cache_path);
        let results = check_all(&dir, &names, &cache);

        let mut summaries = Vec::with_capacity(names.len());
        let mut entries = Vec::with_capacity(names.len());
        let mut changed = cache.entries.len() != names.len();
        for (name, result) in names.into_iter().zip(results) {
            let (stamp, summary, fresh) = result?;
            changed |= fresh;
            summaries.push(summary.clone());
            entries.push(Entry {
                name,
                stamp,
                summary,
            });
        }
        if changed || cache.worth_refreshing(entries.iter().map(|e| e.stamp)) {
            // A cache that cannot be written only costs speed.
            let _ = Cache::save(&cache_path, entries);
        }
        Ok(summaries)
    }
}

type Checked = Result<(Stamp, BeadSummary, bool)>;

fn check_all(dir: &Path, names: &[String], cache: &Cache) -> Vec<Checked> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if names.len() < PARALLEL_THRESHOLD || threads < 2 {
        return names.iter().map(|n| check_one(dir, n, cache)).collect();
    }
    let chunk = names.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|n| check_one(dir, n, cache))
                        .collect::<Vec<Checked>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<Checked>>()
    })
}

/// The stamp and summary of one file, and whether it had to be parsed.
fn check_one(dir: &Path, name: &str, cache: &Cache) -> Checked {
    let path = dir.join(name);
    let meta = fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
    let stamp = Stamp::of(&meta);
    if let Some(summary) = cache.lookup(name, &stamp) {
        return Ok((stamp, summary.clone(), false));
    }
    let bead = load_file(&path)?;
    Ok((stamp, bead.summary(), true))
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
