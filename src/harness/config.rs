//! `[harness.NAME]` sections of `.forge/config.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarnessConfig {
    /// Which adapter: claude, codex, gemini, aider, opencode, openhands or command.
    pub preset: String,
    /// The program and leading arguments; defaults to the preset's program.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Values set in the harness's environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Names passed through from forge's environment (API keys, endpoints).
    #[serde(default)]
    pub pass_env: Vec<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// Wall-clock limit in seconds.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Seconds without output before the run is stopped.
    #[serde(default)]
    pub idle_timeout: Option<u64>,
    /// Seconds between asking the harness to stop (TERM) and killing it.
    #[serde(default = "default_grace")]
    pub grace: u64,
    /// Files written into the harness's own HOME before each run, by path relative to it
    /// (`".codex/config.toml"`, `".gemini/settings.json"`): each run starts with an empty
    /// HOME, so this is how a harness gets the settings it only reads from there.
    #[serde(default, deserialize_with = "relative_paths")]
    pub home_files: BTreeMap<String, String>,
}

/// `home_files` keys: relative paths that stay inside HOME.
fn relative_paths<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let files = BTreeMap::<String, String>::deserialize(d)?;
    for path in files.keys() {
        if !home_relative(path) {
            return Err(serde::de::Error::custom(format!(
                "home_files: '{path}' must be a relative path inside HOME (no '..', not absolute)"
            )));
        }
    }
    Ok(files)
}

/// A path that names a file inside the directory it is joined to.
pub fn home_relative(path: &str) -> bool {
    let p = std::path::Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn default_grace() -> u64 {
    5
}

fn default_timeout() -> u64 {
    1800
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_files_must_stay_inside_home() {
        let ok: HarnessConfig = toml::from_str(
            "preset = \"codex\"\nhome_files = { \".codex/config.toml\" = \"model = 'x'\" }",
        )
        .unwrap();
        assert_eq!(ok.home_files[".codex/config.toml"], "model = 'x'");
        for bad in ["../x", "/etc/passwd", "a/../../b", ""] {
            let text = format!("preset = \"codex\"\nhome_files = {{ \"{bad}\" = \"x\" }}");
            let err = toml::from_str::<HarnessConfig>(&text).unwrap_err();
            assert!(err.to_string().contains("home_files"), "{bad}: {err}");
        }
    }
}
