//! The environment a harness runs with: an allowlist, never forge's whole environment.

use std::path::{Path, PathBuf};

/// Variables passed through from forge's own environment when set.
pub const ALLOWLIST: &[&str] = &[
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TERM",
    "TZ",
    "USER",
    "LOGNAME",
    "SHELL",
    "COLORTERM",
    "NO_COLOR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];

/// The scratch HOME's `.gitconfig`: forge's identity, as on the commits it makes.
pub const GITCONFIG: &str = "[user]\n\tname = forge\n\temail = forge@localhost\n";

/// Never passed, even when config asks: sockets that reach outside any sandbox.
pub const DENYLIST: &[&str] = &["SSH_AUTH_SOCK", "DOCKER_HOST", "GPG_AGENT_INFO"];

pub struct EnvRequest<'a> {
    /// A snapshot of forge's environment.
    pub parent: &'a [(String, String)],
    /// Extra names to pass through (from config and the preset).
    pub passthrough: &'a [String],
    /// Values to set (from config and the preset).
    pub set: &'a [(String, String)],
    /// The step's scratch directory; HOME, XDG_*, TMPDIR, CODEX_HOME and TMUX_TMPDIR are
    /// created under it.
    pub scratch: &'a Path,
    /// FORGE_* variables telling the harness which bead and step it serves.
    pub forge: &'a [(String, String)],
}

/// Builds the environment and creates the scratch directories it names.
pub fn build(req: &EnvRequest<'_>) -> std::io::Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = Vec::new();
    let put = |k: &str, v: String, env: &mut Vec<(String, String)>| {
        if DENYLIST.contains(&k) {
            return;
        }
        env.retain(|(x, _)| x != k);
        env.push((k.to_owned(), v));
    };
    for (k, v) in req.parent {
        if ALLOWLIST.contains(&k.as_str()) || req.passthrough.iter().any(|p| p == k) {
            put(k, v.clone(), &mut env);
        }
    }
    for (k, dir) in prepare_scratch(req.scratch)? {
        put(k, dir.display().to_string(), &mut env);
    }
    for (k, v) in req.set.iter().chain(req.forge) {
        put(k, v.clone(), &mut env);
    }
    env.sort();
    Ok(env)
}

/// Makes (or makes safe again, after a harness ran) the scratch directories an
/// environment names, never through a link planted there, and writes the scratch HOME's
/// `.gitconfig`. Returns each variable with its directory.
pub fn prepare_scratch(scratch: &Path) -> std::io::Result<Vec<(&'static str, PathBuf)>> {
    let dirs = [
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "home/.config"),
        ("XDG_CACHE_HOME", "home/.cache"),
        ("XDG_DATA_HOME", "home/.local/share"),
        ("XDG_STATE_HOME", "home/.local/state"),
        ("TMPDIR", "tmp"),
        ("CODEX_HOME", "home/.codex"),
        ("TMUX_TMPDIR", "tmux"),
    ];
    let mut out = Vec::new();
    for (k, rel) in dirs {
        out.push((k, dirs_no_follow(scratch, Path::new(rel))?));
    }
    // The user's identity is in their own ~/.gitconfig, which the harness never sees: a
    // harness that asks git who it is must find someone, or it fills in a placeholder in
    // the repository's shared .git/config (aider does: a policy violation unsandboxed, a
    // crash inside the sandbox, which denies that write). `home_files` may replace it.
    write_no_follow(&scratch.join("home/.gitconfig"), GITCONFIG.as_bytes())?;
    Ok(out)
}

/// Writes a new file at `path`, replacing whatever the harness left there (a symlink is
/// removed, never followed: `create_new` does not follow one either).
fn write_no_follow(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path)?,
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?
        .write_all(contents)
}

/// Creates `base/rel` one component at a time, never through a symlink: the harness owns
/// the scratch directory, and a link it planted there (`home/.config -> ~/.ssh`) is
/// replaced by a directory instead of followed.
pub fn dirs_no_follow(base: &Path, rel: &Path) -> std::io::Result<std::path::PathBuf> {
    let mut dir = base.to_owned();
    std::fs::create_dir_all(&dir)?;
    for part in rel.components() {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => std::fs::remove_file(&dir)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir(&dir)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_links_are_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        let scratch = dir.path().join("scratch");
        std::fs::create_dir_all(scratch.join("home")).unwrap();
        std::os::unix::fs::symlink(&victim, scratch.join("home/.config")).unwrap();
        let made = dirs_no_follow(&scratch, Path::new("home/.config/x")).unwrap();
        assert!(made.is_dir());
        assert!(
            !std::fs::symlink_metadata(scratch.join("home/.config"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
    }

    #[test]
    fn only_allowlisted_and_requested_variables_pass() {
        let dir = tempfile::tempdir().unwrap();
        let parent = vec![
            ("PATH".to_owned(), "/bin".to_owned()),
            ("ANTHROPIC_API_KEY".to_owned(), "secret".to_owned()),
            ("OPENAI_API_KEY".to_owned(), "other".to_owned()),
            ("SSH_AUTH_SOCK".to_owned(), "/tmp/agent".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ];
        let env = build(&EnvRequest {
            parent: &parent,
            passthrough: &["ANTHROPIC_API_KEY".into(), "SSH_AUTH_SOCK".into()],
            set: &[("DISABLE_TELEMETRY".into(), "1".into())],
            scratch: dir.path(),
            forge: &[("FORGE_BEAD".into(), "fg-abcd".into())],
        })
        .unwrap();
        let get = |k: &str| env.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH"), Some("/bin"));
        assert_eq!(get("ANTHROPIC_API_KEY"), Some("secret"));
        assert_eq!(get("OPENAI_API_KEY"), None);
        assert_eq!(get("SSH_AUTH_SOCK"), None);
        assert_eq!(get("DISABLE_TELEMETRY"), Some("1"));
        assert_eq!(get("FORGE_BEAD"), Some("fg-abcd"));
        let home = get("HOME").unwrap();
        assert!(home.starts_with(dir.path().to_str().unwrap()) && Path::new(home).is_dir());
        assert!(Path::new(get("CODEX_HOME").unwrap()).is_dir());
        let gitconfig = std::fs::read_to_string(Path::new(home).join(".gitconfig")).unwrap();
        assert!(gitconfig.contains("email = forge@localhost"), "{gitconfig}");
    }

    #[test]
    fn a_planted_gitconfig_link_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "mine").unwrap();
        let scratch = dir.path().join("scratch");
        std::fs::create_dir_all(scratch.join("home")).unwrap();
        std::os::unix::fs::symlink(&victim, scratch.join("home/.gitconfig")).unwrap();
        build(&EnvRequest {
            parent: &[],
            passthrough: &[],
            set: &[],
            scratch: &scratch,
            forge: &[],
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        assert_eq!(
            std::fs::read_to_string(scratch.join("home/.gitconfig")).unwrap(),
            GITCONFIG
        );
    }
}
