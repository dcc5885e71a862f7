//! The `.forge/` store: where files live, how they are written atomically, locked and parsed.

pub mod atomic;
pub mod document;
pub mod file;
pub mod journal;
pub mod kind;
pub mod layout;
pub mod lock;
pub mod marked;
pub mod parse;

pub use atomic::{
    atomic_write, atomic_write_state, is_temp_name, sweep_temp_files, sweep_temp_files_under,
    temp_path_for,
};
pub use layout::Layout;

/// Files whose names start with a dot are forge's scratch (temp and staged files, markers),
/// never state: listings of state directories skip them.
pub fn is_scratch_name(name: &str) -> bool {
    name.starts_with('.')
}
pub use lock::StoreLock;

/// The schema version of every file forge writes. A file with a higher version was written
/// by a newer forge and is refused rather than misread.
pub const SCHEMA_VERSION: u32 = 1;
