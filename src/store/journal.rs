//! Writing several files as one: either all of them land or none does.
//!
//! Each file is first written beside its destination under a staged name, then a journal
//! listing (staged, final) pairs is written atomically: that is the commit point. Then the
//! staged files are renamed into place and the journal removed. A crash before the journal
//! leaves only staged files, which are swept; a crash after it is rolled forward by
//! [`recover`], which every command opening the store runs first.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Layout, atomic_write};
use crate::error::{Error, Result};

const STAGED_PREFIX: &str = ".staged-";

#[derive(Serialize, Deserialize)]
struct Journal {
    pairs: Vec<(PathBuf, PathBuf)>,
}

fn journal_dir(layout: &Layout) -> PathBuf {
    layout.journal_dir()
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Writes every (path, contents) pair, all or nothing. Call under the store lock.
pub fn write_all(layout: &Layout, files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    // Never seeded (`FORGE_SEED`): two processes must not pick the same batch.
    let nonce = crate::randomness::os_u32().map_err(|e| Error::io(&layout.runtime, e))?;
    let batch = format!("{}-{nonce:08x}", std::process::id());
    let mut pairs = Vec::with_capacity(files.len());
    // Each state directory opened once, refusing a symbolic link (see `store::file`): the
    // staged files are created relative to it, so none lands outside the repository.
    let mut dirs: Vec<(PathBuf, std::os::fd::OwnedFd)> = Vec::new();
    for (path, contents) in files {
        let (dir, name) = super::file::split(path)?;
        let k = match dirs.iter().position(|(d, _)| d == dir) {
            Some(k) => k,
            None => {
                dirs.push((dir.to_owned(), super::file::open_dir(dir)?));
                dirs.len() - 1
            }
        };
        let staged_name = format!("{STAGED_PREFIX}{batch}-{name}");
        let staged = dir.join(&staged_name);
        (|| -> std::io::Result<()> {
            use rustix::fs::{Mode, OFlags};
            use std::io::Write;
            let fd = rustix::fs::openat(
                &dirs[k].1,
                staged_name.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_bits_truncate(0o666),
            )?;
            let mut f = File::from(fd);
            f.write_all(contents)?;
            f.sync_all()
        })()
        .map_err(|e| Error::io(&staged, e))?;
        pairs.push((staged, path.clone()));
    }
    for (dir, fd) in &dirs {
        rustix::fs::fsync(fd).map_err(|e| Error::io(dir, e.into()))?;
    }
    let jdir = journal_dir(layout);
    fs::create_dir_all(&jdir).map_err(|e| Error::io(&jdir, e))?;
    let journal = jdir.join(format!("{batch}.json"));
    let text = serde_json::to_vec(&Journal { pairs }).expect("paths serialise");
    atomic_write(&journal, &text)?;
    roll_forward(&journal)
}

fn roll_forward(journal: &Path) -> Result<()> {
    let bytes = fs::read(journal).map_err(|e| Error::io(journal, e))?;
    let Ok(j) = serde_json::from_slice::<Journal>(&bytes) else {
        // A journal is written atomically, so an unreadable one was never committed.
        return fs::remove_file(journal).map_err(|e| Error::io(journal, e));
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (staged, final_path) in &j.pairs {
        if staged.exists() {
            fs::rename(staged, final_path).map_err(|e| Error::io(final_path, e))?;
        }
        if let Some(dir) = final_path.parent()
            && !dirs.iter().any(|d| d == dir)
        {
            dirs.push(dir.to_owned());
        }
    }
    for dir in &dirs {
        sync_dir(dir)?;
    }
    fs::remove_file(journal).map_err(|e| Error::io(journal, e))
}

/// Completes batches whose journal was committed, and removes staged files of batches that
/// never reached their commit point (their writer is gone). Cheap when there is nothing to
/// do: one failed `read_dir`.
pub fn recover(layout: &Layout) -> Result<()> {
    let jdir = journal_dir(layout);
    let journals: Vec<PathBuf> = match fs::read_dir(&jdir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    if journals.is_empty() {
        return Ok(());
    }
    let _lock = super::StoreLock::acquire(&layout.store_lock())?;
    for journal in journals {
        if journal.exists() {
            roll_forward(&journal)?;
        }
    }
    Ok(())
}

/// Whether `name` is a staged file, and the pid of the process that staged it.
pub fn staged_owner(name: &str) -> Option<Option<u32>> {
    let rest = name.strip_prefix(STAGED_PREFIX)?;
    Some(rest.split('-').next().and_then(|p| p.parse().ok()))
}

/// Removes staged files whose writer is dead and whose batch has no journal: they never
/// reached the commit point.
pub fn sweep_staged(layout: &Layout, dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = staged_owner(&name) else {
            continue;
        };
        let alive = pid
            .is_some_and(|p| p == std::process::id() || Path::new(&format!("/proc/{p}")).exists());
        let batch: String = name[STAGED_PREFIX.len()..]
            .splitn(3, '-')
            .take(2)
            .collect::<Vec<_>>()
            .join("-");
        let journaled = journal_dir(layout).join(format!("{batch}.json")).exists();
        if !alive && !journaled {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), &dir.path().join(".git"));
        fs::create_dir_all(layout.beads()).unwrap();
        fs::create_dir_all(&layout.runtime).unwrap();
        (dir, layout)
    }

    #[test]
    fn writes_every_file_and_leaves_nothing_else() {
        let (_d, l) = layout();
        let files = vec![
            (l.bead("fg-a"), b"a".to_vec()),
            (l.bead("fg-b"), b"b".to_vec()),
        ];
        write_all(&l, &files).unwrap();
        let mut names: Vec<String> = fs::read_dir(l.beads())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["fg-a.toml", "fg-b.toml"]);
        assert!(fs::read_dir(journal_dir(&l)).unwrap().next().is_none());
    }

    #[test]
    fn nothing_is_staged_through_a_linked_directory() {
        let (d, l) = layout();
        let outside = d.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::remove_dir(l.beads()).unwrap();
        std::os::unix::fs::symlink(&outside, l.beads()).unwrap();
        let err = write_all(&l, &[(l.bead("fg-a"), b"a".to_vec())]).unwrap_err();
        assert!(
            err.to_string().contains("beads: is a symbolic link"),
            "{err}"
        );
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn a_committed_journal_is_rolled_forward() {
        let (_d, l) = layout();
        let staged = l.beads().join(".staged-999999999-00000000-fg-a.toml");
        fs::write(&staged, "a").unwrap();
        fs::create_dir_all(journal_dir(&l)).unwrap();
        let j = Journal {
            pairs: vec![(staged.clone(), l.bead("fg-a"))],
        };
        fs::write(
            journal_dir(&l).join("999999999-00000000.json"),
            serde_json::to_vec(&j).unwrap(),
        )
        .unwrap();
        sweep_staged(&l, &l.beads());
        assert!(staged.exists(), "a journaled staged file was swept");
        recover(&l).unwrap();
        assert_eq!(fs::read(l.bead("fg-a")).unwrap(), b"a");
        assert!(!staged.exists());
    }

    #[test]
    fn an_uncommitted_batch_is_swept() {
        let (_d, l) = layout();
        let staged = l.beads().join(".staged-999999999-00000000-fg-a.toml");
        fs::write(&staged, "a").unwrap();
        sweep_staged(&l, &l.beads());
        assert!(!staged.exists());
    }
}
