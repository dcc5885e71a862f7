//! The shared shape of forge's per-item TOML files (beads, assumptions, checkpoints): a
//! `schema` version, an id that matches the file name, and text written through the
//! redactor.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::parse::{check_schema, parse_toml};
use super::{Layout, atomic_write_state, file, is_scratch_name};
use crate::error::{CHANGED_NOTHING, Error, Result};
use crate::redact::Redactor;

/// A file type stored as one TOML document per item, named `<id>.toml`.
pub trait Document: Serialize + DeserializeOwned {
    /// What the id names, for messages ("bead", "step", "assumption").
    const WHAT: &'static str;
    /// The directory the files live in.
    fn dir(layout: &Layout) -> PathBuf;
    fn schema(&self) -> i64;
    fn id(&self) -> &str;
}

/// Where the item `id` of type `T` is stored.
pub fn path<T: Document>(layout: &Layout, id: &str) -> PathBuf {
    T::dir(layout).join(format!("{id}.toml"))
}

/// Writes `doc` through the redactor, atomically, never through a symbolic link. Call under
/// the store lock.
pub fn save<T: Document>(doc: &T, layout: &Layout, redactor: &Redactor) -> Result<()> {
    atomic_write_state(
        &path::<T>(layout, doc.id()),
        render(doc, redactor).as_bytes(),
    )
}

/// Every item of type `T`, in file name order. A file that does not parse is an error
/// naming it.
pub fn load_all<T: Document>(layout: &Layout) -> Result<Vec<T>> {
    let dir = T::dir(layout);
    let Some((entries, names)) = names(&dir)? else {
        return Ok(Vec::new());
    };
    let dirfd = entries.fd().map_err(|e| Error::io(&dir, e.into()))?;
    names
        .iter()
        .map(|name| parse(&dir.join(name), &file::read_at(dirfd, &dir, name)?))
        .collect()
}

/// Reads `path` and checks its schema version and that its name matches its id. Neither
/// the file nor its directory may be a symbolic link, and only a regular file is read.
pub fn load<T: Document>(path: &Path) -> Result<T> {
    parse(path, &file::read_state(path)?)
}

/// Parses the text of `path` and checks its schema version and its name (the check of
/// this kind of file: see `store::kind`).
pub fn parse<T: Document>(path: &Path, text: &str) -> Result<T> {
    let doc: T = parse_toml(path, text)?;
    check_schema(path, doc.schema())?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if stem != doc.id() {
        return Err(Error::InvalidFile {
            path: path.to_owned(),
            message: format!(
                "the file is named {stem} but holds {} '{}'",
                T::WHAT,
                doc.id()
            ),
            hint: format!("rename the file to <id>.toml or restore it from git{CHANGED_NOTHING}"),
        });
    }
    Ok(doc)
}

/// The text forge writes for `doc`, redacted.
pub fn render<T: Serialize>(doc: &T, redactor: &Redactor) -> String {
    let mut value = toml::Value::try_from(doc).expect("forge's documents always serialise");
    redactor.redact_toml(&mut value);
    toml::to_string(&value).expect("a TOML table always serialises")
}

/// The `*.toml` files of a state directory (scratch files skipped), sorted; none if the
/// directory does not exist. The directory (and `.forge/`) must not be a symbolic link.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(names(dir)?
        .map(|(_, names)| names.iter().map(|n| dir.join(n)).collect())
        .unwrap_or_default())
}

/// The open directory and the names of its `*.toml` files (scratch files skipped), sorted;
/// `None` if it does not exist.
fn names(dir: &Path) -> Result<Option<(rustix::fs::Dir, Vec<String>)>> {
    let dirfd = match file::open_dir(dir) {
        Ok(fd) => fd,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    // The listing reads the descriptor the files are then opened relative to.
    let mut entries = rustix::fs::Dir::new(dirfd).map_err(|e| Error::io(dir, e.into()))?;
    let mut out = Vec::new();
    while let Some(entry) = entries.read() {
        let entry = entry.map_err(|e| Error::io(dir, e.into()))?;
        let name = entry.file_name().to_string_lossy();
        if name.ends_with(".toml") && !is_scratch_name(&name) {
            out.push(name.into_owned());
        }
    }
    out.sort();
    Ok(Some((entries, out)))
}
