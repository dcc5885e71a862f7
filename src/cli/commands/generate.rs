//! `forge generate`: man pages and shell completions, produced from the clap definition so
//! they can never drift from it. The committed copies under `man/` and `completions/` are
//! checked against this output by a test.

use std::fs;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CommandHelper, CommandResult};
use crate::error::{Error, exit};

/// Write man pages and shell completions (for packagers and the repository's own copies)
///
/// Writes DIR/man/ (forge.1, a page for each command, and forge-config.5, the reference of
/// .forge/config.toml) and DIR/completions/ (forge.bash, _forge for zsh, forge.fish).
///
/// After `cargo install`, install them for yourself like this:
///
///   forge generate --out /tmp/forge-docs && cd /tmp/forge-docs
///   mkdir -p ~/.local/share/man/man1 ~/.local/share/man/man5
///   cp man/*.1 ~/.local/share/man/man1/ && cp man/*.5 ~/.local/share/man/man5/
///
///   # bash (bash-completion 2 loads it on first use):
///   mkdir -p ~/.local/share/bash-completion/completions
///   cp completions/forge.bash ~/.local/share/bash-completion/completions/forge
///   # zsh (a directory on $fpath; in ~/.zshrc, before compinit: fpath=(~/.zfunc $fpath)):
///   mkdir -p ~/.zfunc && cp completions/_forge ~/.zfunc/
///   # fish:
///   mkdir -p ~/.config/fish/completions && cp completions/forge.fish ~/.config/fish/completions/
///
/// If `man forge` then finds nothing, add the directory to MANPATH (the trailing colon keeps
/// the system's pages): export MANPATH="$HOME/.local/share/man:"
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Directory to write man/ and completions/ into
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Every generated file: (path relative to the output dir, contents).
pub fn files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let cmd = Cli::command();
    man_pages(&cmd, "forge", &mut out);
    out.push((
        Path::new("man").join("forge-config.5"),
        crate::config_reference::man_page().into_bytes(),
    ));
    for shell in SHELLS {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "forge", &mut buf);
        let name = match shell {
            Shell::Bash => "forge.bash",
            Shell::Zsh => "_forge",
            _ => "forge.fish",
        };
        out.push((Path::new("completions").join(name), buf));
    }
    out
}

fn man_pages(cmd: &clap::Command, name: &str, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    if cmd.is_hide_set() {
        return;
    }
    let cmd = cmd.clone().name(name.to_owned());
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .expect("rendering to memory cannot fail");
    if name == "forge" {
        buf.extend_from_slice(
            b".SH \"SEE ALSO\"\n\\fBforge\\-config\\fR(5): the settings in .forge/config.toml; \
              the page of each command, forge\\-COMMAND(1)\n",
        );
    }
    out.push((Path::new("man").join(format!("{name}.1")), buf));
    for sub in cmd.get_subcommands() {
        if sub.get_name() != "help" {
            man_pages(sub, &format!("{name}-{}", sub.get_name()), out);
        }
    }
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let files = files();
    for (rel, contents) in &files {
        let path = args.out.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        fs::write(&path, contents).map_err(|e| Error::io(&path, e))?;
    }
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    ui.report(&names, |out| writeln!(out, "wrote {} files", names.len()))?;
    Ok(exit::OK)
}
