//! `forge cron`: a crontab entry that runs `forge tick` in this repository, kept between
//! marker lines so that installing twice changes nothing and uninstalling removes only it.

use std::path::Path;

use crate::shell::quote;
use crate::store::marked::{self, Markers};

pub fn begin_marker(repo: &Path) -> String {
    format!("# >>> forge tick {} >>>", repo.display())
}

pub fn end_marker(repo: &Path) -> String {
    format!("# <<< forge tick {} <<<", repo.display())
}

/// The block for this repository: every `minutes`, a quiet tick appending to a log under
/// the git directory.
pub fn block(repo: &Path, forge: &Path, log: &Path, minutes: u32) -> String {
    let schedule = if minutes >= 60 {
        format!("0 */{} * * *", (minutes / 60).max(1))
    } else {
        format!("*/{} * * * *", minutes.max(1))
    };
    format!(
        "{}\n{schedule} cd {} && {} tick -q >> {} 2>&1\n{}\n",
        begin_marker(repo),
        quote(&repo.display().to_string()),
        quote(&forge.display().to_string()),
        quote(&log.display().to_string()),
        end_marker(repo)
    )
}

/// `crontab` text without this repository's block; everything else byte for byte (line
/// endings included).
pub fn without(crontab: &str, repo: &Path) -> String {
    let (begin, end) = (begin_marker(repo), end_marker(repo));
    marked::remove_all(
        crontab,
        Markers {
            begin: &begin,
            end: &end,
        },
    )
}

/// This repository's block as it stands in `crontab`, if there is one (with `\n` line
/// endings, as [`block`] writes it).
pub fn current(crontab: &str, repo: &Path) -> Option<String> {
    let (begin, end) = (begin_marker(repo), end_marker(repo));
    let range = marked::find(
        crontab,
        Markers {
            begin: &begin,
            end: &end,
        },
    )?;
    Some(crontab[range].lines().map(|l| format!("{l}\n")).collect())
}

/// `crontab` text with exactly one (current) block for this repository, appended after
/// the rest unchanged, so that [`without`] gives back the same bytes.
pub fn with(crontab: &str, repo: &Path, block: &str) -> String {
    let mut out = without(crontab, repo);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(block);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_is_idempotent_and_uninstall_restores() {
        let repo = Path::new("/src/app");
        let b = block(
            repo,
            Path::new("/usr/bin/forge"),
            Path::new("/src/app/.git/forge/tick.log"),
            15,
        );
        let user = "MAILTO=me\n0 1 * * * backup\n";
        let once = with(user, repo, &b);
        assert_eq!(with(&once, repo, &b), once);
        assert!(once.contains("*/15 * * * * cd '/src/app' && '/usr/bin/forge' tick -q"));
        assert_eq!(without(&once, repo), user);
        assert_eq!(current(&once, repo), Some(b.clone()));
        assert_eq!(current(user, repo), None);
    }

    #[test]
    fn other_repositories_blocks_are_kept() {
        let a = Path::new("/a");
        let b = Path::new("/b");
        let both = with(
            &with("", a, &block(a, Path::new("f"), Path::new("l"), 5)),
            b,
            &block(b, Path::new("f"), Path::new("l"), 5),
        );
        let only_b = without(&both, a);
        assert!(!only_b.contains("/a") && only_b.contains("/b"));
    }
}
