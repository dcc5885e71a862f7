//! Opening `.forge/` files so that nothing in the tree can make forge hang, or read or
//! write outside the repository: files are opened without blocking (a FIFO would block an
//! ordinary open until a writer appears, forever) and without following symbolic links,
//! and anything that is not a regular file (a FIFO, a device, a directory) is refused after
//! the open, from `fstat` of what was opened. State directories (`.forge/beads/`, ...) and
//! `.forge/` itself must be real directories: a symbolic link there is an error naming it.
//!
//! The text is UTF-8 or an error naming the file, the line and the column of the first
//! byte that is not.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

use crate::error::{Error, Result};

/// Flags for reading a state file: never blocks, never follows a link.
const READ: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// What `path` is, when it is not what forge needs, in words ("a symbolic link").
fn kind_of(file_type: FileType) -> &'static str {
    match file_type {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "not a regular file",
    }
}

/// The error for a `.forge/` path that is `found` instead of a regular file or directory.
pub fn not_regular(path: &Path, found: FileType, wanted: &str) -> Error {
    let message = format!("is {}, not {wanted}", kind_of(found));
    let hint = if found == FileType::Symlink {
        format!(
            "forge never follows symbolic links in .forge/ (they could point outside the \
             repository): replace {} with {wanted}, or restore it with `git checkout -- {}`; \
             forge changed nothing",
            path.display(),
            path.display()
        )
    } else {
        format!(
            "remove {} or replace it with {wanted} (restore it with `git checkout -- {}`); \
             forge changed nothing",
            path.display(),
            path.display()
        )
    };
    Error::InvalidFile {
        path: path.to_owned(),
        message,
        hint,
    }
}

/// Whether a `stat` result is a regular file; otherwise the error naming `path` (built
/// only then: the bead index calls this for every bead).
pub fn check_regular(path: impl FnOnce() -> PathBuf, st: &rustix::fs::Stat) -> Result<()> {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Ok(()),
        other => Err(not_regular(&path(), other, "a regular file")),
    }
}

/// Explains a failed no-follow open of `path`: a link or a non-directory is an invalid
/// file (exit 5); anything else (not found, permissions) stays an I/O error.
fn open_failed(path: &Path, e: rustix::io::Errno, wanted: &str) -> Error {
    if matches!(e, rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR)
        && let Ok(st) = rustix::fs::lstat(path)
    {
        let found = FileType::from_raw_mode(st.st_mode);
        let expected = if wanted == "a directory" {
            FileType::Directory
        } else {
            FileType::RegularFile
        };
        if found != expected {
            return not_regular(path, found, wanted);
        }
    }
    Error::io(path, e.into())
}

/// Opens a state directory such as `.forge/beads` for reading, refusing it, and its parent
/// (`.forge/`), when either is a symbolic link or not a directory.
pub fn open_dir(dir: &Path) -> Result<OwnedFd> {
    const PARENT: OFlags = OFlags::PATH
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);
    const DIR: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return rustix::fs::open(dir, DIR, Mode::empty())
            .map_err(|e| open_failed(dir, e, "a directory"));
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let parent_fd = rustix::fs::open(parent, PARENT, Mode::empty())
        .map_err(|e| open_failed(parent, e, "a directory"))?;
    rustix::fs::openat(&parent_fd, name, DIR, Mode::empty())
        .map_err(|e| open_failed(dir, e, "a directory"))
}

/// Opens `name` in the directory `dirfd` (which is `dir`) for reading, refusing anything
/// but a regular file; its size comes with it.
pub fn open_at(dirfd: impl AsFd, dir: &Path, name: &str) -> Result<(File, u64)> {
    let file = rustix::fs::openat(dirfd, name, READ, Mode::empty()).map_err(|e| {
        let path = dir.join(name);
        if e == rustix::io::Errno::LOOP {
            not_regular(&path, FileType::Symlink, "a regular file")
        } else {
            Error::io(path, e.into())
        }
    })?;
    let st = rustix::fs::fstat(&file).map_err(|e| Error::io(dir.join(name), e.into()))?;
    check_regular(|| dir.join(name), &st)?;
    Ok((File::from(file), u64::try_from(st.st_size).unwrap_or(0)))
}

/// The text of `name` in the directory `dirfd` (which is `dir`); see [`open_at`].
pub fn read_at(dirfd: impl AsFd, dir: &Path, name: &str) -> Result<String> {
    let (file, size) = open_at(dirfd, dir, name)?;
    let bytes = read_all(file, size).map_err(|e| Error::io(dir.join(name), e))?;
    decode(&dir.join(name), bytes)
}

/// The rest of `file`, whose size `fstat` gave as `size`: plain reads into a buffer of that
/// size, so reading a file costs the reads alone (std's `read_to_end` asks the size again,
/// and the position: two calls more per bead when the index reads thousands).
fn read_all(mut file: File, size: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; usize::try_from(size).unwrap_or(0).saturating_add(1)];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// The text of the state file `path`: its directory and `.forge/` checked as by
/// [`open_dir`], the file as by [`open_at`].
pub fn read_state(path: &Path) -> Result<String> {
    let (dir, name) = split(path)?;
    let dirfd = open_dir(dir)?;
    read_at(&dirfd, dir, name)
}

/// The text of `path`, a file people write (`.forge/config.toml`, a prompt template):
/// never blocks, refuses links and anything but a regular file.
pub fn read_file(path: &Path) -> Result<String> {
    let file = rustix::fs::open(path, READ, Mode::empty())
        .map_err(|e| open_failed(path, e, "a regular file"))?;
    let st = rustix::fs::fstat(&file).map_err(|e| Error::io(path, e.into()))?;
    check_regular(|| path.to_owned(), &st)?;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let bytes = read_all(File::from(file), size).map_err(|e| Error::io(path, e))?;
    decode(path, bytes)
}

/// The bytes of `path` if it is a regular file (not a link, not a FIFO): for caches, where
/// anything else only means "no cache". Costs what `fs::read` costs.
pub fn read_regular_bytes(path: &Path) -> Option<Vec<u8>> {
    let file = rustix::fs::open(path, READ, Mode::empty()).ok()?;
    let st = rustix::fs::fstat(&file).ok()?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return None;
    }
    read_all(File::from(file), u64::try_from(st.st_size).unwrap_or(0)).ok()
}

/// The directory and file name of a state file's path.
pub fn split(path: &Path) -> Result<(&Path, &str)> {
    let name = path.file_name().and_then(|n| n.to_str());
    match (path.parent(), name) {
        (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => Ok((dir, name)),
        (_, Some(name)) => Ok((Path::new("."), name)),
        _ => Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        )),
    }
}

/// Whether anything (a file, a link, even a dangling one) has the name `path`.
pub fn taken(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// `bytes` as text, or an error at the line and column of the first byte that is not
/// UTF-8.
pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let (line, column) = super::parse::line_col(valid, at);
        Error::Parse {
            path: path.to_owned(),
            line,
            column,
            message: format!(
                "invalid UTF-8 (byte 0x{:02x}): .forge/ files are UTF-8 text",
                bytes[at]
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_dir() -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".forge").join("beads");
        std::fs::create_dir_all(&dir).unwrap();
        (tmp, dir)
    }

    #[test]
    fn reads_a_regular_file() {
        let (_tmp, dir) = state_dir();
        std::fs::write(dir.join("a.toml"), "x = 1\n").unwrap();
        assert_eq!(read_state(&dir.join("a.toml")).unwrap(), "x = 1\n");
        assert_eq!(read_file(&dir.join("a.toml")).unwrap(), "x = 1\n");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let (_tmp, dir) = state_dir();
        let fd = open_dir(&dir).unwrap();
        rustix::fs::mkfifoat(&fd, "p.toml", Mode::RUSR | Mode::WUSR).unwrap();
        for err in [
            read_state(&dir.join("p.toml")).unwrap_err(),
            read_file(&dir.join("p.toml")).unwrap_err(),
        ] {
            assert_eq!(err.exit_code(), crate::error::exit::BAD_STATE_FILE, "{err}");
            assert!(err.to_string().contains("p.toml: is a FIFO"), "{err}");
        }
    }

    #[test]
    fn links_are_refused_for_files_and_directories() {
        let (tmp, dir) = state_dir();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("a.toml"), "secret").unwrap();
        std::os::unix::fs::symlink(outside.join("a.toml"), dir.join("l.toml")).unwrap();
        let err = read_state(&dir.join("l.toml")).unwrap_err();
        assert!(
            err.to_string().contains("l.toml: is a symbolic link"),
            "{err}"
        );
        let err = read_file(&dir.join("l.toml")).unwrap_err();
        assert!(
            err.to_string().contains("l.toml: is a symbolic link"),
            "{err}"
        );

        let linked = tmp.path().join(".forge").join("linked");
        std::os::unix::fs::symlink(&outside, &linked).unwrap();
        let err = read_state(&linked.join("a.toml")).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::BAD_STATE_FILE);
        assert!(
            err.to_string().contains("linked: is a symbolic link"),
            "{err}"
        );

        // `.forge/` itself.
        let other = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(tmp.path().join(".forge"), other.path().join(".forge")).unwrap();
        let err = open_dir(&other.path().join(".forge").join("beads")).unwrap_err();
        assert!(
            err.to_string().contains(".forge: is a symbolic link"),
            "{err}"
        );
    }

    #[test]
    fn a_file_longer_than_its_stat_said_is_read_whole() {
        let (_tmp, dir) = state_dir();
        let text = "x".repeat(5000);
        std::fs::write(dir.join("a.toml"), &text).unwrap();
        for hint in [0, 1, 4999, 5000, 9000] {
            let file = File::open(dir.join("a.toml")).unwrap();
            assert_eq!(read_all(file, hint).unwrap(), text.as_bytes(), "{hint}");
        }
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let err = decode(Path::new("f.toml"), b"a = 1\nb = \"\xff\"\n".to_vec()).unwrap_err();
        match err {
            Error::Parse {
                line,
                column,
                message,
                ..
            } => {
                assert_eq!((line, column), (2, 6));
                assert!(message.contains("0xff"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
