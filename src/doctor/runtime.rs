//! The runtime directory forge keeps its caches and locks in, and whether `forge tick` is
//! paused.

use super::{DoctorOptions, DoctorReport, Severity};
use crate::store::{Layout, StoreLock};

pub(super) fn check_runtime(layout: &Layout, opts: &DoctorOptions, report: &mut DoctorReport) {
    let dir = &layout.runtime;
    if !dir.is_dir() {
        if opts.fix && std::fs::create_dir_all(layout.cache_dir()).is_ok() {
            report.fixed(
                "runtime",
                Severity::Error,
                format!("{} was missing: created", dir.display()),
            );
        } else {
            report.push(
                "runtime",
                Severity::Error,
                format!("the runtime directory {} is missing", dir.display()),
                Some("forge init".into()),
            );
        }
        return;
    }
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    if let Err(e) = std::fs::write(&probe, b"") {
        report.push(
            "runtime",
            Severity::Error,
            format!(
                "the runtime directory {} is not writable: {e}",
                dir.display()
            ),
            Some(format!(
                "fix its permissions: chmod u+rwx {}",
                dir.display()
            )),
        );
        return;
    }
    let _ = std::fs::remove_file(&probe);
    match StoreLock::try_acquire(&layout.store_lock()) {
        Ok(Some(_)) => report.ok(
            "runtime",
            format!("{} is writable; the store lock is free", dir.display()),
        ),
        Ok(None) => report.ok(
            "runtime",
            format!(
                "{} is writable; a forge process holds the store lock",
                dir.display()
            ),
        ),
        Err(e) => report.push(
            "runtime",
            Severity::Error,
            format!("the store lock: {e}"),
            Some("forge init".into()),
        ),
    }
}

/// Whether `forge tick` works: a pause (by hand or by the circuit breaker) is a warning
/// with the way out; only `tick` said so before.
pub(super) fn check_pause(layout: &Layout, report: &mut DoctorReport) {
    let state = match crate::tick::state::TickState::load(layout) {
        Ok(state) => state,
        Err(e) => {
            let fix = e.hints().into_iter().next();
            report.push("tick", Severity::Error, e.to_string(), fix);
            return;
        }
    };
    match &state.paused {
        None if state.consecutive_failures > 0 => report.ok(
            "tick",
            format!(
                "not paused; the last {} step(s) failed in a row",
                state.consecutive_failures
            ),
        ),
        None => report.ok("tick", "not paused"),
        Some(p) => report.push(
            "tick",
            Severity::Warning,
            format!(
                "forge is paused: {}; `forge tick` starts no new work",
                p.describe()
            ),
            Some(p.way_out().into()),
        ),
    }
}
