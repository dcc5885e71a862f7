//! Where a harness is installed: the directories its program, and the interpreter its
//! script names, need to be readable from inside the sandbox.

use std::path::{Path, PathBuf};

/// How deep `#!` interpreters are followed (a script run by a wrapper run by node).
const MAX_DEPTH: usize = 3;

/// Finds `program` on `path` (the harness's `PATH`), as a shell would.
pub fn which(program: &str, path: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// The installation roots of `program`: for the program as found on `path` and for its
/// canonical path (npm links a bin to a package file), and again for the interpreter of
/// a `#!` script.
pub fn roots(program: &str, path: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut next = which(program, path);
    for _ in 0..MAX_DEPTH {
        let Some(found) = next.take() else { break };
        out.push(root_of(&found));
        if let Ok(real) = found.canonicalize() {
            out.push(root_of(&real));
            next = interpreter(&real).and_then(|i| which(&i, path));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The directory that holds an installed file: the topmost `node_modules` above it (a
/// package's dependencies sit beside or below it), the prefix above a `bin` directory (a
/// virtualenv, a node or Python installation), else the file's own directory.
fn root_of(file: &Path) -> PathBuf {
    if let Some(nm) = file
        .ancestors()
        .filter(|a| a.file_name().is_some_and(|n| n == "node_modules"))
        .last()
    {
        return nm.to_owned();
    }
    let dir = file.parent().unwrap_or(Path::new("/"));
    match (dir.file_name(), dir.parent()) {
        (Some(name), Some(prefix)) if name == "bin" && prefix != Path::new("/") => {
            prefix.to_owned()
        }
        _ => dir.to_owned(),
    }
}

/// The program a `#!` line names: `#!/usr/bin/env node` gives `node`, `#!/opt/x/python`
/// gives that path.
fn interpreter(script: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = String::from_utf8_lossy(line.split(|&b| b == b'\n').next()?).into_owned();
    let mut words = line.split_whitespace();
    let first = words.next()?;
    if Path::new(first).file_name().is_some_and(|n| n == "env") {
        words.find(|w| !w.starts_with('-')).map(str::to_owned)
    } else {
        Some(first.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_follow_links_and_interpreters() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pkg = d.join("prefix/lib/node_modules/@scope/agent");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::create_dir_all(d.join("prefix/bin")).unwrap();
        std::fs::create_dir_all(d.join("node/bin")).unwrap();
        std::fs::write(pkg.join("cli.js"), "#!/usr/bin/env -S node --x\n").unwrap();
        std::fs::write(d.join("node/bin/node"), "").unwrap();
        std::os::unix::fs::symlink(pkg.join("cli.js"), d.join("prefix/bin/agent")).unwrap();
        let path = format!(
            "{}:{}",
            d.join("prefix/bin").display(),
            d.join("node/bin").display()
        );
        let roots = roots("agent", &path);
        let d = d.canonicalize().unwrap();
        assert!(roots.contains(&dir.path().join("prefix")), "{roots:?}");
        assert!(
            roots.contains(&d.join("prefix/lib/node_modules")),
            "{roots:?}"
        );
        assert!(roots.contains(&d.join("node")), "{roots:?}");
    }

    #[test]
    fn a_plain_directory_is_its_own_root() {
        assert_eq!(
            root_of(Path::new("/opt/tool/run")),
            PathBuf::from("/opt/tool")
        );
        assert_eq!(
            root_of(Path::new("/opt/tool/bin/run")),
            PathBuf::from("/opt/tool")
        );
        assert_eq!(root_of(Path::new("/bin/sh")), PathBuf::from("/bin"));
    }

    #[test]
    fn interpreters_from_shebangs() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s");
        for (text, want) in [
            ("#!/usr/bin/env python3\n", Some("python3")),
            ("#!/usr/bin/env -S node --flag\n", Some("node")),
            ("#!/opt/py/bin/python -u\n", Some("/opt/py/bin/python")),
            ("\x7fELF", None),
        ] {
            std::fs::write(&f, text).unwrap();
            assert_eq!(interpreter(&f).as_deref(), want, "{text:?}");
        }
    }
}
