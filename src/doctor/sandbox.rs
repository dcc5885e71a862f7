//! What this machine can enforce of `[sandbox]`, and steps whose harness reached outside.

use super::{DoctorReport, Severity};
use crate::config::Config;
use crate::sandbox::{self, Enforcement, FS_ABI, NET_ABI, Probe, SCOPE_ABI};
use crate::step::checkpoint;
use crate::store::Layout;

pub fn check(layout: &Layout, config: &Config, probe: &dyn Probe, report: &mut DoctorReport) {
    let abi = probe.landlock_abi();
    let can = |need: u32| if abi >= need { "yes" } else { "no" };
    report.ok(
        "sandbox",
        format!(
            "this kernel: Landlock ABI {abi} (files: {}, network: {}, signal scoping: {}); \
             network namespace for harnesses: {}",
            can(FS_ABI),
            can(NET_ABI),
            can(SCOPE_ABI),
            match crate::sandbox::netns::available() {
                Some(crate::sandbox::netns::Way::Direct) => {
                    "yes (harnesses reach loopback servers of their own, not the host's)"
                }
                Some(crate::sandbox::netns::Way::UserNamespace) => {
                    "yes, through a user namespace (harnesses reach loopback servers of their \
                     own, not the host's)"
                }
                None => {
                    "no (not root, and no unprivileged user namespaces): the TCP rule admits \
                     only the proxy's port, on any address, so harnesses cannot reach \
                     loopback servers of their own (opencode's, language servers)"
                }
            }
        ),
    );
    report.ok(
        "sandbox",
        format!(
            "PID namespace for harnesses (each of their processes reads its own /proc/self): {}",
            match crate::sandbox::pidns::available() {
                Some(crate::sandbox::netns::Way::Direct) => "yes",
                Some(crate::sandbox::netns::Way::UserNamespace) => "yes (user namespace)",
                None => {
                    "no (not root and no unprivileged user namespaces, or the kernel refuses a \
                     procfs mount, as in containers with overmounts on /proc): only the \
                     harness's own /proc/self is readable, and runtimes its processes start \
                     that need theirs (Bun) abort"
                }
            }
        ),
    );
    {
        use crate::sandbox::limits::{Controller, mechanism};
        report.ok(
            "sandbox",
            format!(
                "resource limits here: memory_mb by {}, max_processes by {}",
                mechanism(Controller::Memory),
                mechanism(Controller::Pids)
            ),
        );
    }
    match sandbox::decide(&config.sandbox, probe) {
        Ok(Enforcement::Unsandboxed) => report.push(
            "sandbox",
            Severity::Warning,
            "[sandbox] mode = \"off\": harnesses and gates run UNSANDBOXED, with your \
             files, keys and network in reach",
            Some("set `[sandbox] mode = \"on\"` in .forge/config.toml".into()),
        ),
        Ok(e @ Enforcement::Landlock { .. }) => report.ok(
            "sandbox",
            format!(
                "steps run {}, network {}",
                e.describe(),
                sandbox::network_name(config.sandbox.network)
            ),
        ),
        Err(r) => report.push(
            "sandbox",
            Severity::Error,
            format!("steps will refuse to start: {}", r.missing),
            Some(r.hint),
        ),
    }
    let Ok(checkpoints) = checkpoint::load_all(layout) else {
        return; // reported by the state check
    };
    // Reported until the step's worktree goes to the attic (`forge gc`): by then a person
    // has looked.
    let live = |c: &&checkpoint::Checkpoint| layout.step_worktree(&c.worktree).exists();
    for cp in checkpoints
        .iter()
        .filter(|c| !c.violations.is_empty())
        .filter(live)
    {
        report.push(
            "sandbox",
            Severity::Error,
            format!(
                "the harness of {} reached outside its step: {}",
                cp.step,
                cp.violations.join("; ")
            ),
            Some(format!(
                "undo what the step's `step.violation` event lists (`forge ledger show \
                 --json`), then `forge gc` to keep {}'s worktree in the attic",
                cp.step
            )),
        );
    }
}
