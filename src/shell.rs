//! Words forge writes into shell text that outlives it: the hook blocks, the merge driver
//! command in git's config and the crontab entry. Quoting goes through `shlex`, which knows
//! every character POSIX sh treats specially; this is the one place that calls it.

/// `word` as one word for a POSIX shell, quoted so that sh reads back exactly `word`.
///
/// A word that needs no quoting is single-quoted anyway: forge has always written its words
/// so, and a hook block, driver command or crontab entry installed by an earlier forge then
/// still compares equal to the one this forge would write.
pub fn quote(word: &str) -> String {
    // A NUL cannot be in a path or an argument; let it through rather than fail.
    let quoted = shlex::Quoter::new()
        .allow_nul(true)
        .quote(word)
        .unwrap_or_else(|_| word.into());
    if quoted == word {
        format!("'{word}'")
    } else {
        quoted.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_as_written() {
        for word in [
            "/usr/bin/forge",
            "/a b/it's",
            "/x/$HOME/`id`/\"q\"/back\\slash",
            "^caret!bang",
            "",
            "ünï côdé",
        ] {
            let q = quote(word);
            assert_eq!(shlex::split(&q), Some(vec![word.to_owned()]), "{q}");
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {q}")])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), word, "{q}");
        }
    }

    #[test]
    fn plain_words_are_single_quoted_as_forge_always_wrote_them() {
        assert_eq!(quote("/usr/bin/forge"), "'/usr/bin/forge'");
        assert_eq!(quote("/a b/c"), "'/a b/c'");
    }
}
