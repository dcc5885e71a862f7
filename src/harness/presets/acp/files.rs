//! `fs/read_text_file` and `fs/write_text_file`, served by forge for the agent and held to
//! the worktree.
//!
//! forge itself is not sandboxed, so it must not be the way out: a path is taken relative to
//! the worktree lexically (`..` may not climb out of it) and then opened with
//! `openat2(RESOLVE_BENEATH)` from the worktree's directory, so the kernel refuses any
//! symbolic link the agent planted that points outside. Nothing below a `.git` entry is
//! served: that is git's, and the step's git context is not the agent's to change.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};

/// The most of a file forge reads for an agent (a larger file is an error, not a cut).
pub const MAX_READ: u64 = 8 << 20;

/// Why a request was not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Outside the worktree (or below `.git`): the policy's business, recorded as denied.
    Outside(String),
    /// There is no such file (ACP's "resource not found").
    Missing(String),
    /// Could not be done (not UTF-8, too large, not a regular file, ...).
    Failed(String),
}

/// `path` relative to `root`, when it lies beneath it by its text: absolute, no `..` that
/// leaves it, no `.git` component. None otherwise.
pub fn beneath(root: &Path, path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut normal = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => normal.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                if !normal.pop() {
                    return None;
                }
            }
            Component::Normal(name) => normal.push(name),
        }
    }
    let rel = normal.strip_prefix(root).ok()?.to_owned();
    if rel.components().any(|c| c.as_os_str() == ".git") {
        return None;
    }
    Some(rel)
}

fn outside(path: &Path) -> Refusal {
    let path = super::policy::code(&path.display().to_string());
    Refusal::Outside(format!("{path} is outside the worktree"))
}

fn failed(path: &Path, what: &str, e: impl std::fmt::Display) -> Refusal {
    Refusal::Failed(format!("could not {what} {}: {e}", path.display()))
}

fn how() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS
}

fn open_root(root: &Path) -> Result<OwnedFd, Refusal> {
    rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| failed(root, "open the worktree", e))
}

/// Reads the text of `path` (absolute), from 1-based `line` for `limit` lines when given.
pub fn read(
    root: &Path,
    path: &Path,
    line: Option<u32>,
    limit: Option<u32>,
) -> Result<String, Refusal> {
    let rel = beneath(root, path).ok_or_else(|| outside(path))?;
    let dir = open_root(root)?;
    // Non-blocking: a FIFO the agent made must not hold forge's run loop (and with it the
    // timeouts); anything but a regular file is refused below.
    let fd = openat2(
        &dir,
        &rel,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
        how(),
    )
    .map_err(|e| escape_or(path, "read", e))?;
    regular(&fd, path, "read")?;
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::new();
    (&mut file)
        .take(MAX_READ + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| failed(path, "read", e))?;
    if bytes.len() as u64 > MAX_READ {
        return Err(failed(path, "read", "larger than 8 MiB"));
    }
    let text = String::from_utf8(bytes).map_err(|_| failed(path, "read", "not UTF-8 text"))?;
    Ok(match (line, limit) {
        (None, None) => text,
        _ => {
            let skip = line.unwrap_or(1).saturating_sub(1) as usize;
            let take = limit.map_or(usize::MAX, |l| l as usize);
            text.split_inclusive('\n').skip(skip).take(take).collect()
        }
    })
}

/// Writes `content` to `path` (absolute), making its missing directories; returns the
/// path relative to the worktree.
pub fn write(root: &Path, path: &Path, content: &str) -> Result<PathBuf, Refusal> {
    let rel = beneath(root, path).ok_or_else(|| outside(path))?;
    let Some(name) = rel.file_name() else {
        return Err(failed(path, "write", "not a file name"));
    };
    let mut dir = open_root(root)?;
    if let Some(parent) = rel.parent() {
        for part in parent.components() {
            match rustix::fs::mkdirat(&dir, part.as_os_str(), Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(escape_or(path, "make the directory for", e)),
            }
            dir = openat2(
                &dir,
                part.as_os_str(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                how(),
            )
            .map_err(|e| escape_or(path, "open the directory for", e))?;
        }
    }
    // Not truncated before it is known to be a regular file of its own: a FIFO opened for
    // writing without a reader fails at once (ENXIO) instead of blocking, and a hard link
    // to a file elsewhere is not written through.
    let fd = openat2(
        &dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK,
        Mode::from_raw_mode(0o644),
        how(),
    )
    .map_err(|e| escape_or(path, "write", e))?;
    let stat = regular(&fd, path, "write")?;
    if stat.st_nlink > 1 {
        return Err(failed(path, "write", "it has other hard links"));
    }
    rustix::fs::ftruncate(&fd, 0).map_err(|e| failed(path, "write", e))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(content.as_bytes())
        .map_err(|e| failed(path, "write", e))?;
    Ok(rel)
}

/// Refuses anything but a regular file (a FIFO, a device, a directory).
fn regular(fd: &OwnedFd, path: &Path, what: &str) -> Result<rustix::fs::Stat, Refusal> {
    let stat = rustix::fs::fstat(fd).map_err(|e| failed(path, what, e))?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(failed(path, what, "not a regular file"));
    }
    Ok(stat)
}

/// EXDEV from `openat2` means the path left the worktree through a link.
fn escape_or(path: &Path, what: &str, e: rustix::io::Errno) -> Refusal {
    match e {
        rustix::io::Errno::XDEV => Refusal::Outside(format!(
            "{} leads outside the worktree through a symbolic link",
            super::policy::code(&path.display().to_string())
        )),
        rustix::io::Errno::LOOP => Refusal::Outside(format!(
            "{} is a symbolic link forge does not follow",
            super::policy::code(&path.display().to_string())
        )),
        rustix::io::Errno::NOENT => {
            Refusal::Missing(format!("could not {what} {}: no such file", path.display()))
        }
        e => failed(path, what, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_taken_beneath_the_worktree_by_their_text() {
        let root = Path::new("/w/tree");
        let rel = |p: &str| beneath(root, Path::new(p));
        assert_eq!(rel("/w/tree/a/b.rs"), Some(PathBuf::from("a/b.rs")));
        assert_eq!(rel("/w/tree/a/../b.rs"), Some(PathBuf::from("b.rs")));
        assert_eq!(rel("/w/tree/../other/x"), None);
        assert_eq!(rel("/w/treehouse/x"), None);
        assert_eq!(rel("a/b.rs"), None);
        assert_eq!(rel("/w/tree/.git"), None);
        assert_eq!(rel("/w/tree/sub/.git/config"), None);
        assert_eq!(rel("/etc/passwd"), None);
    }

    #[test]
    fn reads_and_writes_stay_inside_whatever_links_say() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        std::fs::create_dir(&root).unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "key").unwrap();
        std::os::unix::fs::symlink(&secret, root.join("link")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();

        let written = write(&root, &root.join("new/dir/a.txt"), "one\ntwo\nthree\n").unwrap();
        assert_eq!(written, PathBuf::from("new/dir/a.txt"));
        assert_eq!(
            read(&root, &root.join("new/dir/a.txt"), None, None).unwrap(),
            "one\ntwo\nthree\n"
        );
        assert_eq!(
            read(&root, &root.join("new/dir/a.txt"), Some(2), Some(1)).unwrap(),
            "two\n"
        );

        assert!(matches!(
            read(&root, &root.join("link"), None, None),
            Err(Refusal::Outside(_))
        ));
        assert!(matches!(
            write(&root, &root.join("link"), "x"),
            Err(Refusal::Outside(_))
        ));
        assert!(matches!(
            write(&root, &root.join("up/escaped.txt"), "x"),
            Err(Refusal::Outside(_))
        ));
        assert!(matches!(
            write(&root, &dir.path().join("outside.txt"), "x"),
            Err(Refusal::Outside(_))
        ));
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "key");
        assert!(!dir.path().join("escaped.txt").exists());
        assert!(!dir.path().join("outside.txt").exists());
        assert!(matches!(
            read(&root, &root.join("missing"), None, None),
            Err(Refusal::Missing(_))
        ));
    }

    #[test]
    fn a_fifo_or_a_hard_link_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        std::fs::create_dir(&root).unwrap();
        let fifo = root.join("pipe");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        // Both would block for ever on a FIFO nobody else opened.
        let r = read(&root, &fifo, None, None).unwrap_err();
        assert!(
            matches!(&r, Refusal::Failed(m) if m.contains("not a regular file")),
            "{r:?}"
        );
        assert!(matches!(write(&root, &fifo, "x"), Err(Refusal::Failed(_))));
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "keep").unwrap();
        std::fs::hard_link(&outside, root.join("h")).unwrap();
        let r = write(&root, &root.join("h"), "x").unwrap_err();
        assert!(
            matches!(&r, Refusal::Failed(m) if m.contains("hard links")),
            "{r:?}"
        );
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        // An existing file of its own is replaced, not appended to.
        std::fs::write(root.join("a"), "long old text").unwrap();
        write(&root, &root.join("a"), "new").unwrap();
        assert_eq!(std::fs::read_to_string(root.join("a")).unwrap(), "new");
    }
}
