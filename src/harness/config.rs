//! `[harness.NAME]` sections of `.forge/config.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::presets::acp::policy::Permissions;

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
    /// Wall-clock limit in seconds (1 to [`MAX_TIMEOUT_SECS`]).
    #[serde(default = "default_timeout", deserialize_with = "timeout_secs")]
    pub timeout: u64,
    /// Seconds without output before the run is stopped.
    #[serde(default, deserialize_with = "optional_timeout_secs")]
    pub idle_timeout: Option<u64>,
    /// Seconds between asking the harness to stop (TERM) and killing it.
    #[serde(default = "default_grace", deserialize_with = "grace_secs")]
    pub grace: u64,
    /// Files written into the harness's own HOME before each run, by path relative to it
    /// (`".codex/config.toml"`, `".gemini/settings.json"`): each run starts with an empty
    /// HOME, so this is how a harness gets the settings it only reads from there.
    #[serde(default, deserialize_with = "relative_paths")]
    pub home_files: BTreeMap<String, String>,
    /// How forge answers an ACP agent's permission requests (`acp` preset only).
    #[serde(default)]
    pub permissions: Permissions,
    /// Whether forge offers ACP's `fs/*` methods to the agent (`acp` preset only). Default:
    /// yes, except `fs/read_text_file` to Gemini CLI (see [`HarnessConfig::acp_fs`]).
    #[serde(default)]
    pub acp_fs: Option<bool>,
}

impl HarnessConfig {
    /// Which `fs/*` methods forge offers the ACP agent `program`: both, or none with
    /// `acp_fs = false`; by default Gemini CLI gets only `fs/write_text_file`, because it
    /// fails to create a new file when `fs/read_text_file` is offered (0.61: the read's
    /// "not found" error is not the error it tests for).
    pub fn acp_fs(&self, program: &str) -> super::presets::acp::Fs {
        use super::presets::acp::{Fs, known_agent};
        match self.acp_fs {
            Some(on) => Fs {
                read: on,
                write: on,
            },
            None => Fs {
                read: known_agent(program).is_none_or(|a| a.name() != "gemini"),
                write: true,
            },
        }
    }

    /// The program a run starts: `command`'s first word, or the preset's own program.
    pub fn program(&self) -> Option<String> {
        self.command
            .as_ref()
            .and_then(|c| c.first())
            .filter(|p| !p.is_empty())
            .cloned()
            .or_else(|| {
                super::presets::by_name(&self.preset).map(|a| a.default_program().to_owned())
            })
    }

    /// The `pass_env` names that `parent` (forge's environment) does not set, or sets
    /// empty: the harness would run without them.
    pub fn unset_pass_env(&self, parent: &[(String, String)]) -> Vec<String> {
        self.pass_env
            .iter()
            .filter(|name| !parent.iter().any(|(k, v)| k == *name && !v.is_empty()))
            .cloned()
            .collect()
    }

    /// Refuses `[harness.NAME]` when its program is nowhere to be found on the PATH it would
    /// run with (or, for a path, does not exist or is not executable): checked before a step
    /// claims its bead or makes a worktree.
    pub fn check_program(
        &self,
        name: &str,
        parent: &[(String, String)],
        root: &std::path::Path,
    ) -> crate::Result<()> {
        let Some(program) = self.program() else {
            return Ok(()); // an unknown preset: `harness_config` says so
        };
        let path_var = self.env.get("PATH").map(String::as_str).or_else(|| {
            parent
                .iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.as_str())
        });
        if crate::doctor::harness::which(&program, path_var, root).is_some() {
            return Ok(());
        }
        let section = format!("[harness.{name}]");
        let (message, hint) = if program.contains('/') {
            (
                format!("{section} runs '{program}', which does not exist or is not executable"),
                format!("fix command in {section} in .forge/config.toml"),
            )
        } else {
            (
                format!("{section} runs '{program}', which is not on PATH"),
                format!(
                    "install {program}, or set command = [\"/path/to/{program}\"] in {section}; \
                     `forge doctor` checks every harness"
                ),
            )
        };
        Err(crate::Error::Refused { message, hint })
    }
}

/// The `[harness.NAME]` a run uses, by `name` or else `[step] harness`: refused (a usage
/// error) when neither names one, when config has no such section, or when its preset is
/// not one forge knows.
pub fn harness_config(
    config: &crate::config::Config,
    name: Option<&str>,
) -> crate::Result<(String, HarnessConfig)> {
    use crate::Error;
    let name = name
        .map(str::to_owned)
        .or_else(|| config.step.harness.clone())
        .ok_or_else(|| {
            Error::usage(
                "no harness chosen: pass --harness NAME or set [step] harness in .forge/config.toml",
            )
        })?;
    let found = config.harness.get(&name).cloned().ok_or_else(|| {
        Error::usage(format!(
            "no [harness.{name}] in .forge/config.toml (configured: {})",
            config
                .harness
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if super::presets::by_name(&found.preset).is_none() {
        return Err(Error::usage(format!(
            "[harness.{name}] preset '{}' is not one of: {}",
            found.preset,
            super::presets::names()
        )));
    }
    Ok((name, found))
}

/// The longest wall-clock limit forge accepts for a harness, a gate or a setup command, in
/// seconds: one week. Longer would only hide a hung process, and a limit beyond what a
/// clock can add to "now" crashed forge mid-step.
pub const MAX_TIMEOUT_SECS: u64 = 604_800;

/// A timeout in seconds, or why it is not one.
pub fn check_timeout(secs: u64) -> Result<u64, String> {
    if (1..=MAX_TIMEOUT_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(format!(
            "{secs} is out of range: a timeout is 1 to {MAX_TIMEOUT_SECS} seconds (one week)"
        ))
    }
}

/// `--timeout SECS` on the command line: a usage error (exit 2) outside 1..=one week.
pub fn parse_timeout_arg(arg: &str) -> Result<u64, String> {
    let secs: u64 = arg
        .trim()
        .parse()
        .map_err(|_| format!("'{arg}' is not a number of seconds (1 to {MAX_TIMEOUT_SECS})"))?;
    check_timeout(secs)
}

/// A `timeout`-like config value: refused at load with the file, line and column when it is
/// 0 (which stopped every run at once) or longer than [`MAX_TIMEOUT_SECS`].
pub fn timeout_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    check_timeout(u64::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// [`timeout_secs`] for an optional value.
pub fn optional_timeout_secs<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    Option::<u64>::deserialize(d)?
        .map(check_timeout)
        .transpose()
        .map_err(serde::de::Error::custom)
}

/// `grace`: 0 (kill at once) is allowed, beyond [`MAX_TIMEOUT_SECS`] is not.
fn grace_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let secs = u64::deserialize(d)?;
    if secs > MAX_TIMEOUT_SECS {
        return Err(serde::de::Error::custom(format!(
            "grace = {secs} is out of range: 0 to {MAX_TIMEOUT_SECS} seconds"
        )));
    }
    Ok(secs)
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
    fn timeouts_are_bounded() {
        for bad in [
            "timeout = 0",
            "timeout = 604801",
            "idle_timeout = 0",
            "grace = 604801",
        ] {
            let text = format!("preset = \"codex\"\n{bad}\n");
            let err = toml::from_str::<HarnessConfig>(&text).unwrap_err();
            assert!(err.message().contains("out of range"), "{bad}: {err}");
            let span = err.span().expect("located");
            let value = bad.split(" = ").nth(1).unwrap();
            assert!(text[span.start..].starts_with(value), "{bad}: {span:?}");
        }
        let ok: HarnessConfig =
            toml::from_str("preset = \"codex\"\ntimeout = 604800\ngrace = 0\n").unwrap();
        assert_eq!((ok.timeout, ok.grace), (604_800, 0));
        assert_eq!(parse_timeout_arg("30"), Ok(30));
        for bad in ["0", "604801", "18446744073709551615", "-1", "", "ten"] {
            let err = parse_timeout_arg(bad).unwrap_err();
            assert!(err.contains("604800"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_program_and_unset_pass_env() {
        let h: HarnessConfig =
            toml::from_str("preset = \"claude\"\npass_env = [\"KEY\", \"EMPTY\", \"SET\"]\n")
                .unwrap();
        assert_eq!(h.program().as_deref(), Some("claude"));
        let parent = [
            ("EMPTY".to_owned(), String::new()),
            ("SET".to_owned(), "v".to_owned()),
        ];
        assert_eq!(h.unset_pass_env(&parent), ["KEY", "EMPTY"]);
        let h: HarnessConfig =
            toml::from_str("preset = \"command\"\ncommand = [\"my-agent\", \"--go\"]\n").unwrap();
        assert_eq!(h.program().as_deref(), Some("my-agent"));
        let root = std::env::temp_dir();
        let err = h
            .check_program("mine", &[("PATH".into(), "/nonexistent".into())], &root)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("[harness.mine] runs 'my-agent', which is not on PATH"),
            "{err}"
        );
        let sh: HarnessConfig =
            toml::from_str("preset = \"command\"\ncommand = [\"sh\"]\n").unwrap();
        sh.check_program("sh", &[("PATH".into(), "/bin:/usr/bin".into())], &root)
            .unwrap();
    }

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
