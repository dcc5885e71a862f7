//! Advisory locks on files in the runtime directory. They use `flock` (std's `File::lock`),
//! which the kernel releases when the holder dies, so a `kill -9` never leaves a stale lock.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

impl StoreLock {
    fn open(path: &Path) -> Result<File> {
        // The runtime directory is forge's own, per clone: a fresh clone of a repository
        // with `.forge/` has none until something makes it (git makes its own the same way).
        if let Some(dir) = path.parent().filter(|d| !d.exists()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))
    }

    /// Blocks until the exclusive lock is ours.
    pub fn acquire(path: &Path) -> Result<Self> {
        let file = Self::open(path)?;
        file.lock().map_err(|e| Error::io(path, e))?;
        Ok(StoreLock {
            _file: file,
            path: path.to_owned(),
        })
    }

    /// Takes the lock if nobody holds it.
    pub fn try_acquire(path: &Path) -> Result<Option<Self>> {
        let file = Self::open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(StoreLock {
                _file: file,
                path: path.to_owned(),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_clone_without_a_runtime_directory_can_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".git/forge/approve.lock");
        let held = StoreLock::acquire(&path).unwrap();
        assert!(StoreLock::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert!(StoreLock::try_acquire(&path).unwrap().is_some());
    }
}
