//! The environment a harness runs with: an allowlist, never forge's whole environment.

use std::path::Path;

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
    for (k, rel) in dirs {
        let dir = req.scratch.join(rel);
        std::fs::create_dir_all(&dir)?;
        put(k, dir.display().to_string(), &mut env);
    }
    for (k, v) in req.set.iter().chain(req.forge) {
        put(k, v.clone(), &mut env);
    }
    env.sort();
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
