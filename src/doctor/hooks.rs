//! forge's place in git: its blocks in the git hooks, and the merge driver for `.forge/`
//! files registered in the repository's configuration.

use super::{DoctorOptions, DoctorReport, Severity};
use crate::error::Result;
use crate::git::cli::Git;
use crate::store::Layout;

pub(super) fn check_hooks(
    git: &Git,
    opts: &DoctorOptions,
    report: &mut DoctorReport,
) -> Result<()> {
    let status = crate::hooks::status(git, &opts.forge_exe)?;
    for h in &status.hooks {
        use crate::hooks::HookState;
        match h.state {
            HookState::Installed if h.executable => {
                report.ok("hooks", format!("{} hook installed ({})", h.hook, h.path))
            }
            HookState::Installed => report.push(
                "hooks",
                Severity::Warning,
                format!(
                    "{} is installed but not executable, so git skips it",
                    h.path
                ),
                Some(format!("chmod +x {}", h.path)),
            ),
            HookState::Outdated => report.push(
                "hooks",
                Severity::Warning,
                format!(
                    "{}: forge's block is from another forge binary or version",
                    h.path
                ),
                Some("forge hooks install".into()),
            ),
            HookState::Missing => report.push(
                "hooks",
                Severity::Warning,
                format!(
                    "{} hook not installed (optional: {})",
                    h.hook,
                    if h.hook == "pre-commit" {
                        "it refuses commits of broken .forge/ files"
                    } else {
                        "it links and closes beads named in commit trailers"
                    }
                ),
                Some("forge hooks install".into()),
            ),
        }
    }
    Ok(())
}

pub(super) fn check_driver(
    layout: &Layout,
    git: &Git,
    opts: &DoctorOptions,
    report: &mut DoctorReport,
) -> Result<()> {
    let status = crate::merge::register::status(git, layout, &opts.forge_exe)?;
    if status.ok() && status.current {
        report.ok(
            "merge-driver",
            "the forge merge driver is registered for beads and assumptions",
        );
        return Ok(());
    }
    let severity = if status.broken {
        Severity::Error
    } else {
        Severity::Warning
    };
    let what = if status.broken {
        "merge.forge.name is set but merge.forge.driver is not: git stops every merge of a bead file with \"custom merge driver forge lacks command line\""
    } else if !status.configured {
        "the forge merge driver is not registered in git's config (optional: merges stay safe, only less smooth)"
    } else if !status.attributes {
        ".forge/.gitattributes does not route beads and assumptions to the forge merge driver"
    } else {
        "the forge merge driver is registered for another forge binary"
    };
    if opts.fix {
        crate::merge::register::register(git, layout, &opts.forge_exe)?;
        report.fixed("merge-driver", severity, format!("{what}: registered"));
    } else {
        report.push(
            "merge-driver",
            severity,
            what,
            Some("forge hooks install".into()),
        );
    }
    Ok(())
}
