//! Atomic replacement of files: temp file in the same directory, fsync, rename, fsync the
//! directory. A crash leaves the old file or the new one, never a torn one, but it can leave
//! an orphaned temp file, which [`sweep_temp_files`] removes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

const TEMP_PREFIX: &str = ".tmp-";

/// Temp files are named `.tmp-<pid>-<random>-<name>` so that a sweeper can tell whether the
/// process that made one is still alive.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// The directory holding `path`; "." for a bare file name (whose `parent()` is empty, and
/// an empty path cannot be opened to fsync).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

pub fn atomic_write(path: &Path, contents: &[u8]) -> Result<()> {
    atomic_write_mode(path, contents, None)
}

/// [`atomic_write`], with the file's permission bits set to `mode` when given (before the
/// rename, so the file never appears with others).
pub fn atomic_write_mode(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = parent_dir(path);
    let tmp = temp_path_for(path).map_err(|e| Error::io(path, e))?;
    let result = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(contents)?;
        if let Some(mode) = mode {
            f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        }
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::io(path, e))
}

/// [`atomic_write`] for a state file (`.forge/beads/<id>.toml`, ...): its directory and
/// `.forge/` must be real directories, not symbolic links (see `store::file`), and every
/// step happens relative to the directory opened once, so nothing is ever written outside
/// the repository. A link in the file's own place is replaced, never followed.
pub fn atomic_write_state(path: &Path, contents: &[u8]) -> Result<()> {
    let (dir, name) = super::file::split(path)?;
    let dirfd = super::file::open_dir(dir)?;
    write_at(&dirfd, name, contents).map_err(|e| Error::io(path, e))
}

/// The steps of [`atomic_write`], relative to the open directory `dirfd`.
fn write_at(dirfd: &std::os::fd::OwnedFd, name: &str, contents: &[u8]) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    let tmp = temp_path_for(Path::new(name))?;
    let tmp = tmp.file_name().unwrap_or_default();
    // As `File::create`: the umask decides.
    let mode = Mode::from_bits_truncate(0o666);
    let result = (|| -> std::io::Result<()> {
        let fd = rustix::fs::openat(
            dirfd,
            tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            mode,
        )?;
        let mut f = File::from(fd);
        f.write_all(contents)?;
        f.sync_all()?;
        rustix::fs::renameat(dirfd, tmp, dirfd, name)?;
        Ok(rustix::fs::fsync(dirfd)?)
    })();
    if result.is_err() {
        let _ = rustix::fs::unlinkat(dirfd, tmp, rustix::fs::AtFlags::empty());
    }
    result
}

/// Removes temp files left by processes that no longer exist. Temp files of live processes
/// are kept: their owner is about to rename them.
pub fn sweep_temp_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_temp_name(&name) && !owner_alive(&name) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// [`sweep_temp_files`] in `dir` and every directory below it.
pub fn sweep_temp_files_under(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_dir())
        .map(|e| sweep_temp_files(e.path()))
        .sum()
}

/// A fresh temp path beside `path`, named so that [`sweep_temp_files`] can tell whether
/// its owner is alive.
pub fn temp_path_for(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Never seeded (`FORGE_SEED`): two processes must not pick the same name.
    let nonce = crate::randomness::os_u32()?;
    Ok(dir.join(format!(
        "{TEMP_PREFIX}{}-{nonce:08x}-{name}",
        std::process::id(),
    )))
}

fn owner_alive(temp_name: &str) -> bool {
    let pid = temp_name[TEMP_PREFIX.len()..]
        .split('-')
        .next()
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if pid == std::process::id() => true,
        Some(pid) => Path::new(&format!("/proc/{pid}")).exists(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        // `Path::parent` of a bare name is "", which cannot be opened to fsync.
        assert_eq!(parent_dir(Path::new("bare.toml")), Path::new("."));
        assert_eq!(parent_dir(Path::new("a/b.toml")), Path::new("a"));
        assert_eq!(parent_dir(Path::new("/b.toml")), Path::new("/"));
    }

    #[test]
    fn state_writes_refuse_a_linked_directory_and_replace_a_linked_file() {
        let tmp = tempfile::tempdir().unwrap();
        let forge = tmp.path().join(".forge");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(forge.join("beads")).unwrap();
        fs::create_dir_all(&outside).unwrap();

        atomic_write_state(&forge.join("beads").join("a.toml"), b"one").unwrap();
        assert_eq!(
            fs::read(forge.join("beads").join("a.toml")).unwrap(),
            b"one"
        );

        // A link in the file's place is replaced; its target is untouched.
        fs::write(outside.join("t.toml"), "target").unwrap();
        std::os::unix::fs::symlink(outside.join("t.toml"), forge.join("beads").join("l.toml"))
            .unwrap();
        atomic_write_state(&forge.join("beads").join("l.toml"), b"two").unwrap();
        assert_eq!(fs::read(outside.join("t.toml")).unwrap(), b"target");
        assert!(
            fs::symlink_metadata(forge.join("beads").join("l.toml"))
                .unwrap()
                .is_file()
        );

        // A linked directory is an error naming it; nothing lands outside.
        std::os::unix::fs::symlink(&outside, forge.join("linked")).unwrap();
        let err = atomic_write_state(&forge.join("linked").join("b.toml"), b"x").unwrap_err();
        assert!(
            err.to_string().contains("linked: is a symbolic link"),
            "{err}"
        );
        assert_eq!(err.exit_code(), crate::error::exit::BAD_STATE_FILE);
        assert!(!outside.join("b.toml").exists());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    }

    #[test]
    fn sweeps_only_dead_owners() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0 is never a live user process; our own pid is alive.
        fs::write(dir.path().join(".tmp-999999999-00000000-x.toml"), "").unwrap();
        let mine = format!(".tmp-{}-00000000-y.toml", std::process::id());
        fs::write(dir.path().join(&mine), "").unwrap();
        assert_eq!(sweep_temp_files(dir.path()), 1);
        assert!(dir.path().join(mine).exists());
    }
}
