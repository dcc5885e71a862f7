//! `forge cron`: a crontab entry that runs `forge tick` in this repository, kept between
//! marker lines so that installing twice changes nothing and uninstalling removes only it.

use std::path::Path;

pub fn begin_marker(repo: &Path) -> String {
    format!("# >>> forge tick {} >>>", repo.display())
}

pub fn end_marker(repo: &Path) -> String {
    format!("# <<< forge tick {} <<<", repo.display())
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
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

/// `crontab` text without this repository's block.
pub fn without(crontab: &str, repo: &Path) -> String {
    let (begin, end) = (begin_marker(repo), end_marker(repo));
    let mut out = String::new();
    let mut inside = false;
    for line in crontab.lines() {
        if line == begin {
            inside = true;
        } else if line == end {
            inside = false;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `crontab` text with exactly one (current) block for this repository.
pub fn with(crontab: &str, repo: &Path, block: &str) -> String {
    let mut out = without(crontab, repo);
    if !out.is_empty() && !out.ends_with("\n\n") {
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
        assert_eq!(without(&once, repo).trim_end(), user.trim_end());
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
