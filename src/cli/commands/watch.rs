use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

use crate::cli::ui::Ui;
use crate::cli::{CommandHelper, CommandResult};
use crate::error::{Error, exit};
use crate::step::checkpoint;
use crate::watch::model::{Snapshot, Watcher};
use crate::watch::view::{self, ViewState};

/// Watch what forge is doing here, live, on a full screen
///
/// Running steps (harness, phase, elapsed time, the last tool call or message, tokens and
/// cost so far), steps waiting for approval (risk, gates, predicted conflicts), failed steps
/// whose bead is still open, the ready queue, today's spend against [budget], and whether
/// `forge tick` is paused or its circuit breaker tripped. It reads the same files and step
/// logs as `forge status` and `forge log` (there is no daemon) and refreshes every second
/// (predicted conflicts and the spend every few seconds).
///
/// Keys: Up/Down or j/k select a step; l shows its log as `forge log STEP` does, through
/// $PAGER; a reviews the selected waiting step exactly as `forge approve STEP` does (the
/// approval is bound to the head you review), then comes back; q, Esc or Ctrl-C quits.
/// Needs a terminal (stdin and stdout); elsewhere, use `forge status`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// How often the screen is gathered anew.
const REFRESH: Duration = Duration::from_secs(1);

fn no_terminal() -> Error {
    Error::NeedsHuman {
        message: "`forge watch` is a full-screen view and needs a terminal".into(),
        hint: "use `forge status` (or `forge --json status`) where there is none".into(),
    }
}

fn term_error(e: std::io::Error) -> Error {
    Error::io("<terminal>", e)
}

pub fn run(helper: &CommandHelper, _args: Args) -> CommandResult {
    let ui = helper.ui();
    if ui.json || !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(no_terminal().into());
    }
    let ws = helper.workspace()?;
    ui.set_redactor(ws.redactor.clone());
    let mut watcher = Watcher::new(&ws)?;
    drop(ws);
    let mut state = ViewState::default();
    let interrupted = crate::harness::process::interrupt_flag();
    let mut screen = Screen::enter()?;
    let mut snap = watcher.refresh();
    let mut next = Instant::now() + REFRESH;
    loop {
        keep_selection(&snap, &mut state);
        screen
            .terminal
            .draw(|f| view::render(f, &snap, &state))
            .map_err(term_error)?;
        if interrupted.load(Ordering::Relaxed) {
            drop(screen);
            return Ok(exit::INTERRUPTED);
        }
        let wait = next.saturating_duration_since(Instant::now());
        // Short waits, so that a signal (SIGTERM, SIGHUP) is seen soon.
        if event::poll(wait.min(Duration::from_millis(250))).map_err(term_error)? {
            let Event::Key(key) = event::read().map_err(term_error)? else {
                continue; // a resize: drawn again at once
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            state.message.clear();
            let ctrl_c =
                key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
            match key.code {
                KeyCode::Char('q') | KeyCode::Esc => break,
                _ if ctrl_c => break,
                KeyCode::Up | KeyCode::Char('k') => select(&snap, &mut state, -1),
                KeyCode::Down | KeyCode::Char('j') => select(&snap, &mut state, 1),
                KeyCode::Char('l') => {
                    if let Some(step) = state.selected.clone() {
                        screen.suspend()?;
                        state.message = show_log(ui, &watcher, &step);
                        screen.resume()?;
                        // The pager may have been open for minutes.
                        snap = watcher.refresh();
                        next = Instant::now() + REFRESH;
                    } else {
                        state.message = "select a step first (Up/Down)".into();
                    }
                }
                KeyCode::Char('a') => match state.selected.clone() {
                    Some(step) if snap.is_waiting(&step) => {
                        screen.suspend()?;
                        state.message = approve(helper, &step);
                        screen.resume()?;
                        snap = watcher.refresh();
                        next = Instant::now() + REFRESH;
                    }
                    Some(step) => {
                        state.message =
                            format!("{step} does not wait for approval: nothing to approve")
                    }
                    None => state.message = "select a step waiting for approval first".into(),
                },
                _ => {}
            }
        }
        if Instant::now() >= next {
            snap = watcher.refresh();
            next = Instant::now() + REFRESH;
        }
    }
    drop(screen);
    Ok(exit::OK)
}

/// Keeps the selection on a step that is still shown (else the first one, if any).
fn keep_selection(snap: &Snapshot, state: &mut ViewState) {
    let steps = snap.steps();
    if !state
        .selected
        .as_deref()
        .is_some_and(|s| steps.contains(&s))
    {
        state.selected = steps.first().map(|s| (*s).to_owned());
    }
}

fn select(snap: &Snapshot, state: &mut ViewState, by: isize) {
    let steps = snap.steps();
    if steps.is_empty() {
        return;
    }
    let at = state
        .selected
        .as_deref()
        .and_then(|s| steps.iter().position(|x| *x == s))
        .unwrap_or(0) as isize;
    let to = (at + by).clamp(0, steps.len() as isize - 1) as usize;
    state.selected = Some(steps[to].to_owned());
}

/// The selected step's log, as `forge log STEP` shows it, through the pager (printed, and
/// waited on, when there is none). Returns the line to show on coming back.
fn show_log(ui: &Ui, watcher: &Watcher, step: &str) -> String {
    let layout = watcher.layout();
    let found = checkpoint::load_all(layout).and_then(|all| checkpoint::resolve(&all, step));
    let cp = match found {
        Ok(cp) => cp,
        Err(e) => return ui.redactor().redact(&e.to_string()).into_owned(),
    };
    let path = crate::step::log_path(layout, &cp.step);
    let raw = match std::fs::read(&path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return format!("{step} has no harness output yet");
        }
        Err(e) => {
            return ui
                .redactor()
                .redact(&Error::io(&path, e).to_string())
                .into_owned();
        }
    };
    let redactor = ui.redactor();
    let text = match crate::harness::presets::by_name(&cp.preset) {
        Some(adapter) => {
            let lines = super::log::shown_transcript(redactor, adapter, &raw);
            if lines.is_empty() {
                return format!(
                    "{step}: the harness said nothing forge can read (`forge log {step} --raw`)"
                );
            }
            lines.join("\n") + "\n"
        }
        None => crate::cli::render::Safe::text(&redactor.redact(&String::from_utf8_lossy(&raw)))
            .to_string(),
    };
    if !crate::cli::prompt::page(&text) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        wait_for_enter();
    }
    String::new()
}

/// `forge approve STEP` on the plain terminal; its outcome stays on screen until Enter.
fn approve(helper: &CommandHelper, step: &str) -> String {
    let ui = helper.ui();
    let args = super::approve::Args {
        step: Some(step.to_owned()),
        yes: false,
        head: None,
    };
    let message = match super::approve::run(helper, args) {
        Ok(_) => String::new(),
        Err(crate::cli::CommandError::Forge(e)) => {
            ui.error(&e);
            format!("{step}: not approved")
        }
        Err(crate::cli::CommandError::Output(e)) => {
            ui.error(&Error::io("<stdout>", e));
            format!("{step}: not approved")
        }
    };
    wait_for_enter();
    message
}

fn wait_for_enter() {
    eprint!("\nPress Enter to go back to forge watch ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// The full screen: raw mode and the alternate screen while it lives, the terminal as it
/// was when it is dropped (also when forge panics: see [`Screen::enter`]).
struct Screen {
    terminal: Terminal<CrosstermBackend<std::io::Stdout>>,
}

impl Screen {
    fn enter() -> crate::Result<Screen> {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        let mut screen = Screen {
            terminal: Screen::terminal()?,
        };
        screen.resume()?;
        Ok(screen)
    }

    /// Back to the plain terminal (for the pager or the approval prompt).
    fn suspend(&mut self) -> crate::Result<()> {
        restore();
        Ok(())
    }

    /// Full screen again, drawn anew from a blank one. (Not `Terminal::clear`, which asks
    /// the terminal where its cursor is and fails where nothing answers.)
    fn resume(&mut self) -> crate::Result<()> {
        enable_raw_mode().map_err(term_error)?;
        execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            cursor::Hide,
            Clear(ClearType::All)
        )
        .map_err(term_error)?;
        self.terminal = Screen::terminal()?;
        Ok(())
    }

    fn terminal() -> crate::Result<Terminal<CrosstermBackend<std::io::Stdout>>> {
        Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(term_error)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), LeaveAlternateScreen, cursor::Show);
}
