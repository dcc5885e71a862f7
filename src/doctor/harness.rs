//! Finding each configured harness's program and asking it for its version, with a short
//! timeout, all at once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::harness::presets;

/// One configured harness, looked up.
#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub preset: String,
    pub program: String,
    /// Where the program was found; None if nowhere.
    pub found: Option<PathBuf>,
    /// The first line `--version` printed, or why it printed none.
    pub version: Result<String, String>,
    /// The preset is unknown.
    pub unknown_preset: bool,
}

/// `program` on `path_var` (or relative to `root` when it contains a slash).
pub fn which(program: &str, path_var: Option<&str>, root: &Path) -> Option<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = root.join(program);
        return executable(&p).then_some(p);
    }
    path_var?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| executable(p))
}

/// Runs `program --version` and returns the first non-empty line it printed.
fn version(program: &Path, timeout: Duration) -> Result<String, String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start it: {e}"))?;
    // Readers on threads that are not joined after a timeout: a grandchild holding the
    // pipe must not hang doctor.
    let (tx, rx) = std::sync::mpsc::channel();
    for mut pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.by_ref().take(64 * 1024).read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
    }
    drop(tx);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`--version` did not answer within {} s",
                    timeout.as_secs()
                ));
            }
        }
    };
    let mut output = Vec::new();
    while let Ok(buf) = rx.recv_timeout(Duration::from_millis(200)) {
        output.extend(buf);
    }
    let text = String::from_utf8_lossy(&output);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) if status.success() => Ok(line.chars().take(100).collect()),
        Some(line) => Err(format!("`--version` failed ({status}): {line}")),
        None => Err(format!("`--version` printed nothing ({status})")),
    }
}

/// Looks up every `[harness.NAME]` of `config`, in parallel.
pub fn probe_all(
    config: &Config,
    path_var: Option<&str>,
    root: &Path,
    timeout: Duration,
) -> Vec<Probe> {
    let wanted: Vec<(String, String, Option<String>)> = config
        .harness
        .iter()
        .map(|(name, h)| {
            let program = h.program();
            (name.clone(), h.preset.clone(), program)
        })
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = wanted
            .into_iter()
            .map(|(name, preset, program)| {
                s.spawn(move || {
                    let unknown_preset = presets::by_name(&preset).is_none();
                    let program = program.unwrap_or_default();
                    let found = (!program.is_empty())
                        .then(|| which(&program, path_var, root))
                        .flatten();
                    let version = match &found {
                        Some(p) => version(p, timeout),
                        None => Err("not found".into()),
                    };
                    Probe {
                        name,
                        preset,
                        program,
                        found,
                        version,
                        unknown_preset,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}
