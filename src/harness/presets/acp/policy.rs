//! The permission broker's policy: how forge answers an ACP agent's
//! `session/request_permission`, from `[harness.NAME.permissions]`, never from the agent's
//! own default.
//!
//! A request is judged in this order, and the first rule that applies decides (its name is
//! recorded with the answer):
//! 1. a path outside the worktree (in the tool call's locations or its input) is denied;
//! 2. for `execute`, the command patterns: `execute_deny`, then `execute_ask`, then
//!    `execute_allow`, on each simple command of the line as `command.rs` reads it: a deny
//!    or ask pattern matches what a part runs (past `VAR=` prefixes, wrappers, git's global
//!    options) or what it says; an allow pattern must match every part as written; what
//!    cannot be read (`sh -c`, `eval`, substitutions, redirections) is never allowed by a
//!    pattern, and is denied when deny patterns exist;
//! 3. for `fetch`, a host the network allowlist would not let through is denied;
//! 4. the tool kind's rule (`read = "allow"`, ...).
//!
//! The defaults are safe for unattended runs: reading, searching, thinking and editing
//! inside the worktree are allowed, everything else (execute, fetch beyond the allowlist,
//! delete, move, other) is denied.

use serde::{Deserialize, Serialize};

/// What a rule says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    Allow,
    Deny,
    /// Ask the person at the terminal; with nobody there (a tick), deny and record that a
    /// human was needed.
    Ask,
}

/// `[harness.NAME.permissions]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    #[serde(default = "allow")]
    pub read: Rule,
    #[serde(default = "allow")]
    pub edit: Rule,
    #[serde(default = "deny")]
    pub delete: Rule,
    #[serde(default = "deny")]
    pub r#move: Rule,
    #[serde(default = "allow")]
    pub search: Rule,
    #[serde(default = "deny")]
    pub execute: Rule,
    /// A fetch is also denied when the host is not one the network allowlist lets through.
    #[serde(default = "allow")]
    pub fetch: Rule,
    #[serde(default = "allow")]
    pub think: Rule,
    /// Anything else, including kinds this forge does not know.
    #[serde(default = "deny")]
    pub other: Rule,
    /// Commands an `execute` may run (`*` matches any text): `["cargo test*"]`.
    #[serde(default)]
    pub execute_allow: Vec<String>,
    /// Commands always refused: `["git push*", "curl*"]`.
    #[serde(default)]
    pub execute_deny: Vec<String>,
    /// Commands for which the person at the terminal is asked.
    #[serde(default)]
    pub execute_ask: Vec<String>,
}

fn allow() -> Rule {
    Rule::Allow
}
fn deny() -> Rule {
    Rule::Deny
}

impl Default for Permissions {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

/// What the agent asked to do, as far as forge can tell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// ACP's tool kind (`read`, `edit`, `execute`, ...), or `other`.
    pub kind: String,
    pub title: String,
    /// For `execute`: the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// For `fetch`: the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The paths it touches, absolute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

/// What the policy says about a request, before anyone is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    pub rule: Rule,
    /// Which rule: `deny-execute git push*`, `kind execute = deny`, ...
    pub because: String,
}

/// How a request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allowed,
    Denied,
    /// The turn was cancelled before it was answered.
    Cancelled,
}

/// A request and forge's answer: what the ledger records for each one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    #[serde(flatten)]
    pub request: Request,
    pub outcome: Outcome,
    /// The option forge selected (`allow_once`, `reject_once`, ...), when it selected one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// The rule that decided.
    pub rule: String,
    /// For an `ask` rule: whether a person was asked and said yes (`true`), no (`false`);
    /// None with an `ask` rule means nobody was there to ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human: Option<bool>,
}

/// A step's decisions in a line, for a reviewer: `3 allowed, 1 denied: `git push origin
/// main`, rule deny-execute git push*`. None when there were none.
pub fn summary(decisions: &[Decision]) -> Option<String> {
    if decisions.is_empty() {
        return None;
    }
    let count = |o: Outcome| decisions.iter().filter(|d| d.outcome == o).count();
    let mut text = format!(
        "{} allowed, {} denied",
        count(Outcome::Allowed),
        count(Outcome::Denied)
    );
    let cancelled = count(Outcome::Cancelled);
    if cancelled > 0 {
        text.push_str(&format!(", {cancelled} cancelled"));
    }
    const SHOWN: usize = 5;
    let refused: Vec<String> = decisions
        .iter()
        .filter(|d| d.outcome != Outcome::Allowed)
        .map(|d| {
            let r = &d.request;
            let what = r
                .command
                .clone()
                .or_else(|| r.url.clone())
                .or_else(|| r.paths.first().cloned())
                .unwrap_or_else(|| r.title.clone());
            let rule = d.rule.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{}, rule {rule}", code(&what))
        })
        .collect();
    if !refused.is_empty() {
        text.push_str(": ");
        text.push_str(&refused[..refused.len().min(SHOWN)].join("; "));
        if refused.len() > SHOWN {
            text.push_str(&format!("; and {} more", refused.len() - SHOWN));
        }
    }
    Some(text)
}

/// Someone who can be asked: the person at the terminal of an interactive `forge step`.
pub trait Ask: Send + Sync {
    /// Whether to allow `request` (the policy's `because` says which rule asks); None when
    /// nobody can answer.
    fn ask(&self, request: &Request, because: &str) -> Option<bool>;
}

/// What the network allowlist lets a `fetch` reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosts {
    /// `[sandbox] network = "open"`, or no sandbox.
    Any,
    /// Only what the egress proxy lets through.
    Only(crate::sandbox::proxy::Allow),
}

impl Permissions {
    /// Judges `req`, made in `worktree`.
    pub fn judge(&self, req: &Request, worktree: &std::path::Path, hosts: &Hosts) -> Ruling {
        if let Some(outside) = req
            .paths
            .iter()
            .find(|p| super::files::beneath(worktree, std::path::Path::new(p)).is_none())
        {
            return ruling(
                Rule::Deny,
                format!("path outside the worktree: {}", code(outside)),
            );
        }
        // A file tool whose paths forge cannot see could be aimed anywhere.
        if matches!(req.kind.as_str(), "edit" | "delete" | "move") && req.paths.is_empty() {
            return ruling(
                Rule::Deny,
                format!("{} with no path forge can check", req.kind),
            );
        }
        if req.kind == "execute"
            && let Some(command) = &req.command
            && let Some(r) = self.judge_command(command)
        {
            return r;
        }
        if req.kind == "fetch" {
            let host = req
                .url
                .as_deref()
                .and_then(crate::sandbox::proxy::host_of_url);
            let reachable = match (hosts, &host) {
                (Hosts::Any, _) => true,
                (Hosts::Only(allow), Some(h)) => h
                    .rsplit_once(':')
                    .and_then(|(name, port)| Some((name, port.parse().ok()?)))
                    .is_some_and(|(name, port)| allow.allows(name, port)),
                (Hosts::Only(_), None) => false,
            };
            if !reachable {
                let what = host.map_or_else(|| "an unknown host".into(), |h| code(&h));
                return ruling(Rule::Deny, format!("fetch of {what}: not in the allowlist"));
            }
        }
        let (name, rule) = match req.kind.as_str() {
            "read" => ("read", self.read),
            "edit" => ("edit", self.edit),
            "delete" => ("delete", self.delete),
            "move" => ("move", self.r#move),
            "search" => ("search", self.search),
            "execute" => ("execute", self.execute),
            "fetch" => ("fetch", self.fetch),
            "think" => ("think", self.think),
            _ => ("other", self.other),
        };
        ruling(rule, format!("kind {name} = {}", rule_name(rule)))
    }

    fn judge_command(&self, command: &str) -> Option<Ruling> {
        let parts = super::command::parts(command);
        let matched = |patterns: &[String], part: &super::command::Part| {
            patterns
                .iter()
                .find(|p| {
                    glob(p, &part.written) || part.runs.as_deref().is_some_and(|r| glob(p, r))
                })
                .cloned()
        };
        for part in &parts {
            if let Some(p) = matched(&self.execute_deny, part) {
                return Some(ruling(Rule::Deny, format!("deny-execute {p}")));
            }
        }
        // What cannot be read could run anything a deny pattern names.
        if !self.execute_deny.is_empty()
            && let Some(part) = parts.iter().find(|p| p.runs.is_none())
        {
            return Some(ruling(
                Rule::Deny,
                format!(
                    "deny-execute: forge cannot tell what {} runs",
                    code(&part.written)
                ),
            ));
        }
        for part in &parts {
            if let Some(p) = matched(&self.execute_ask, part) {
                return Some(ruling(Rule::Ask, format!("ask-execute {p}")));
            }
        }
        // Allowed only as written, each part, and only what can be read.
        let allowed: Vec<&String> = parts
            .iter()
            .filter(|part| part.runs.is_some())
            .filter_map(|part| self.execute_allow.iter().find(|p| glob(p, &part.written)))
            .collect();
        if !parts.is_empty() && allowed.len() == parts.len() {
            let mut names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            names.dedup();
            return Some(ruling(
                Rule::Allow,
                format!("allow-execute {}", names.join(", ")),
            ));
        }
        None
    }
}

fn ruling(rule: Rule, because: String) -> Ruling {
    Ruling { rule, because }
}

/// What the agent said, made safe to quote in a rule or a summary: one line, as a code
/// span (a backtick in it becomes a quote, so it cannot end the span), so that neither a
/// terminal nor a pull request's Markdown reads it as anything but text.
pub fn code(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("`{}`", line.replace('`', "'"))
}

fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::Allow => "allow",
        Rule::Deny => "deny",
        Rule::Ask => "ask",
    }
}

/// `*` matches any run of characters (spaces too); everything else matches itself.
/// Whitespace in the pattern is normalised like the command's.
pub fn glob(pattern: &str, text: &str) -> bool {
    let pattern = pattern.split_whitespace().collect::<Vec<_>>().join(" ");
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = pieces
        .split_first()
        .expect("split gives one piece at least");
    let Some(mut text) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return text.is_empty();
    };
    for piece in middle {
        match text.find(piece) {
            Some(at) => text = &text[at + piece.len()..],
            None => return false,
        }
    }
    text.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn exec(cmd: &str) -> Request {
        Request {
            kind: "execute".into(),
            title: cmd.into(),
            command: Some(cmd.into()),
            ..Request::default()
        }
    }

    fn policy() -> Permissions {
        toml::from_str(
            r#"
            execute_allow = ["cargo test*", "ls"]
            execute_deny = ["git push*", "curl*"]
            execute_ask = ["cargo publish*"]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn commands_are_judged_part_by_part_and_deny_wins() {
        let (p, wt, any) = (policy(), Path::new("/w"), Hosts::Any);
        let r = p.judge(&exec("cargo test --all"), wt, &any);
        assert_eq!(
            (r.rule, r.because.as_str()),
            (Rule::Allow, "allow-execute cargo test*")
        );
        let r = p.judge(&exec("git push origin main"), wt, &any);
        assert_eq!(
            (r.rule, r.because.as_str()),
            (Rule::Deny, "deny-execute git push*")
        );
        // An allowed command does not carry a denied one past the policy.
        let r = p.judge(&exec("cargo test && git  push -f"), wt, &any);
        assert_eq!(r.because, "deny-execute git push*");
        // Nor an unlisted one.
        let r = p.judge(&exec("cargo test; rm -rf ~"), wt, &any);
        assert_eq!(
            (r.rule, r.because.as_str()),
            (Rule::Deny, "kind execute = deny")
        );
        let r = p.judge(&exec("cargo test $(rm -rf ~)"), wt, &any);
        assert_eq!(r.rule, Rule::Deny);
        let r = p.judge(&exec("cargo test > /etc/passwd"), wt, &any);
        assert_eq!(r.rule, Rule::Deny);
        let r = p.judge(&exec("ls | cargo test"), wt, &any);
        assert_eq!(r.rule, Rule::Allow);
        let r = p.judge(&exec("cargo publish --dry-run"), wt, &any);
        assert_eq!(
            (r.rule, r.because.as_str()),
            (Rule::Ask, "ask-execute cargo publish*")
        );
        // `ls` is exact: `ls -la /` is not it.
        assert_eq!(p.judge(&exec("ls -la /"), wt, &any).rule, Rule::Deny);
        // A deny pattern sees past prefixes, wrappers, paths, quotes and git's options,
        // even where execute is allowed by kind.
        let open: Permissions = toml::from_str(
            "execute = \"allow\"\nexecute_deny = [\"git push*\"]\nexecute_allow = [\"git *\"]",
        )
        .unwrap();
        for cmd in [
            "git -C . push origin main",
            "git --no-pager push",
            "FOO=1 git push",
            "env git push",
            "/usr/bin/git push",
            "\"git\" push",
            "xargs git push",
            "(git push)",
        ] {
            assert_eq!(open.judge(&exec(cmd), wt, &any).rule, Rule::Deny, "{cmd}");
        }
        let r = open.judge(&exec("sh -c 'git push'"), wt, &any);
        assert_eq!(r.rule, Rule::Deny);
        assert!(r.because.contains("cannot tell what"), "{}", r.because);
        // An allow pattern matches only what is written: no prefix rides along.
        assert_eq!(
            p.judge(&exec("LD_PRELOAD=/x.so cargo test"), wt, &any).rule,
            Rule::Deny
        );
        assert_eq!(open.judge(&exec("git status"), wt, &any).rule, Rule::Allow);
    }

    #[test]
    fn the_defaults_allow_reading_and_editing_inside_the_worktree_only() {
        let p = Permissions::default();
        let wt = Path::new("/w/tree");
        let edit = |path: &str| Request {
            kind: "edit".into(),
            paths: vec![path.into()],
            ..Request::default()
        };
        assert_eq!(
            p.judge(&edit("/w/tree/src/a.rs"), wt, &Hosts::Any).rule,
            Rule::Allow
        );
        let r = p.judge(&edit("/w/tree/../x"), wt, &Hosts::Any);
        assert_eq!(
            (r.rule, r.because.as_str()),
            (Rule::Deny, "path outside the worktree: `/w/tree/../x`")
        );
        assert_eq!(
            p.judge(&edit("/etc/passwd"), wt, &Hosts::Any).rule,
            Rule::Deny
        );
        let kind = |k: &str| Request {
            kind: k.into(),
            ..Request::default()
        };
        for (k, rule) in [
            ("read", Rule::Allow),
            ("search", Rule::Allow),
            ("think", Rule::Allow),
            ("delete", Rule::Deny),
            ("move", Rule::Deny),
            ("execute", Rule::Deny),
            ("switch_mode", Rule::Deny),
        ] {
            assert_eq!(p.judge(&kind(k), wt, &Hosts::Any).rule, rule, "{k}");
        }
        assert_eq!(
            p.judge(&kind("switch_mode"), wt, &Hosts::Any).because,
            "kind other = deny"
        );
    }

    #[test]
    fn a_fetch_reaches_only_what_the_allowlist_does() {
        let p = Permissions::default();
        let wt = Path::new("/w");
        let fetch = |url: &str| Request {
            kind: "fetch".into(),
            url: Some(url.into()),
            ..Request::default()
        };
        let only =
            Hosts::Only(crate::sandbox::proxy::Allow::parse(&["docs.rs:443".into()]).unwrap());
        assert_eq!(
            p.judge(&fetch("https://docs.rs/x"), wt, &only).rule,
            Rule::Allow
        );
        let r = p.judge(&fetch("https://evil.example/x?y"), wt, &only);
        assert_eq!(
            (r.rule, r.because.as_str()),
            (
                Rule::Deny,
                "fetch of `evil.example:443`: not in the allowlist"
            )
        );
        assert_eq!(
            p.judge(&fetch("http://docs.rs/"), wt, &only).rule,
            Rule::Deny
        );
        assert_eq!(
            p.judge(&fetch("https://evil.example/"), wt, &Hosts::Any)
                .rule,
            Rule::Allow
        );
    }

    #[test]
    fn glob_matches_stars_only() {
        assert!(glob("git push*", "git push origin main"));
        assert!(glob("git push*", "git push"));
        assert!(!glob("git push*", "git pushy"[..3].as_ref()));
        assert!(glob("*test*", "cargo test --all"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("ls", "ls"));
        assert!(!glob("ls", "ls -la"));
        assert!(glob("cargo  test*", "cargo test"));
        assert!(!glob("?", "a"));
    }

    #[test]
    fn unknown_settings_are_refused() {
        let e = toml::from_str::<Permissions>("exec = \"allow\"").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = toml::from_str::<Permissions>("read = \"maybe\"").unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
    }
}
