//! The Landlock rules of a [`Policy`], through the `landlock` crate, always as a hard
//! requirement: a rule the kernel cannot enforce is an error, never a silent downgrade.

use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use super::{Policy, TcpRule};

/// The newest ABI whose rights forge has vetted; newer kernels are used at this level.
pub const KNOWN_ABI: u32 = 7;

fn abi(n: u32) -> ABI {
    ABI::from(n.min(KNOWN_ABI) as i32)
}

/// The highest Landlock ABI this kernel enforces, found by creating (never applying)
/// rulesets that need each level's filesystem rights.
pub fn current_abi() -> u32 {
    let mut found = 0;
    for n in 1..=KNOWN_ABI {
        let created = Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessFs::from_all(abi(n)))
            .and_then(|r| {
                if n >= super::NET_ABI {
                    r.handle_access(AccessNet::ConnectTcp)
                } else {
                    Ok(r)
                }
            })
            .and_then(|r| {
                if n >= super::SCOPE_ABI {
                    r.scope(Scope::from_all(abi(n)))
                } else {
                    Ok(r)
                }
            })
            .and_then(|r| r.create());
        match created {
            Ok(_) => found = n,
            Err(_) => break,
        }
    }
    found
}

/// Restricts the calling process (and everything it later starts) to `policy`. Called in
/// the trampoline just before it execs the harness.
pub fn restrict_self(policy: &Policy) -> Result<(), String> {
    let level = abi(policy.abi);
    let read = AccessFs::from_read(level);
    let all = AccessFs::from_all(level);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(all)
        .map_err(|e| format!("filesystem rules: {e}"))?;
    let tcp = policy.tcp_rule();
    if tcp != TcpRule::Any {
        ruleset = ruleset
            .handle_access(AccessNet::ConnectTcp)
            .map_err(|e| format!("network rules: {e}"))?;
    }
    if policy.scoped {
        ruleset = ruleset
            .scope(Scope::from_all(level))
            .map_err(|e| format!("scopes: {e}"))?;
    }
    let mut created = ruleset.create().map_err(|e| format!("ruleset: {e}"))?;
    for (paths, access) in [(&policy.read, read), (&policy.write, all)] {
        for path in paths {
            let Some(rule) = path_rule(path, access, level)? else {
                continue;
            };
            created = created
                .add_rule(rule)
                .map_err(|e| format!("rule for {}: {e}", path.display()))?;
        }
    }
    if let TcpRule::Port(port) = tcp {
        created = created
            .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
            .map_err(|e| format!("rule for the proxy's port {port}: {e}"))?;
    }
    let status = created
        .restrict_self()
        .map_err(|e| format!("landlock_restrict_self: {e}"))?;
    if status.ruleset != RulesetStatus::FullyEnforced || !status.no_new_privs {
        return Err(format!(
            "the kernel enforced the rules only partly ({:?})",
            status.ruleset
        ));
    }
    Ok(())
}

/// A rule for `path`, or None when it does not exist (a system directory this machine
/// lacks). Files get the file subset of `access`.
fn path_rule(
    path: &Path,
    access: BitFlags<AccessFs>,
    level: ABI,
) -> Result<Option<PathBeneath<PathFd>>, String> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    let access = if meta.is_dir() {
        access
    } else {
        access & AccessFs::from_file(level)
    };
    let fd = PathFd::new(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(
        PathBeneath::new(fd, access).set_compatibility(CompatLevel::HardRequirement),
    ))
}
