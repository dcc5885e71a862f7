//! One error type for the library, with a stable exit code and hints for each kind.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes are part of forge's interface: documented in `forge --help` and the man page,
/// and never reused for another meaning.
pub mod exit {
    /// Defines each code's constant and [`ALL`] from one list, so that the help text, made
    /// from `ALL`, can never disagree with the codes commands return.
    macro_rules! exit_codes {
        ($($name:ident = $code:literal: $meaning:literal,)*) => {
            $(pub const $name: u8 = $code;)*
            /// Every exit code: (code, name, meaning), in order.
            pub const ALL: &[(u8, &str, &str)] = &[$(($code, stringify!($name), $meaning)),*];
        };
    }

    exit_codes! {
        OK = 0: "success",
        FAILURE = 1: "failure (I/O, git, or another error)",
        USAGE = 2: "usage error: bad arguments or values",
        NEEDS_HUMAN = 3: "needs a human: pass the flag the message names",
        HARNESS_FAILED = 4: "the harness failed",
        BAD_STATE_FILE = 5: "a .forge/ file is invalid (bad TOML, conflict markers, unknown schema, bad config)",
        NOT_FOUND = 6: "unknown or ambiguous id",
        REFUSED = 7: "refused: the change would break an invariant (a dependency cycle, ...)",
        VERIFY_FAILED = 8: "ledger verification failed",
        NOT_A_REPOSITORY = 9: "not a git repository, or forge is not initialised",
        INTERRUPTED = 130: "interrupted",
    }

    /// The "Exit status:" section of `forge --help` and the man page.
    pub fn help() -> String {
        let mut out = String::from("Exit status:");
        for (code, _, meaning) in ALL {
            out.push_str(&format!("\n  {code:<4} {meaning}"));
        }
        out
    }
}

/// How a hint about a `.forge/` file forge refused to read ends: nothing was written.
pub const CHANGED_NOTHING: &str = "; forge changed nothing";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not inside a git repository: {0}")]
    NotGitRepository(PathBuf),

    #[error("{0} is a bare repository; forge needs a working tree")]
    BareRepository(PathBuf),

    #[error("forge is not initialised in {0}")]
    NotInitialised(PathBuf),

    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{}:{line}: unresolved git conflict marker", path.display())]
    ConflictMarkers { path: PathBuf, line: usize },

    #[error(
        "{}: schema version {found} is not supported (this forge understands up to {supported})",
        path.display()
    )]
    SchemaVersion {
        path: PathBuf,
        found: i64,
        supported: u32,
    },

    #[error("{}: {message}", path.display())]
    InvalidFile {
        path: PathBuf,
        message: String,
        hint: String,
    },

    #[error("no bead matches '{id}'")]
    UnknownId {
        id: String,
        suggestion: Option<String>,
    },

    #[error("'{prefix}' is ambiguous: it matches {}", candidates.join(", "))]
    AmbiguousId {
        prefix: String,
        candidates: Vec<String>,
    },

    #[error("refused: the dependency would make a cycle: {}", cycle.join(" -> "))]
    Cycle { cycle: Vec<String> },

    #[error("refused: {message}")]
    Refused { message: String, hint: String },

    #[error("{message}")]
    Usage { message: String },

    #[error("{message}")]
    NeedsHuman { message: String, hint: String },

    #[error("{message}")]
    HarnessFailed { message: String },

    #[error("the plan from {source_name} is invalid:\n  - {}", problems.join("\n  - "))]
    InvalidPlan {
        source_name: String,
        problems: Vec<String>,
    },

    #[error("ledger verification failed: {count} problem(s), the first at {first}")]
    VerifyFailed {
        count: usize,
        first: String,
        /// Only approvals failed (`verify --range`), not the ledger's own files.
        approvals_only: bool,
    },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("git: {0}")]
    Git(#[from] git2::Error),

    #[error("`{command}` failed: {message}")]
    GitCommand { command: String, message: String },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NotGitRepository(_) | Error::BareRepository(_) | Error::NotInitialised(_) => {
                exit::NOT_A_REPOSITORY
            }
            Error::Parse { .. }
            | Error::ConflictMarkers { .. }
            | Error::SchemaVersion { .. }
            | Error::InvalidFile { .. } => exit::BAD_STATE_FILE,
            Error::UnknownId { .. } | Error::AmbiguousId { .. } => exit::NOT_FOUND,
            Error::Cycle { .. } | Error::Refused { .. } => exit::REFUSED,
            Error::Usage { .. } => exit::USAGE,
            Error::NeedsHuman { .. } => exit::NEEDS_HUMAN,
            Error::HarnessFailed { .. } => exit::HARNESS_FAILED,
            Error::InvalidPlan { .. } => exit::REFUSED,
            Error::VerifyFailed { .. } => exit::VERIFY_FAILED,
            Error::Io { .. } | Error::Git(_) | Error::GitCommand { .. } => exit::FAILURE,
        }
    }

    /// A stable machine-readable name for `--json` error envelopes.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotGitRepository(_) => "not_a_git_repository",
            Error::BareRepository(_) => "bare_repository",
            Error::NotInitialised(_) => "not_initialised",
            Error::Parse { .. } => "parse_error",
            Error::ConflictMarkers { .. } => "conflict_markers",
            Error::SchemaVersion { .. } => "unknown_schema_version",
            Error::InvalidFile { .. } => "invalid_file",
            Error::UnknownId { .. } => "unknown_id",
            Error::AmbiguousId { .. } => "ambiguous_id",
            Error::Cycle { .. } => "cycle",
            Error::Refused { .. } => "refused",
            Error::Usage { .. } => "usage",
            Error::NeedsHuman { .. } => "needs_human",
            Error::HarnessFailed { .. } => "harness_failed",
            Error::InvalidPlan { .. } => "invalid_plan",
            Error::VerifyFailed { .. } => "verify_failed",
            Error::Io { .. } => "io",
            Error::Git(_) | Error::GitCommand { .. } => "git",
        }
    }

    /// The hints for a file that is about to be committed rather than one forge refused to
    /// read (the pre-commit hook): where a hint ends by saying forge changed nothing, it
    /// ends with `then` instead.
    pub fn hints_then(&self, then: &str) -> Vec<String> {
        self.hints()
            .into_iter()
            .map(|h| match h.strip_suffix(CHANGED_NOTHING) {
                Some(fix) => format!("{fix}; {then}"),
                None => h,
            })
            .collect()
    }

    /// What the user can do about it, one sentence per hint.
    pub fn hints(&self) -> Vec<String> {
        match self {
            Error::NotGitRepository(_) => vec![
                "run forge inside a git repository, pass -C DIR, or create one with `git init`"
                    .into(),
            ],
            Error::BareRepository(_) => {
                vec!["run forge in a clone or a linked worktree of this repository".into()]
            }
            Error::NotInitialised(_) => vec!["run `forge init` first".into()],
            Error::Parse { path, .. } => vec![format!(
                "fix the TOML at that position, or restore the committed version with `git checkout -- {}`{CHANGED_NOTHING}",
                path.display()
            )],
            Error::ConflictMarkers { .. } => vec![format!(
                "a merge left this file half-resolved: edit it to keep the right side of each conflict and remove the <<<<<<< ======= >>>>>>> lines{CHANGED_NOTHING}"
            )],
            Error::SchemaVersion { .. } => vec![
                "this file was written by a newer forge: upgrade forge (cargo install --git <forge repository> --locked)".into(),
            ],
            Error::InvalidFile { hint, .. } => vec![hint.clone()],
            Error::UnknownId { suggestion, .. } => match suggestion {
                Some(s) => vec![format!("did you mean {s}?")],
                None => vec!["list beads with `forge bead list --all`".into()],
            },
            Error::AmbiguousId { .. } => vec!["give more characters of the id".into()],
            Error::InvalidPlan { .. } => vec![
                "nothing was created; fix the plan (`forge plan --schema` prints the format) and try again".into(),
            ],
            Error::Cycle { .. } => vec![
                "remove one of the dependencies in the cycle first (`forge bead dep rm`)".into(),
            ],
            Error::Refused { hint, .. } | Error::NeedsHuman { hint, .. } if !hint.is_empty() => {
                vec![hint.clone()]
            }
            Error::VerifyFailed {
                approvals_only: true,
                ..
            } => vec![
                "agent work reached the base without a recorded approval of its exact head: review the named commit (`git show COMMIT`), revert it, and let it come back through `forge approve`".into(),
            ],
            Error::VerifyFailed { .. } => vec![
                "ledger files are append-only: restore the damaged files from git history (`git log -p -- .forge/ledger`)".into(),
            ],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exit;

    #[test]
    fn the_help_lists_every_code_once_in_order() {
        let help = exit::help();
        assert!(help.starts_with("Exit status:\n  0    success\n"), "{help}");
        assert!(help.ends_with(
            "\n  9    not a git repository, or forge is not initialised\n  130  interrupted"
        ));
        let codes: Vec<u8> = exit::ALL.iter().map(|(c, _, _)| *c).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted);
        assert_eq!(exit::ALL[5], (5, "BAD_STATE_FILE", exit::ALL[5].2));
    }
}
