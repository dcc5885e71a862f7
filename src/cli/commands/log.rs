use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use crate::cli::render::Safe;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::harness::adapter::{Adapter, Event, Stream};
use crate::step::checkpoint::{self, Checkpoint};
use crate::step::lease;
use crate::step::log_path;

/// Show what a step's harness said and did
///
/// A transcript read from the harness's output through its preset's parser: the agent's
/// messages, its tool calls and what they returned, errors and how the run ended, one per
/// line or block. --raw prints the output as the harness wrote it (stream-json for most
/// presets). The raw output lives under the git directory (never in .forge/): it may hold
/// secrets, so what is printed goes through the same redactor as everything else forge
/// prints.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Step id (fg-3k9x.1), or a bead id for its latest step
    pub step: String,
    /// Keep printing new output until the step stops running (raw output, as with --raw)
    #[arg(short, long)]
    pub follow: bool,
    /// Print the harness's output as it wrote it instead of the transcript
    #[arg(long)]
    pub raw: bool,
    /// Show the whole output of this gate command instead (a name from `[[gates]]`)
    #[arg(long, value_name = "NAME", conflicts_with = "follow")]
    pub gate: Option<String>,
}

pub fn run(helper: &CommandHelper, args: Args) -> CommandResult {
    let ui = helper.ui();
    let layout = helper.layout()?;
    let cp = checkpoint::resolve(&checkpoint::load_all(layout)?, &args.step)?;
    let path = match &args.gate {
        None => log_path(layout, &cp.step),
        Some(name) => gate_log(layout, &cp, name)?,
    };
    let mut file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let mut stdout = std::io::stdout().lock();
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)
        .map_err(|e| Error::io(&path, e))?;
    let redactor = ui.redactor();
    let adapter = crate::harness::presets::by_name(&cp.preset);
    if ui.json {
        let log = redactor.redact(&String::from_utf8_lossy(&buf)).into_owned();
        let mut report = serde_json::json!({ "step": cp.step, "gate": args.gate, "log": log });
        if let (None, Some(adapter)) = (&args.gate, adapter) {
            let lines: Vec<String> = transcript(adapter, &log)
                .iter()
                .map(|l| redactor.redact(l).into_owned())
                .collect();
            report["transcript"] = serde_json::json!(lines);
        }
        ui.report(&report, |_| Ok(()))?;
        return Ok(exit::OK);
    }
    if let (false, false, None, Some(adapter)) = (args.raw, args.follow, &args.gate, adapter) {
        let lines = shown_transcript(redactor, adapter, &buf);
        if lines.is_empty() {
            ui.status(&format!(
                "{}: the harness said nothing forge can read (`--raw` shows its output)",
                cp.step
            ));
        }
        for line in lines {
            writeln!(stdout, "{line}").map_err(|e| Error::io("<stdout>", e))?;
        }
        stdout.flush().map_err(|e| Error::io("<stdout>", e))?;
        return Ok(exit::OK);
    }
    // Whole lines only, so that a key split between two reads is still recognised. On a
    // terminal only colour passes: a harness or gate that printed escape sequences (clear
    // the screen, retitle it, write the clipboard) does not get to send them; into a file or
    // a pipe the log goes as it is.
    let terminal = stdout.is_terminal();
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
        let text = redactor
            .redact(&String::from_utf8_lossy(&text))
            .into_owned();
        let text = if terminal {
            crate::cli::render::safe_coloured(&text)
        } else {
            text
        };
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    };
    print_lines(&mut pending, !args.follow)?;
    if args.follow {
        let cp_path = checkpoint::path(layout, &cp.step);
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
            let running = state.is_active() && lease::is_held(layout, &cp.bead);
            if !got && !running {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        print_lines(&mut pending, true)?;
    }
    Ok(exit::OK)
}

/// The transcript of a harness's raw output as `forge log STEP` prints it (and `forge
/// watch` pages it): redacted before parsing (whole lines, as the harness wrote them) and
/// after (a value the parser decoded from an escaped form), and made safe to show on a
/// terminal: what an agent says may hold escape sequences.
pub fn shown_transcript(
    redactor: &crate::redact::Redactor,
    adapter: &dyn Adapter,
    raw: &[u8],
) -> Vec<String> {
    let log = redactor.redact(&String::from_utf8_lossy(raw)).into_owned();
    transcript(adapter, &log)
        .iter()
        .map(|line| Safe::text(&redactor.redact(line)).to_string())
        .collect()
}

/// The most lines of a tool's result a transcript shows.
const RESULT_LINES: usize = 12;

/// A harness log as a person reads it: each line of it through the preset's parser (which
/// cannot tell stdout from stderr here: the log interleaves them), every event a line or a
/// block. A line the parser makes nothing of is kept as it is, unless it is JSON (events
/// the transcript has no use for: usage, bookkeeping).
pub fn transcript(adapter: &dyn Adapter, log: &str) -> Vec<String> {
    // A transcript shows no reset times, the one thing parsers date by the clock.
    let mut parser = adapter.parser(&crate::clock::Clock::default());
    let mut out = Vec::new();
    let mut said = Said::default();
    for line in log.lines() {
        let events = parser.line(Stream::Stdout, line);
        if events.is_empty() {
            let text = line.trim_end();
            if !text.trim().is_empty() && !text.trim_start().starts_with(['{', '[']) {
                out.push(format!("  | {text}"));
            }
        }
        for event in events {
            said.event(&event, &mut out);
        }
    }
    for event in parser.finish() {
        said.event(&event, &mut out);
    }
    out
}

/// What the transcript said already, so that a repeated session, model or final text
/// is not said twice.
#[derive(Default)]
struct Said {
    session: String,
    model: String,
    message: String,
}

impl Said {
    fn event(&mut self, event: &Event, out: &mut Vec<String>) {
        match event {
            Event::Session { id } if *id != self.session => {
                self.session = id.clone();
                out.push(format!("session: {id}"));
            }
            Event::Model { name } if *name != self.model => {
                self.model = name.clone();
                out.push(format!("model: {name}"));
            }
            Event::Message { text } => {
                self.message = text.trim().to_owned();
                out.push(block("agent: ", text, usize::MAX));
            }
            Event::ToolCall { name, detail } => {
                out.push(format!("tool: {name} {detail}").trim_end().to_owned());
            }
            Event::ToolResult { ok, text } => {
                let head = if *ok { "  => " } else { "  => FAILED: " };
                let text = if text.trim().is_empty() {
                    "(nothing)"
                } else {
                    text
                };
                out.push(block(head, text, RESULT_LINES));
            }
            Event::Error { message } => out.push(block("error: ", message, usize::MAX)),
            Event::AuthError { message } => {
                out.push(block("auth error: ", message, usize::MAX));
            }
            Event::RateLimit { message, .. } => {
                out.push(block("rate limited: ", message, usize::MAX));
            }
            Event::PermissionDenied { tool } => out.push(format!("denied: {tool}")),
            Event::Result { ok, text } => {
                let verdict = if *ok { "end: ok" } else { "end: failed" };
                if text.trim().is_empty() || text.trim() == self.message {
                    out.push(verdict.to_owned());
                } else {
                    out.push(block(&format!("{verdict}: "), text, usize::MAX));
                }
            }
            Event::Plan { entries } => out.push(block("plan: ", &entries.join("\n"), usize::MAX)),
            Event::Permission { decision } => {
                let r = &decision.request;
                let what = r.command.as_deref().unwrap_or(&r.title);
                out.push(format!(
                    "permission: {:?} {} {what} (rule {})",
                    decision.outcome, r.kind, decision.rule
                ));
            }
            Event::FileWritten { path, bytes } => {
                out.push(format!("wrote: {path} ({bytes} bytes)"))
            }
            Event::Session { .. } | Event::Model { .. } | Event::Usage { .. } => {}
            Event::Cost { .. } => {}
        }
    }
}

/// `text` after `head`, its further lines indented under the first; at most `max` lines.
fn block(head: &str, text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let indent = " ".repeat(head.chars().count());
    let mut out = String::new();
    for (i, line) in lines.iter().take(max).enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&indent);
        }
        out.push_str(if i == 0 { line.trim_start() } else { line });
    }
    if lines.len() > max {
        out.push_str(&format!("\n{indent}({} more lines)", lines.len() - max));
    }
    format!("{head}{out}")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/harness-output")
            .join(rel);
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn a_claude_stream_reads_as_messages_tools_and_their_results() {
        let claude = crate::harness::presets::by_name("claude").unwrap();
        let lines = transcript(claude, &fixture("claude/real-edit.jsonl"));
        let text = lines.join("\n");
        eprintln!("{text}");
        assert!(lines.iter().any(|l| l.starts_with("agent: ")), "{text}");
        assert!(lines.iter().any(|l| l.starts_with("tool: ")), "{text}");
        assert!(lines.iter().any(|l| l.starts_with("  => ")), "{text}");
        assert!(lines.last().unwrap().starts_with("end: ok"), "{text}");
        assert!(!text.contains("\"type\""), "{text}");
    }

    #[test]
    fn a_codex_stream_shows_command_output() {
        let codex = crate::harness::presets::by_name("codex").unwrap();
        let lines = transcript(codex, &fixture("codex/success.jsonl"));
        let text = lines.join("\n");
        eprintln!("{text}");
        assert!(lines.iter().any(|l| l.starts_with("tool: shell")), "{text}");
        assert!(
            lines.iter().any(|l| l == "  => README.md\n     src"),
            "{text}"
        );
    }

    #[test]
    fn long_results_are_cut_and_blocks_indented() {
        let many: Vec<String> = (1..=20).map(|i| format!("line {i}")).collect();
        let shown = block("  => ", &many.join("\n"), 3);
        assert_eq!(
            shown,
            "  => line 1\n     line 2\n     line 3\n     (17 more lines)"
        );
        assert_eq!(
            block("agent: ", "one\ntwo", usize::MAX),
            "agent: one\n       two"
        );
    }
}
