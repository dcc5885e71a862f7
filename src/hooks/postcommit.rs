//! `forge hook post-commit`: reads the new commit's trailers. `Forge-Bead: ID` links the
//! commit to the bead in the ledger (`bead.linked`); `Closes: ID` and `Fixes: ID` link it
//! and close the bead with the reason "closed by commit <short id>".
//!
//! Only words that look like bead ids (`fg-…`, any unique prefix) count, so `Closes: #12`
//! for an issue tracker is left alone. Nothing here may fail the commit: every problem is a
//! warning in the report.

use serde::Serialize;

use crate::bead::repo::BeadRepo;
use crate::bead::{Status, id, ops};
use crate::error::Result;
use crate::git::cli::Git;
use crate::ledger::Payload;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Default, Serialize)]
pub struct PostCommitReport {
    pub commit: String,
    pub linked: Vec<String>,
    pub closed: Vec<String>,
    /// Named in `Closes:`/`Fixes:` but closed already.
    pub already_closed: Vec<String>,
    pub warnings: Vec<String>,
}

/// What a trailer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Link,
    Close,
}

fn ask_of(key: &str) -> Option<Ask> {
    match key.to_ascii_lowercase().as_str() {
        "forge-bead" => Some(Ask::Link),
        "closes" | "fixes" => Some(Ask::Close),
        _ => None,
    }
}

/// Words of a trailer value that look like bead ids.
fn bead_words(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|w| {
            w.trim_matches(|c: char| ".;:()[]".contains(c))
                .to_ascii_lowercase()
        })
        .filter(|w| w.starts_with(id::PREFIX) && w.len() > id::PREFIX.len())
        .collect()
}

/// The id and trailers of `rev`, read before anything else is opened: most commits name
/// no bead, and then nothing more is done.
pub fn read(git: &Git, rev: &str) -> Result<(String, Vec<(String, String)>)> {
    git.commit_trailers(rev)
}

/// Whether any trailer asks for something.
pub fn wanted(trailers: &[(String, String)]) -> bool {
    trailers.iter().any(|(k, _)| ask_of(k).is_some())
}

/// Links and closes the beads that the trailers of `commit` name.
pub fn apply(
    ws: &mut Workspace,
    commit: &str,
    trailers: &[(String, String)],
) -> Result<PostCommitReport> {
    let short: String = commit.chars().take(12).collect();
    let mut report = PostCommitReport {
        commit: commit.to_owned(),
        ..Default::default()
    };
    let repo = BeadRepo::new(&ws.layout);
    // Each bead once, with the strongest request made of it.
    let mut wanted: Vec<(String, Ask, String)> = Vec::new();
    for (key, value) in trailers {
        let Some(ask) = ask_of(key) else { continue };
        for word in bead_words(value) {
            let bead = match repo.resolve(&word) {
                Ok(b) => b,
                Err(e) => {
                    report
                        .warnings
                        .push(format!("{key}: {word} in commit {short}: {e}"));
                    continue;
                }
            };
            match wanted.iter_mut().find(|(b, _, _)| *b == bead) {
                Some(w) if ask == Ask::Close => w.1 = Ask::Close,
                Some(_) => {}
                None => wanted.push((bead, ask, key.clone())),
            }
        }
    }
    for (bead, ask, trailer) in wanted {
        if let Err(e) = ws.record(Payload::BeadLinked {
            bead: bead.clone(),
            commit: commit.to_string(),
            trailer: trailer.to_string(),
        }) {
            report.warnings.push(format!("linking {bead}: {e}"));
            continue;
        }
        report.linked.push(bead.clone());
        if ask != Ask::Close {
            continue;
        }
        match repo.load(&bead) {
            Ok(b) if b.status == Status::Closed => report.already_closed.push(bead),
            Ok(_) => match ops::set_status(
                ws,
                &bead,
                Status::Closed,
                &format!("closed by commit {short}"),
            ) {
                Ok(_) => report.closed.push(bead),
                Err(e) => report.warnings.push(format!("closing {bead}: {e}")),
            },
            Err(e) => report.warnings.push(format!("closing {bead}: {e}")),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bead_like_words_count() {
        assert_eq!(bead_words("fg-3k9x, FG-abcd"), ["fg-3k9x", "fg-abcd"]);
        assert!(bead_words("#12 and 3k9x").is_empty());
        assert_eq!(bead_words("(fg-12)."), ["fg-12"]);
    }

    #[test]
    fn trailer_keys_are_case_insensitive() {
        assert_eq!(ask_of("Closes"), Some(Ask::Close));
        assert_eq!(ask_of("FIXES"), Some(Ask::Close));
        assert_eq!(ask_of("Forge-Bead"), Some(Ask::Link));
        assert_eq!(ask_of("Signed-off-by"), None);
    }
}
