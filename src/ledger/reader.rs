//! Reading ledger files without trusting that the last line is complete.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct LedgerFile {
    pub path: PathBuf,
    /// Complete lines (without their newline), in order.
    pub lines: Vec<String>,
    /// Bytes after the last newline: a line whose writer died mid-write, or one still being
    /// written by a live run.
    pub torn: Option<Vec<u8>>,
    /// Length in bytes of the complete lines, newlines included.
    pub complete_len: u64,
}

pub fn read_file(path: &Path) -> Result<LedgerFile> {
    // Never blocks on a FIFO, never follows a link: only a regular file is a ledger file.
    let bytes = crate::store::file::read_regular_bytes(path).ok_or_else(|| {
        Error::io(
            path,
            std::io::Error::other(
                "not a regular file (or unreadable): forge never follows links or reads \
                 FIFOs in .forge/; remove it",
            ),
        )
    })?;
    let (complete, torn) = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => (&bytes[..=i], &bytes[i + 1..]),
        None => (&bytes[..0], &bytes[..]),
    };
    let lines = match complete.split_last() {
        Some((_newline, body)) => body
            .split(|&b| b == b'\n')
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect(),
        None => Vec::new(),
    };
    Ok(LedgerFile {
        path: path.to_owned(),
        lines,
        torn: (!torn.is_empty()).then(|| torn.to_vec()),
        complete_len: complete.len() as u64,
    })
}

/// Whether the run that writes `path` is still alive (it holds a lock on its file).
pub fn writer_alive(path: &Path) -> bool {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(path, flags, Mode::empty()) else {
        return false;
    };
    let file = File::from(fd);
    match file.try_lock_shared() {
        Ok(()) => false,
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

/// Moves a dead run's torn tail into `<file>.torn` beside it (ignored by git) and truncates
/// the file after its last complete line. Returns the quarantine path, or None when the
/// writer is alive or there is nothing to move.
pub fn quarantine_torn(path: &Path) -> Result<Option<PathBuf>> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    // Holding the lock ourselves keeps a live writer from appending meanwhile.
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
    }
    let read = read_file(path)?;
    let Some(torn) = read.torn else {
        return Ok(None);
    };
    // Measured on the raw bytes: lines are decoded lossily, so their text length can
    // differ from what is on disk.
    let keep = read.complete_len;
    let mut q = path.as_os_str().to_owned();
    q.push(".torn");
    let quarantine = PathBuf::from(q);
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&quarantine)
        .map_err(|e| Error::io(&quarantine, e))?;
    out.write_all(&torn)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.sync_all())
        .map_err(|e| Error::io(&quarantine, e))?;
    file.set_len(keep)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, e))?;
    Ok(Some(quarantine))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn read(bytes: &[u8]) -> LedgerFile {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        fs::write(&p, bytes).unwrap();
        read_file(&p).unwrap()
    }

    #[test]
    fn splits_complete_lines_and_torn_tail() {
        let f = read(b"a\nb\nhalf");
        assert_eq!(f.lines, ["a", "b"]);
        assert_eq!(f.torn.as_deref(), Some(&b"half"[..]));
        let f = read(b"a\n");
        assert_eq!(f.lines, ["a"]);
        assert!(f.torn.is_none());
        let f = read(b"");
        assert!(f.lines.is_empty() && f.torn.is_none());
        let f = read(b"only");
        assert!(f.lines.is_empty());
        assert_eq!(f.torn.as_deref(), Some(&b"only"[..]));
    }

    #[test]
    fn quarantine_cuts_at_the_raw_newline_even_after_invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        fs::write(&p, b"x\xffy\nab").unwrap();
        quarantine_torn(&p).unwrap().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"x\xffy\n");
        assert!(
            quarantine_torn(&p).unwrap().is_none(),
            "nothing left to move"
        );
    }

    #[test]
    fn quarantine_truncates_and_keeps_the_fragment() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        fs::write(&p, b"a\nhal").unwrap();
        let q = quarantine_torn(&p).unwrap().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"a\n");
        assert_eq!(fs::read(&q).unwrap(), b"hal\n");
    }
}
