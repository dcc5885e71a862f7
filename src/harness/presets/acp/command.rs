//! What a command line an agent asks to run will run, as far as forge can read it, for the
//! `execute` patterns of the permission policy.
//!
//! A line is split at the shell's control operators into simple commands (forge splits more
//! often than a shell would, never less). Each is read twice:
//! - as written (whitespace made single spaces): what `execute_allow` must match, so that
//!   nothing a pattern did not name (an `LD_PRELOAD=` prefix, a wrapper) is allowed;
//! - as what it runs: shell quoting undone, leading `VAR=value` assignments and wrappers
//!   (`env`, `command`, `nohup`, `xargs`, ...) dropped, the program's directory dropped, and
//!   git's global options (`-C DIR`, `-c K=V`, `--no-pager`, ...) dropped; `execute_deny` and
//!   `execute_ask` match either reading, so `FOO=1 /usr/bin/git -C . push` is `git push`.
//!
//! What cannot be read (a shell's `-c`, `eval`, unbalanced quotes, substitutions and
//! redirections) is opaque: no pattern allows it, and where deny patterns exist it is
//! denied, since what it runs could be anything they name. This is a best effort against
//! a model's mistakes; the sandbox, not the patterns, is what holds a hostile agent.

/// One simple command of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// As written, whitespace normalised.
    pub written: String,
    /// What it runs (None: opaque).
    pub runs: Option<String>,
}

/// The simple commands of `line`.
pub fn parts(line: &str) -> Vec<Part> {
    let opaque_line = substitutes(line);
    split(line)
        .into_iter()
        .map(|written| Part {
            runs: if opaque_line { None } else { runs(&written) },
            written,
        })
        .collect()
}

/// A substitution or a redirection: what runs, or where output goes, is not in the text.
fn substitutes(line: &str) -> bool {
    ["$(", "`", ">", "<", "${"].iter().any(|s| line.contains(s))
}

/// The simple commands of a line, trimmed, with runs of whitespace made one space.
fn split(line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let split = match c {
            ';' | '\n' | '\r' | '|' | '(' | ')' => {
                if chars.peek() == Some(&'|') {
                    chars.next();
                }
                true
            }
            '&' => {
                if chars.peek() == Some(&'&') {
                    chars.next();
                }
                true
            }
            _ => false,
        };
        if split {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Words that run the rest of the line as a command.
const WRAPPERS: &[&str] = &[
    "env", "command", "exec", "nohup", "time", "nice", "ionice", "sudo", "doas", "xargs", "setsid",
    "stdbuf", "timeout", "builtin",
];
/// Programs whose arguments are code forge cannot read.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "fish", "eval", "source", ".",
];
/// git's global options that take the next word as their value.
const GIT_VALUED: &[&str] = &[
    "-C",
    "-c",
    "--git-dir",
    "--work-tree",
    "--namespace",
    "--exec-path",
    "--config-env",
];

/// What a simple command runs; None when forge cannot tell.
fn runs(written: &str) -> Option<String> {
    let words = shlex::split(written)?;
    let mut words = words.iter().map(String::as_str).peekable();
    // Assignments and wrappers (with their options and, for `timeout`, the duration).
    loop {
        match words.peek() {
            Some(w) if is_assignment(w) => {
                words.next();
            }
            Some(w) if WRAPPERS.contains(&basename(w)) => {
                let wrapper = basename(w);
                words.next();
                while words
                    .peek()
                    .is_some_and(|w| w.starts_with('-') || is_assignment(w))
                {
                    words.next();
                }
                if matches!(wrapper, "timeout" | "nice") {
                    words.next_if(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()));
                }
            }
            _ => break,
        }
    }
    let program = basename(words.next()?);
    if INTERPRETERS.contains(&program) {
        return None;
    }
    let mut out = vec![program.to_owned()];
    if program == "git" {
        while let Some(w) = words.next_if(|w| w.starts_with('-')) {
            if GIT_VALUED.contains(&w) {
                words.next();
            }
        }
    }
    out.extend(words.map(str::to_owned));
    Some(out.join(" "))
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_of(line: &str) -> Vec<Option<String>> {
        parts(line).into_iter().map(|p| p.runs).collect()
    }

    #[test]
    fn what_a_command_runs_is_read_past_prefixes_wrappers_and_gits_options() {
        for line in [
            "git push origin main",
            "FOO=1 git push origin main",
            "env -i A=b git push origin main",
            "/usr/bin/git push origin main",
            "git -C . push origin main",
            "git --no-pager -c core.x=1 push origin main",
            "\"git\" push origin main",
            "g\\it push origin main",
            "command git push origin main",
            "xargs git push origin main",
            "timeout 10 nohup git push origin main",
        ] {
            assert_eq!(
                runs_of(line),
                vec![Some("git push origin main".to_owned())],
                "{line}"
            );
        }
        assert_eq!(
            runs_of("cargo test && (git push)"),
            vec![Some("cargo test".into()), Some("git push".into())]
        );
    }

    #[test]
    fn what_cannot_be_read_is_opaque() {
        for line in [
            "sh -c 'git push'",
            "bash -lc \"git push\"",
            "eval git push",
            "echo 'unbalanced",
            "cargo test $(git push)",
            "cargo test > /tmp/x",
        ] {
            assert!(runs_of(line).iter().any(Option::is_none), "{line}");
        }
        // As written, for the allow patterns.
        assert_eq!(
            parts("  cargo   test\t--all ")[0].written,
            "cargo test --all"
        );
    }
}
