//! The shared shape of forge's per-item TOML files (beads, assumptions, checkpoints): a
//! `schema` version, an id that matches the file name, and text written through the
//! redactor.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::parse::{check_schema, parse_toml, read_to_string};
use super::{Layout, atomic_write, is_scratch_name};
use crate::error::{Error, Result};
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

/// Writes `doc` through the redactor, atomically. Call under the store lock.
pub fn save<T: Document>(doc: &T, layout: &Layout, redactor: &Redactor) -> Result<()> {
    atomic_write(
        &path::<T>(layout, doc.id()),
        render(doc, redactor).as_bytes(),
    )
}

/// Every item of type `T`, in file name order. A file that does not parse is an error
/// naming it.
pub fn load_all<T: Document>(layout: &Layout) -> Result<Vec<T>> {
    list(&T::dir(layout))?.iter().map(|p| load(p)).collect()
}

/// Reads `path` and checks its schema version and that its name matches its id.
pub fn load<T: Document>(path: &Path) -> Result<T> {
    let text = read_to_string(path)?;
    let doc: T = parse_toml(path, &text)?;
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
            hint: "rename the file to <id>.toml or restore it from git; forge changed nothing"
                .into(),
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
/// directory does not exist.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") && !is_scratch_name(&name) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}
