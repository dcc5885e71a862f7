//! `forge watch`: a live, full-screen picture of what forge is doing in a repository, read
//! from the same files and step logs as every other command (no daemon). [`model`] gathers a
//! [`model::Snapshot`] (and never prints); [`view`] draws one into a ratatui frame (pure);
//! the terminal, the keys and the loop are `cli::commands::watch`'s.

pub mod model;
pub mod view;
