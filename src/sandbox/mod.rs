//! Containment of harness processes (DESIGN.md §7).
//!
//! A step's harness, its setup command and its gates run under a [`Policy`]: the paths they
//! may read and write, what TCP they may open, and resource limits. forge decides before a
//! step starts whether this machine can enforce the policy ([`decide`], fed by a
//! [`Probe`]); if it cannot, the step refuses to start unless `[sandbox] mode = "off"`, and
//! then every report says UNSANDBOXED. The policy is applied in the child, between fork and
//! the harness's exec, by forge itself re-executed as a small trampoline (`exec.rs`), so
//! that the crate needs no `unsafe` and the rules are inherited by every descendant.

pub mod exec;
pub mod install;
pub mod landlock;
pub mod limits;
pub mod netns;
pub mod paths;
pub mod pidns;
pub mod proxy;
pub mod ptys;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{NetworkMode, SandboxConfig, SandboxMode};

/// Landlock ABI needed for the filesystem rules: 3 adds truncate, without which a file
/// granted read-only could still be truncated.
pub const FS_ABI: u32 = 3;
/// Landlock ABI needed to restrict TCP connections.
pub const NET_ABI: u32 = 4;
/// Landlock ABI whose scopes stop signals and abstract UNIX sockets leaving the sandbox;
/// used where available, not required.
pub const SCOPE_ABI: u32 = 6;

/// What a sandboxed process tree may do. Serialised to the trampoline and, without its
/// long path lists, into the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The Landlock ABI the rules are built for (the machine's, capped at what forge knows).
    pub abi: u32,
    /// Readable (and executable) hierarchies.
    pub read: Vec<PathBuf>,
    /// Writable hierarchies (reading included).
    pub write: Vec<PathBuf>,
    pub network: NetworkMode,
    /// With `network = "allowlist"`: the only TCP port connections may go to.
    pub proxy_port: Option<u16>,
    /// Signals and abstract UNIX sockets stay inside the sandbox (ABI 6).
    pub scoped: bool,
    /// Memory of the whole tree (a cgroup's), or else of each process (RLIMIT_AS).
    pub memory_bytes: Option<u64>,
    /// Processes of the whole tree (a cgroup's), or else RLIMIT_NPROC.
    pub max_processes: Option<u64>,
    /// The cgroups enforcing those limits, which the trampoline joins first
    /// ([`limits::make`]); a limit none covers is an rlimit.
    #[serde(default)]
    pub cgroups: Vec<limits::Joined>,
    /// A network namespace of its own (only loopback), where the machine allows it.
    #[serde(default)]
    pub netns: Option<netns::Plan>,
    /// Terminals of its own (a new devpts instance, `ptys.rs`), which the trampoline makes
    /// before the rules grant [`ptys::GRANTED`]; it fails rather than grant the host's.
    #[serde(default)]
    pub ptys: bool,
    /// A PID namespace of its own with a fresh `/proc` (`pidns.rs`), which the trampoline
    /// makes before the rules grant all of `/proc`; it fails rather than grant the host's.
    #[serde(default)]
    pub pids: bool,
}

/// What Landlock lets a contained process's TCP connections reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpRule {
    /// Anything: the network is open, or a network namespace of the harness's own confines
    /// it (its loopback is its own, and its only way out is the relay to the proxy).
    Any,
    /// Only this port, on any address (the proxy's, without a namespace: loopback is the
    /// host's, so a harness reaches no loopback server of its own either).
    Port(u16),
    /// No TCP connection at all (`network = "none"`, with or without a namespace).
    None,
}

impl Policy {
    /// How Landlock restricts TCP connections under this policy.
    pub fn tcp_rule(&self) -> TcpRule {
        match (self.network, self.netns.is_some(), self.proxy_port) {
            (NetworkMode::Open, _, _) => TcpRule::Any,
            (NetworkMode::None, _, _) => TcpRule::None,
            (NetworkMode::Allowlist, true, _) => TcpRule::Any,
            (NetworkMode::Allowlist, false, Some(port)) => TcpRule::Port(port),
            (NetworkMode::Allowlist, false, None) => TcpRule::None,
        }
    }

    /// What the ledger records of this policy.
    pub fn summary(&self, enforcement: Enforcement) -> Summary {
        let system = |p: &PathBuf| {
            p.starts_with("/etc")
                || p == std::path::Path::new(paths::OWN_PROC)
                || p == std::path::Path::new("/proc")
                || paths::SYSTEM_READ.iter().any(|s| p.starts_with(s))
        };
        Summary {
            enforcement,
            network: self.network,
            network_enforced: match (self.network, self.netns.is_some()) {
                (NetworkMode::Open, _) => "none",
                (NetworkMode::None, true) => {
                    "a network namespace with only loopback, and landlock: no TCP connection"
                }
                (NetworkMode::None, false) => "landlock: no TCP connection",
                (NetworkMode::Allowlist, true) => {
                    "a network namespace with only loopback, relayed to the proxy: the \
                     harness's own loopback servers are reachable, the host's are not"
                }
                (NetworkMode::Allowlist, false) => {
                    "landlock: TCP only to the proxy's port (no network namespace here: \
                     loopback is the host's, so no loopback server of the harness's own is \
                     reachable either)"
                }
            },
            proxy_port: self.proxy_port,
            private_ptys: self.ptys,
            proc_view: if self.pids {
                "all of /proc, a fresh one in a PID namespace of its own: only its processes"
            } else {
                "only the harness's own /proc/self (no PID namespace here): the processes it \
                 starts cannot read theirs"
            },
            write: self.write.clone(),
            read_extra: self.read.iter().filter(|p| !system(p)).cloned().collect(),
            memory_bytes: self.memory_bytes,
            max_processes: self.max_processes,
            limits_enforced: limits::describe(
                &self.cgroups,
                self.memory_bytes.is_some(),
                self.max_processes.is_some(),
            ),
        }
    }
}

/// What the kernel offers, as far as forge's rules are concerned.
pub trait Probe {
    /// The highest Landlock ABI usable here (0: none).
    fn landlock_abi(&self) -> u32;
}

/// The running kernel.
pub struct KernelProbe;

impl Probe for KernelProbe {
    /// Probed once per process: creating the rulesets costs up to seven syscalls each
    /// time, and a step asks several times (step, gates, re-derived gates).
    fn landlock_abi(&self) -> u32 {
        static ABI: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        *ABI.get_or_init(landlock::current_abi)
    }
}

/// What reports say of a step that ran without the sandbox.
pub const UNSANDBOXED: &str = "UNSANDBOXED";

/// How a step's processes will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "sandbox")]
pub enum Enforcement {
    /// Landlock at `abi`; `scoped` says whether signal and socket scoping apply.
    Landlock { abi: u32, scoped: bool },
    /// `[sandbox] mode = "off"`: nothing is enforced.
    Unsandboxed,
}

impl Enforcement {
    pub fn is_sandboxed(&self) -> bool {
        matches!(self, Enforcement::Landlock { .. })
    }

    /// For reports: "landlock ABI 7" or "UNSANDBOXED".
    pub fn describe(&self) -> String {
        match self {
            Enforcement::Landlock { abi, .. } => format!("sandboxed (Landlock ABI {abi})"),
            Enforcement::Unsandboxed => UNSANDBOXED.into(),
        }
    }
}

/// Why the sandbox cannot be enforced, and the way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub missing: String,
    pub hint: String,
}

/// The fail-closed decision: the configured sandbox, against what the machine can do.
/// Nothing from the environment weakens it; only `.forge/config.toml` can.
pub fn decide(config: &SandboxConfig, probe: &dyn Probe) -> Result<Enforcement, Refusal> {
    if config.mode == SandboxMode::Off {
        return Ok(Enforcement::Unsandboxed);
    }
    let abi = probe.landlock_abi();
    let off = "or run UNSANDBOXED by setting `[sandbox] mode = \"off\"` in .forge/config.toml";
    if abi < FS_ABI {
        let missing = if abi == 0 {
            "this kernel has no Landlock (needs Linux 6.2 or later with Landlock enabled, \
             `lsm=landlock,...` on the kernel command line)"
                .to_owned()
        } else {
            format!(
                "this kernel's Landlock is ABI {abi}; forge's filesystem rules need ABI \
                 {FS_ABI} (Linux 6.2)"
            )
        };
        return Err(Refusal {
            missing,
            hint: format!("use a newer kernel, {off}"),
        });
    }
    if config.network != NetworkMode::Open && abi < NET_ABI {
        return Err(Refusal {
            missing: format!(
                "this kernel's Landlock is ABI {abi}; restricting the network (`[sandbox] \
                 network = \"{}\"`) needs ABI {NET_ABI} (Linux 6.7)",
                network_name(config.network)
            ),
            hint: format!(
                "use a newer kernel, set `[sandbox] network = \"open\"` to sandbox files \
                 only, {off}"
            ),
        });
    }
    Ok(Enforcement::Landlock {
        abi: abi.min(landlock::KNOWN_ABI),
        scoped: abi >= SCOPE_ABI,
    })
}

pub fn network_name(mode: NetworkMode) -> &'static str {
    match mode {
        NetworkMode::Allowlist => "allowlist",
        NetworkMode::Open => "open",
        NetworkMode::None => "none",
    }
}

/// What a step records of its policy in the ledger: everything but the long lists of
/// system paths.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub enforcement: Enforcement,
    pub network: NetworkMode,
    /// How the network rule is enforced: a network namespace of the harness's own where the
    /// machine allows one, else Landlock's TCP port rule alone (the proxy's port, on any
    /// address).
    pub network_enforced: &'static str,
    pub proxy_port: Option<u16>,
    /// The `/dev/ptmx` and `/dev/pts` in `write` are a devpts instance of the harness's own
    /// (`ptys.rs`), never the host's.
    pub private_ptys: bool,
    /// What of `/proc` the harness's processes read: each its own, in a PID namespace of the
    /// sandbox's own where the machine allows one, else only the harness's own `/proc/self`.
    pub proc_view: &'static str,
    pub write: Vec<PathBuf>,
    /// Readable paths outside the system directories (the harness's installation, grants).
    pub read_extra: Vec<PathBuf>,
    pub memory_bytes: Option<u64>,
    pub max_processes: Option<u64>,
    /// How each limit is enforced (`memory: cgroup v1`, `processes: rlimit`).
    pub limits_enforced: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(u32);
    impl Probe for Fake {
        fn landlock_abi(&self) -> u32 {
            self.0
        }
    }

    fn config(mode: SandboxMode, network: NetworkMode) -> SandboxConfig {
        SandboxConfig {
            mode,
            network,
            ..SandboxConfig::default()
        }
    }

    #[test]
    fn off_is_unsandboxed_whatever_the_kernel() {
        for abi in [0, 3, 7] {
            let c = config(SandboxMode::Off, NetworkMode::Allowlist);
            assert_eq!(decide(&c, &Fake(abi)), Ok(Enforcement::Unsandboxed));
        }
    }

    #[test]
    fn no_landlock_refuses_and_names_the_way_out() {
        let c = config(SandboxMode::On, NetworkMode::Open);
        let r = decide(&c, &Fake(0)).unwrap_err();
        assert!(r.missing.contains("no Landlock"), "{r:?}");
        assert!(r.hint.contains("mode = \"off\""), "{r:?}");
    }

    #[test]
    fn filesystem_rules_need_abi_3() {
        let c = config(SandboxMode::On, NetworkMode::Open);
        assert!(decide(&c, &Fake(2)).unwrap_err().missing.contains("ABI 2"));
        assert_eq!(
            decide(&c, &Fake(3)),
            Ok(Enforcement::Landlock {
                abi: 3,
                scoped: false
            })
        );
    }

    #[test]
    fn network_rules_need_abi_4_unless_open() {
        for network in [NetworkMode::Allowlist, NetworkMode::None] {
            let c = config(SandboxMode::On, network);
            let r = decide(&c, &Fake(3)).unwrap_err();
            assert!(r.missing.contains("needs ABI 4"), "{r:?}");
            assert!(r.hint.contains("network = \"open\""), "{r:?}");
            assert!(decide(&c, &Fake(4)).is_ok());
        }
    }

    #[test]
    fn the_tcp_rule_is_left_to_a_namespace_only_with_the_allowlist() {
        let policy = |network, netns: bool| Policy {
            abi: 7,
            read: Vec::new(),
            write: Vec::new(),
            network,
            proxy_port: (network == NetworkMode::Allowlist).then_some(4000),
            scoped: true,
            memory_bytes: None,
            max_processes: None,
            cgroups: Vec::new(),
            netns: netns.then(|| netns::Plan {
                forward: None,
                tunnels: Vec::new(),
            }),
            ptys: false,
            pids: false,
        };
        use NetworkMode::{Allowlist, Open};
        let none = NetworkMode::None;
        assert_eq!(policy(Allowlist, false).tcp_rule(), TcpRule::Port(4000));
        assert_eq!(policy(Allowlist, true).tcp_rule(), TcpRule::Any);
        assert_eq!(policy(none, false).tcp_rule(), TcpRule::None);
        assert_eq!(policy(none, true).tcp_rule(), TcpRule::None);
        assert_eq!(policy(Open, false).tcp_rule(), TcpRule::Any);
        let enforced = |p: Policy| p.summary(Enforcement::Unsandboxed).network_enforced;
        assert!(enforced(policy(Allowlist, true)).contains("own loopback servers"));
        assert!(enforced(policy(Allowlist, false)).contains("no loopback server"));
        assert!(enforced(policy(none, true)).contains("no TCP"));
    }

    #[test]
    fn scopes_apply_from_abi_6() {
        let c = config(SandboxMode::On, NetworkMode::Allowlist);
        assert_eq!(
            decide(&c, &Fake(7)),
            Ok(Enforcement::Landlock {
                abi: 7,
                scoped: true
            })
        );
    }
}
