//! A step's containment (DESIGN.md §7): the sandbox decision, the policy and proxy for its
//! harness and gates, forge's pinned git for its worktree, and what detection watches.

use std::path::PathBuf;

use super::checkpoint::Checkpoint;
use super::guard::Watched;
use super::{index_path, step_dir};
use crate::config::NetworkMode;
use crate::error::{Error, Result};
use crate::git::cli::Git;
use crate::harness::adapter::Adapter;
use crate::harness::config::HarnessConfig;
use crate::harness::presets::acp::policy::Hosts;
use crate::sandbox::paths::{StepPaths, check_grants};
use crate::sandbox::proxy::{Allow, Proxy, ProxyReport, host_of_url};
use crate::sandbox::{self, Enforcement, KernelProbe, Policy, Probe};
use crate::store::Layout;
use crate::workspace::Workspace;

/// The fail-closed decision for this repository's config on this machine.
pub fn enforcement(ws: &Workspace) -> Result<Enforcement> {
    enforcement_with(ws, &KernelProbe)
}

pub fn enforcement_with(ws: &Workspace, probe: &dyn Probe) -> Result<Enforcement> {
    check_grants(&ws.config.sandbox).map_err(|message| Error::Refused {
        message,
        hint: "fix [sandbox] in .forge/config.toml".into(),
    })?;
    sandbox::decide(&ws.config.sandbox, probe).map_err(|r| Error::Refused {
        message: format!("the sandbox cannot be enforced here: {}", r.missing),
        hint: r.hint,
    })
}

/// The step worktree's admin directory, where `git worktree add` puts it.
pub fn admin_dir(layout: &Layout, cp: &Checkpoint) -> PathBuf {
    layout.git_worktree_admin(&cp.step)
}

pub fn worktree(layout: &Layout, cp: &Checkpoint) -> PathBuf {
    layout.step_worktree(&cp.worktree)
}

/// forge's git for the step's worktree (see [`Git::pinned`]).
pub fn step_git(layout: &Layout, cp: &Checkpoint) -> Git {
    Git::pinned(
        &layout.common_dir(),
        &worktree(layout, cp),
        &index_path(layout, &cp.step),
    )
}

/// Checks, right after `git worktree add` and before any harness ran, that git put the
/// admin directory where forge will look for it, and gives forge its own copy of the fresh
/// index (with stat data, so that the first snapshot does not hash every file again).
pub fn adopt_worktree(layout: &Layout, cp: &Checkpoint) -> Result<()> {
    let wt = worktree(layout, cp);
    let found = super::guard::admin_dir(&layout.common_dir(), &wt)?;
    let expected = admin_dir(layout, cp);
    let same = |a: &std::path::Path, b: &std::path::Path| {
        a.canonicalize()
            .ok()
            .is_some_and(|a| Some(a) == b.canonicalize().ok())
    };
    if !same(&found, &expected) {
        return Err(Error::Refused {
            message: format!(
                "git put the worktree's admin directory at {}, not {}",
                found.display(),
                expected.display()
            ),
            hint: format!(
                "run `git worktree prune`, then `forge gc`; {} is safe",
                cp.branch
            ),
        });
    }
    let index = index_path(layout, &cp.step);
    std::fs::copy(expected.join("index"), &index).map_err(|e| Error::io(&index, e))?;
    Ok(())
}

/// After forge committed, the worktree's own index is made to match the new head, so that
/// the agent's `git status` on a revision shows nothing pending. Written by rename, so a
/// symlink the agent left there is replaced, not followed.
pub fn sync_worktree_index(layout: &Layout, cp: &Checkpoint) -> Result<()> {
    let bytes = std::fs::read(index_path(layout, &cp.step))
        .map_err(|e| Error::io(index_path(layout, &cp.step), e))?;
    crate::store::atomic::atomic_write(&admin_dir(layout, cp).join("index"), &bytes)
}

/// What detection watches for a step (see [`Watched`]), owning its paths.
pub struct Watch {
    root: PathBuf,
    common: PathBuf,
    worktree: PathBuf,
    admin: PathBuf,
    branch_ref: String,
    full: bool,
}

impl Watch {
    pub fn of_step(layout: &Layout, cp: &Checkpoint, enforcement: Enforcement) -> Watch {
        Watch {
            root: layout.root.clone(),
            common: layout.common_dir(),
            worktree: worktree(layout, cp),
            admin: admin_dir(layout, cp),
            branch_ref: format!("refs/heads/{}", cp.branch),
            full: !enforcement.is_sandboxed(),
        }
    }

    pub fn get(&self) -> Watched<'_> {
        Watched {
            root: &self.root,
            common_dir: &self.common,
            worktree: &self.worktree,
            admin_dir: &self.admin,
            branch_ref: &self.branch_ref,
            full: self.full,
        }
    }
}

/// What a harness run is contained by: the policy, and the proxy while it runs.
pub struct Contained {
    pub policy: Option<Policy>,
    pub proxy: Option<Proxy>,
    /// The relay from the harness's network namespace to the proxy.
    pub bridge: Option<crate::sandbox::netns::Bridge>,
    /// Variables to set in the harness's environment (proxy, object directory).
    pub env: Vec<(String, String)>,
    /// Variables to remove from it.
    pub unset: Vec<&'static str>,
    /// The cgroups enforcing the run's memory and process limits.
    pub limits: Option<crate::sandbox::limits::Cgroups>,
}

/// The `PATH` of an environment (the harness's, from which its installation is found).
pub fn path_var(env: &[(String, String)]) -> String {
    env.iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

impl Contained {
    /// Makes `env` the contained run's: what must not pass is removed, the proxy and the
    /// private object directory are added.
    pub fn apply_to(&self, env: &mut Vec<(String, String)>) {
        env.retain(|(k, _)| !self.unset.contains(&k.as_str()));
        env.extend(self.env.iter().cloned());
        env.sort();
    }

    /// What the memory and process limits stopped so far.
    pub fn limit_hits(&self) -> crate::sandbox::limits::Hits {
        self.limits.as_ref().map(|l| l.hits()).unwrap_or_default()
    }

    /// Stops the proxy; what it let through and denied.
    pub fn finish(&mut self) -> Option<ProxyReport> {
        self.bridge = None;
        self.proxy.take().map(Proxy::stop)
    }
}

const PROXY_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
];

/// `NO_PROXY` for a harness in a network namespace of its own: its loopback.
const LOOPBACK_NAMES: &str = "127.0.0.1,localhost,::1";

/// Hosts of the harness's API: the preset's, those of `*_BASE_URL`-style variables the
/// harness's config sets (a custom endpoint named in config), and `[sandbox] allow_hosts`.
pub fn allowed_hosts(ws: &Workspace, adapter: &dyn Adapter, hc: &HarnessConfig) -> Vec<String> {
    // An ACP agent needs its own CLI's API hosts.
    let program = hc.program().unwrap_or_default();
    let own = match crate::harness::presets::acp::known_agent(&program) {
        Some(cli) if adapter.name() == "acp" => cli,
        _ => adapter,
    };
    let mut hosts: Vec<String> = own.api_hosts().iter().map(|h| (*h).to_owned()).collect();
    for (k, v) in &hc.env {
        if (k.ends_with("_BASE_URL") || k.ends_with("_API_BASE") || k.ends_with("_BASE"))
            && let Some(host) = host_of_url(v)
        {
            hosts.push(host);
        }
    }
    hosts.extend(ws.config.sandbox.allow_hosts.iter().cloned());
    hosts
}

/// What an ACP agent's `fetch` may reach: what the network setting would let the harness
/// reach, whether or not the sandbox enforces it.
pub fn fetch_hosts(ws: &Workspace, adapter: &dyn Adapter, hc: &HarnessConfig) -> Hosts {
    match ws.config.sandbox.network {
        NetworkMode::Open => Hosts::Any,
        NetworkMode::None => Hosts::Only(Allow::default()),
        // Checked when the proxy starts; a list that does not parse allows nothing.
        NetworkMode::Allowlist => {
            Hosts::Only(Allow::parse(&allowed_hosts(ws, adapter, hc)).unwrap_or_default())
        }
    }
}

/// The directories one contained run works in.
pub struct Subject {
    pub worktree: PathBuf,
    /// The worktree's admin directory under `<common>/worktrees/`.
    pub admin_dir: PathBuf,
    /// The scratch directory holding the harness's HOME, TMPDIR and the like.
    pub scratch: PathBuf,
}

impl Subject {
    pub fn of_step(layout: &Layout, cp: &Checkpoint) -> Subject {
        Subject {
            worktree: worktree(layout, cp),
            admin_dir: admin_dir(layout, cp),
            scratch: step_dir(layout, &cp.step),
        }
    }
}

/// Sets up the containment of one run of the harness (or, with `harness = None`, of the
/// gates: the same filesystem rules, the network open, since tests talk to servers they
/// start and the gates get no API keys).
pub fn contain(
    ws: &Workspace,
    subject: &Subject,
    enforcement: Enforcement,
    harness: Option<(&dyn Adapter, &HarnessConfig, &str)>,
    path_var: &str,
) -> Result<Contained> {
    let Enforcement::Landlock { .. } = enforcement else {
        return Ok(Contained {
            policy: None,
            proxy: None,
            bridge: None,
            env: Vec::new(),
            unset: Vec::new(),
            limits: None,
        });
    };
    let layout = &ws.layout;
    let objects = subject.scratch.join("objects");
    std::fs::create_dir_all(&objects).map_err(|e| Error::io(&objects, e))?;
    let writable: Vec<PathBuf> = ["home", "tmp", "tmux", "objects", "outbox"]
        .iter()
        .map(|d| subject.scratch.join(d))
        .collect();
    let install = match harness {
        Some((_, _, program)) => sandbox::install::roots(program, path_var),
        None => Vec::new(),
    };
    let home = ws
        .env_snapshot
        .iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| PathBuf::from(v));
    let common = layout.common_dir();
    let paths = StepPaths {
        common_dir: &common,
        worktree: &subject.worktree,
        admin_dir: &subject.admin_dir,
        scratch: &writable,
        install: &install,
        path_var,
        home: home.as_deref(),
    };
    let mut config = ws.config.sandbox.clone();
    let mut env = vec![
        (
            "GIT_OBJECT_DIRECTORY".to_owned(),
            objects.display().to_string(),
        ),
        (
            "GIT_ALTERNATE_OBJECT_DIRECTORIES".to_owned(),
            common.join("objects").display().to_string(),
        ),
    ];
    let mut unset: Vec<&'static str> = vec!["NO_PROXY", "no_proxy"];
    unset.extend(PROXY_VARS);
    let mut proxy = None;
    let mut hosts = Vec::new();
    match harness {
        None => config.network = NetworkMode::Open,
        Some((adapter, hc, _)) if config.network == NetworkMode::Allowlist => {
            hosts = allowed_hosts(ws, adapter, hc);
            let allow = Allow::parse(&hosts).map_err(|e| Error::Refused {
                message: format!("[sandbox] allow_hosts: {e}"),
                hint: "fix it in .forge/config.toml".into(),
            })?;
            let p = Proxy::start(allow).map_err(|e| Error::io("the step's egress proxy", e))?;
            for var in PROXY_VARS {
                env.push(((*var).to_owned(), p.url()));
            }
            proxy = Some(p);
        }
        Some(_) => {}
    }
    let mut policy = sandbox::paths::policy(
        enforcement,
        &config,
        &paths,
        proxy.as_ref().map(Proxy::port),
    );
    // And terminals of its own, where the machine allows it (a mount namespace with a new
    // devpts instance): tools that run commands in a pty (OpenHands's tmux) need one;
    // elsewhere no pty is granted, never the host's.
    if sandbox::ptys::available() {
        sandbox::paths::grant_private_ptys(&mut policy);
    }
    // And a PID namespace of its own, where the machine allows it, so that every process of
    // the tree reads its own /proc/self (Bun, started by Node, aborts without it);
    // elsewhere only the harness's own.
    if sandbox::pidns::available().is_some() {
        sandbox::paths::grant_own_pids(&mut policy);
    }
    // Where the machine allows it, the harness also gets a network namespace of its own,
    // its only way out the relay to the proxy.
    let mut bridge = None;
    if config.network != NetworkMode::Open && sandbox::netns::available().is_some() {
        let forward = match &proxy {
            Some(p) => {
                let b =
                    sandbox::netns::Bridge::start(&subject.scratch.join("proxy.sock"), p.port())
                        .map_err(|e| Error::io(subject.scratch.join("proxy.sock"), e))?;
                let forward = (p.port(), b.path().to_owned());
                bridge = Some(b);
                Some(forward)
            }
            None => None,
        };
        // Its loopback is its own: clients go direct to the servers it starts there (opencode
        // talks to its own HTTP server on 127.0.0.1:4096), and Landlock leaves TCP to the
        // namespace (`Policy::tcp_rule`). The host's loopback ports the allowlist names are
        // tunnels to the proxy at the same address.
        let tunnels = match &proxy {
            Some(p) => {
                for var in ["NO_PROXY", "no_proxy"] {
                    env.push((var.to_owned(), LOOPBACK_NAMES.to_owned()));
                }
                sandbox::netns::loopback_tunnels(&hosts, p.port())
            }
            None => Vec::new(),
        };
        policy.netns = Some(sandbox::netns::Plan { forward, tunnels });
    }
    let limits = sandbox::limits::make(policy.memory_bytes, policy.max_processes).map_err(|e| {
        Error::Refused {
            message: format!("the sandbox cannot be enforced here: {}", e.0),
            hint: "unset it in [sandbox] of .forge/config.toml, or run forge where cgroups are \
                   writable"
                .into(),
        }
    })?;
    if let Some(l) = &limits {
        policy.cgroups = l.joined().to_vec();
    }
    Ok(Contained {
        policy: Some(policy),
        proxy,
        bridge,
        env,
        unset,
        limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_base_urls() {
        for (url, want) in [
            ("http://127.0.0.1:8080/v1", Some("127.0.0.1:8080")),
            ("https://api.example.com", Some("api.example.com:443")),
            ("http://example.com/x", Some("example.com:80")),
            ("https://user:pw@h.example:9/x", Some("h.example:9")),
            ("http://[::1]:5000/", Some("[::1]:5000")),
            ("not a url", None),
        ] {
            assert_eq!(host_of_url(url).as_deref(), want, "{url}");
        }
    }
}
