//! What a step's commits change, read once from git's object store: paths, modes, blobs,
//! line counts, and which files became binary, executable or links.

use crate::error::Result;
use crate::git::cli::Git;

/// Changed-file facts the gates and the risk tier share.
pub struct DiffFacts {
    pub files: Vec<String>,
    pub added: u64,
    pub removed: u64,
    /// Every changed path with its modes and blobs.
    pub changes: Vec<Change>,
    /// Symbolic links the step added or changed: (path, target).
    pub symlinks: Vec<(String, String)>,
    /// Files that are binary now and were not before (added, or text until this step).
    pub new_binaries: Vec<String>,
    /// Files that are executable now and were not before (added, or `chmod +x`).
    pub new_executables: Vec<String>,
}

const MODE_FILE: u32 = 0o100644;
const MODE_EXECUTABLE: u32 = 0o100755;
const MODE_SYMLINK: u32 = 0o120000;

/// One entry of `git diff --raw`: a changed path, by mode and blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// `A`dded, `D`eleted, `M`odified, `T`ype changed.
    pub status: char,
    pub old_mode: u32,
    pub new_mode: u32,
    pub old_blob: String,
    pub new_blob: String,
    /// The new content is binary, decided from its bytes as git does (a NUL in the first
    /// 8000), never from `.gitattributes`, which the agent can write.
    pub binary: bool,
    /// The old content was binary.
    pub was_binary: bool,
}

impl Change {
    fn is_file(mode: u32) -> bool {
        mode == MODE_FILE || mode == MODE_EXECUTABLE
    }

    /// A regular file with (possibly) new content.
    pub(super) fn has_new_file(&self) -> bool {
        self.status != 'D' && Change::is_file(self.new_mode)
    }

    pub(super) fn had_old_file(&self) -> bool {
        self.status != 'A' && Change::is_file(self.old_mode)
    }
}

/// Whether content is binary the way git decides it: a NUL byte in the first 8000 bytes.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8000)].contains(&0)
}

/// Parses `git diff --raw -z --no-renames --no-abbrev` output.
fn parse_raw(out: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut fields = out.split('\0');
    while let Some(header) = fields.next() {
        let Some(header) = header.strip_prefix(':') else {
            continue;
        };
        let Some(path) = fields.next() else { break };
        let parts: Vec<&str> = header.split(' ').collect();
        let [old_mode, new_mode, old_blob, new_blob, status] = parts[..] else {
            continue;
        };
        let mode = |m: &str| u32::from_str_radix(m, 8).unwrap_or(0);
        changes.push(Change {
            path: path.to_owned(),
            status: status.chars().next().unwrap_or('M'),
            old_mode: mode(old_mode),
            new_mode: mode(new_mode),
            old_blob: old_blob.to_owned(),
            new_blob: new_blob.to_owned(),
            binary: false,
            was_binary: false,
        });
    }
    changes
}

/// What `head` changes against `base`, read from `git`'s object store.
pub fn diff_facts(git: &Git, base: &str, head: &str) -> Result<DiffFacts> {
    let raw = git.run(&[
        "diff",
        "--raw",
        "-z",
        "--no-renames",
        "--no-abbrev",
        base,
        head,
    ])?;
    let mut changes = parse_raw(&raw);
    let files = changes.iter().map(|c| c.path.clone()).collect();
    let (added, removed) = git.diff_lines(base, head)?;

    // New contents of files and links, in one read of the object store.
    let wanted: Vec<usize> = (0..changes.len())
        .filter(|&i| {
            let c = &changes[i];
            c.has_new_file() || (c.status != 'D' && c.new_mode == MODE_SYMLINK)
        })
        .collect();
    let specs: Vec<String> = wanted
        .iter()
        .map(|&i| changes[i].new_blob.clone())
        .collect();
    let blobs = git.cat_file_batch(&specs)?;
    let mut symlinks = Vec::new();
    for (&i, blob) in wanted.iter().zip(blobs) {
        let blob = blob.unwrap_or_default();
        let c = &mut changes[i];
        if c.new_mode == MODE_SYMLINK {
            symlinks.push((c.path.clone(), String::from_utf8_lossy(&blob).into_owned()));
        } else {
            c.binary = is_binary(&blob);
        }
    }
    // Old contents only where the new one is binary: was it binary before?
    let was: Vec<usize> = (0..changes.len())
        .filter(|&i| changes[i].binary && changes[i].had_old_file())
        .collect();
    let specs: Vec<String> = was.iter().map(|&i| changes[i].old_blob.clone()).collect();
    for (&i, blob) in was.iter().zip(git.cat_file_batch(&specs)?) {
        changes[i].was_binary = blob.is_some_and(|b| is_binary(&b));
    }

    let new_binaries = changes
        .iter()
        .filter(|c| c.has_new_file() && c.binary && !c.was_binary)
        .map(|c| c.path.clone())
        .collect();
    let new_executables = changes
        .iter()
        .filter(|c| {
            c.status != 'D'
                && c.new_mode == MODE_EXECUTABLE
                && (c.status == 'A' || c.old_mode != MODE_EXECUTABLE)
        })
        .map(|c| c.path.clone())
        .collect();
    Ok(DiffFacts {
        files,
        added,
        removed,
        changes,
        symlinks,
        new_binaries,
        new_executables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_diff_entries_are_parsed() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let out = format!(
            ":000000 100755 {z} {a} A\0run.sh\0:100644 100644 {a} {b} M\0dir/file with space\0\
             :100644 120000 {a} {b} T\0link\0:100644 000000 {a} {z} D\0gone\0"
        );
        let changes = parse_raw(&out);
        assert_eq!(changes.len(), 4);
        assert_eq!(changes[0].path, "run.sh");
        assert_eq!(
            (changes[0].status, changes[0].old_mode, changes[0].new_mode),
            ('A', 0, MODE_EXECUTABLE)
        );
        assert_eq!(changes[1].path, "dir/file with space");
        assert_eq!(changes[2].new_mode, MODE_SYMLINK);
        assert!(!changes[3].has_new_file() && changes[3].had_old_file());
        assert!(parse_raw("").is_empty());
    }

    #[test]
    fn binary_is_decided_by_a_nul_in_the_first_8000_bytes() {
        assert!(is_binary(b"PNG\0\x01"));
        assert!(!is_binary(b"plain text\n"));
        let mut late = vec![b'a'; 8000];
        late.push(0);
        assert!(!is_binary(&late));
    }
}
