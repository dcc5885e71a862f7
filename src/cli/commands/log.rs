use std::io::{Read, Write};
use std::time::Duration;

use crate::cli::ui::Ui;
use crate::cli::{CommandResult, Context};
use crate::error::{Error, exit};
use crate::step::checkpoint::{self, Checkpoint};
use crate::step::lease;
use crate::step::log_path;

/// Show a step's harness output
///
/// The raw output lives under the git directory (never in .forge/): it may hold secrets,
/// so what is printed goes through the same redactor as everything else forge prints.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Step id (fg-3k9x.1), or a bead id for its latest step
    pub step: String,
    /// Keep printing new output until the step stops running
    #[arg(short, long)]
    pub follow: bool,
    /// Show the whole output of this gate command instead (a name from `[[gates]]`)
    #[arg(long, value_name = "NAME", conflicts_with = "follow")]
    pub gate: Option<String>,
}

pub fn run(ui: &Ui, ctx: &Context, args: Args) -> CommandResult {
    let layout = super::ready::layout(ctx)?;
    let cp = checkpoint::resolve(&checkpoint::load_all(&layout)?, &args.step)?;
    let path = match &args.gate {
        None => log_path(&layout, &cp.step),
        Some(name) => gate_log(&layout, &cp, name)?,
    };
    let mut file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut stdout = std::io::stdout().lock();
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)
        .map_err(|e| Error::io(&path, e))?;
    let redactor = ui.redactor();
    if ui.json {
        let log = redactor.redact(&String::from_utf8_lossy(&buf)).into_owned();
        let report = serde_json::json!({ "step": cp.step, "gate": args.gate, "log": log });
        ui.report(&report, |_| Ok(()))?;
        return Ok(exit::OK);
    }
    // Whole lines only, so that a key split between two reads is still recognised.
    let mut pending = buf;
    let mut print_lines = |pending: &mut Vec<u8>, all: bool| -> std::io::Result<()> {
        let cut = if all {
            pending.len()
        } else {
            pending
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
        };
        let text: Vec<u8> = pending.drain(..cut).collect();
        stdout.write_all(redactor.redact(&String::from_utf8_lossy(&text)).as_bytes())?;
        stdout.flush()
    };
    print_lines(&mut pending, !args.follow)?;
    if args.follow {
        let cp_path = checkpoint::path(&layout, &cp.step);
        loop {
            // Reading on from the end picks up what was appended since.
            let mut more = Vec::new();
            file.read_to_end(&mut more)
                .map_err(|e| Error::io(&path, e))?;
            let got = !more.is_empty();
            pending.extend_from_slice(&more);
            print_lines(&mut pending, false)?;
            let state = Checkpoint::load(&cp_path).map(|c| c.state)?;
            // A step whose owner died still says it runs until a tick reclaims it; its
            // lease tells that nobody writes to the log any more.
            let running = state.is_active() && lease::is_held(&layout, &cp.bead);
            if !got && !running {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        print_lines(&mut pending, true)?;
    }
    Ok(exit::OK)
}

/// The log of a gate command of the step; an unknown name is refused with those it has.
fn gate_log(
    layout: &crate::store::Layout,
    cp: &Checkpoint,
    name: &str,
) -> crate::error::Result<std::path::PathBuf> {
    let path = crate::step::gates::log_path(&crate::step::step_dir(layout, &cp.step), name);
    if path.is_file() {
        return Ok(path);
    }
    let with_logs: Vec<&str> = cp
        .gates
        .iter()
        .filter(|g| !g.log.is_empty())
        .map(|g| g.name.as_str())
        .collect();
    Err(Error::Refused {
        message: format!("{} has no output of a gate named '{name}'", cp.step),
        hint: if with_logs.is_empty() {
            "its gate commands have not run (see `forge steps`)".into()
        } else {
            format!("its gate commands: {}", with_logs.join(", "))
        },
    })
}
