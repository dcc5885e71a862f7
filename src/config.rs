//! `.forge/config.toml`: written by people, read by forge, never rewritten by forge.

use std::path::Path;

use serde::Deserialize;

use crate::error::Result;
use crate::store::parse::{check_schema, parse_toml, read_to_string};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Environment variables whose values are redacted, beyond those whose names look
    /// secret.
    #[serde(default)]
    pub env: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub schema: i64,
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// Sections owned by later features (harnesses, gates, policy, budgets) pass through.
    #[serde(flatten)]
    pub rest: toml::Table,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = read_to_string(path)?;
        let config: Config = parse_toml(path, &text)?;
        check_schema(path, config.schema)?;
        Ok(config)
    }
}

/// What `forge init` writes: every setting commented, so the file documents itself.
pub const DEFAULT_CONFIG: &str = r#"# forge configuration. People edit this file; forge only reads it.
# Reference: `man forge` and README.md.

# Version of this file's format. forge refuses files from a newer version.
schema = 1

[secrets]
# Environment variables whose values must never reach .forge/. Variables whose names look
# secret (*TOKEN*, *SECRET*, *PASSWORD*, *API_KEY*, ...) are always redacted.
env = []
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses() {
        let c: Config = toml::from_str(DEFAULT_CONFIG).unwrap();
        assert_eq!(c.schema, 1);
        assert!(c.secrets.env.is_empty());
    }
}
