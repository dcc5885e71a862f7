use crate::cli::{CommandHelper, CommandResult};
use crate::error::exit;

/// Create .forge/ and the runtime directory (idempotent)
///
/// Creates .forge/config.toml, beads/, assumptions/, ledger/, checkpoints/, .gitignore and
/// .gitattributes in the working tree, and forge/ under the git common directory for locks
/// and caches. Registers `forge merge-driver` for bead and assumption files in the
/// repository's git config (see docs/merge.md).
/// Running it again changes nothing and says so; missing pieces are recreated.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// What to do after `forge init`, in the order a person does it.
const NEXT: &str = "\
next:
  1. configure a harness: a [harness.NAME] section in .forge/config.toml (it has commented
     examples) and `harness = \"NAME\"` under [step]; then `forge doctor` checks it
  2. commit forge's files: git add .forge && git commit -m \"forge: init\"
  3. create work and run it: forge bead create \"TITLE\", then forge step
";

pub fn run(helper: &CommandHelper, _args: Args) -> CommandResult {
    let ui = helper.ui();
    let report = crate::init::init(helper.cwd(), helper.env(), &super::hooks::forge_exe())?;
    ui.report(&report, |out| {
        if report.changed() {
            writeln!(out, "Initialised forge in {}/.forge", report.root)?;
            for path in &report.created {
                writeln!(out, "  created {path}")?;
            }
            for key in &report.registered {
                writeln!(
                    out,
                    "  set {key} (the merge driver for beads and assumptions)"
                )?;
            }
        } else {
            writeln!(
                out,
                "forge is already initialised in {}/.forge; nothing changed",
                report.root
            )?;
        }
        write!(out, "{NEXT}")
    })?;
    Ok(exit::OK)
}
