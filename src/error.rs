//! One error type for the library, with a stable exit code and hints for each kind.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes are part of forge's interface: documented in `forge --help` and the man page,
/// and never reused for another meaning.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NEEDS_HUMAN: u8 = 3;
    pub const HARNESS_FAILED: u8 = 4;
    pub const BAD_STATE_FILE: u8 = 5;
    pub const NOT_FOUND: u8 = 6;
    pub const REFUSED: u8 = 7;
    pub const VERIFY_FAILED: u8 = 8;
    pub const NOT_A_REPOSITORY: u8 = 9;
    pub const INTERRUPTED: u8 = 130;
}

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
                "fix the TOML at that position, or restore the committed version with `git checkout -- {}`; forge changed nothing",
                path.display()
            )],
            Error::ConflictMarkers { .. } => vec![
                "a merge left this file half-resolved: edit it to keep the right side of each conflict and remove the <<<<<<< ======= >>>>>>> lines; forge changed nothing".into(),
            ],
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
