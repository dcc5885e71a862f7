//! Checks on the settings that name paths: `[worktree]` copies and the prompt template stay
//! inside the worktree, and `protected_paths` entries are usable gitignore patterns; a
//! failure points at the line and column in the file.

use std::path::Path;

use serde::Deserialize;

use super::Config;
use crate::error::Result;

/// A path that stays inside the directory it is joined to: relative, no `..`, not empty.
pub(super) fn stays_inside(path: &str) -> bool {
    use std::path::Component;
    let p = Path::new(path);
    !path.trim().is_empty()
        && p.components().any(|c| matches!(c, Component::Normal(_)))
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// `[worktree] copy` names files of the working tree and `[step] prompt_template` a file
/// under `.forge/`: an absolute path or a `..` would reach outside (a copy onto itself
/// truncated the file; a template sent any readable file to the harness). Refused at load,
/// naming the file, the line, the key and the fix.
pub(super) fn check_paths(path: &Path, text: &str, config: &Config) -> Result<()> {
    let copy = config.worktree.copy.iter().position(|p| !stays_inside(p));
    let template = config
        .step
        .prompt_template
        .as_deref()
        .filter(|p| !stays_inside(p));
    let protected = config
        .policy
        .protected_paths
        .iter()
        .enumerate()
        .find_map(|(i, p)| pattern_error(p).map(|e| (i, e)));
    if copy.is_none() && template.is_none() && protected.is_none() {
        return Ok(());
    }
    let why = |value: &str| {
        if Path::new(value).is_absolute() {
            "is an absolute path"
        } else if value.trim().is_empty() || value.trim_matches(['.', '/']).is_empty() {
            "names no file"
        } else {
            "contains '..'"
        }
    };
    // Only now find where the value is: a second, located parse of the same text.
    #[derive(Deserialize, Default)]
    struct Located {
        #[serde(default)]
        worktree: LocatedWorktree,
        #[serde(default)]
        step: LocatedStep,
        #[serde(default)]
        policy: LocatedPolicy,
    }
    #[derive(Deserialize, Default)]
    struct LocatedPolicy {
        #[serde(default)]
        protected_paths: Vec<toml::Spanned<String>>,
    }
    #[derive(Deserialize, Default)]
    struct LocatedWorktree {
        #[serde(default)]
        copy: Vec<toml::Spanned<String>>,
    }
    #[derive(Deserialize, Default)]
    struct LocatedStep {
        #[serde(default)]
        prompt_template: Option<toml::Spanned<String>>,
    }
    let located: Located = toml::from_str(text).unwrap_or_default();
    let at = |span: Option<std::ops::Range<usize>>| {
        span.map_or((1, 1), |s| crate::store::parse::line_col(text, s.start))
    };
    let (span, message) = match (copy, template) {
        _ if protected.is_some() => {
            let (i, error) = protected.expect("checked");
            (
                located
                    .policy
                    .protected_paths
                    .get(i)
                    .map(toml::Spanned::span),
                format!(
                    "[policy] protected_paths: \"{}\" is not a gitignore pattern ({error}); \
                     a pattern that does not parse would protect nothing",
                    config.policy.protected_paths[i]
                ),
            )
        }
        (Some(i), _) => {
            let value = &config.worktree.copy[i];
            (
                located.worktree.copy.get(i).map(toml::Spanned::span),
                format!(
                    "[worktree] copy: \"{value}\" {}: each entry names an ignored file of \
                     the working tree, relative to its root (copy = [\".env\"]); nothing \
                     outside it is copied",
                    why(value)
                ),
            )
        }
        (None, Some(value)) => (
            located
                .step
                .prompt_template
                .as_ref()
                .map(toml::Spanned::span),
            format!(
                "[step] prompt_template: \"{value}\" {}: name a file under .forge/, relative \
                 to it (prompt_template = \"prompt.md\")",
                why(value)
            ),
        ),
        (None, None) => unreachable!("checked above"),
    };
    let (line, column) = at(span);
    Err(crate::error::Error::Parse {
        path: path.to_owned(),
        line,
        column,
        message,
    })
}

/// Why a `protected_paths` entry is not a usable gitignore pattern, if it is not.
pub fn pattern_error(pattern: &str) -> Option<String> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new("/");
    builder.add_line(None, pattern).err().map(|e| e.to_string())
}
