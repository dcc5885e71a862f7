//! Text rendering shared by several commands.

use std::fmt::{self, Display};
use std::io::{self, Write};

use super::ui::{Painted, Ui};
use crate::bead::graph::Blocker;
use crate::bead::{Bead, BeadSummary, Status};

/// Text from a bead (or a plan, or an agent) as it may be printed on a terminal: control
/// characters are shown, not sent, so that a title cannot move the cursor, recolour or
/// retitle the terminal, or hide the line before it. C0 controls and DEL in caret notation
/// as `cat -v` shows them (ESC is `^[`), C1 controls and the Unicode bidirectional and line
/// separator controls as `\u{202e}`. [`Safe::line`] keeps tabs, [`Safe::text`] newlines
/// too. JSON output never goes through this: it stays exact.
#[derive(Clone, Copy)]
pub struct Safe<'a> {
    text: &'a str,
    newlines: bool,
}

impl<'a> Safe<'a> {
    /// One line: a newline is shown as `^J`.
    pub fn line(text: &'a str) -> Self {
        Safe {
            text,
            newlines: false,
        }
    }

    /// Text that may span lines.
    pub fn text(text: &'a str) -> Self {
        Safe {
            text,
            newlines: true,
        }
    }

    fn shown(self, c: char) -> Option<Escaped> {
        match c {
            '\t' => None,
            '\n' if self.newlines => None,
            '\0'..='\x1f' => Some(Escaped::Caret((c as u8) + 0x40)),
            '\x7f' => Some(Escaped::Caret(b'?')),
            '\u{80}'..='\u{9f}'
            | '\u{200e}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => Some(Escaped::Unicode(c)),
            _ => None,
        }
    }
}

enum Escaped {
    Caret(u8),
    Unicode(char),
}

impl Display for Safe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only these bytes can start a character that is shown escaped: ASCII controls, DEL,
        // the lead byte of U+0080..U+00BF and that of U+2000..U+2FFF. Titles rarely hold
        // any, so a line is usually written in one piece.
        let suspect = |b: &u8| *b < 0x20 || *b == 0x7f || *b == 0xc2 || *b == 0xe2;
        let mut rest = self.text;
        while let Some(i) = rest.as_bytes().iter().position(suspect) {
            let c = rest[i..]
                .chars()
                .next()
                .expect("a character starts at a lead byte");
            let end = i + c.len_utf8();
            match self.shown(c) {
                None => f.write_str(&rest[..end])?,
                Some(e) => {
                    f.write_str(&rest[..i])?;
                    match e {
                        Escaped::Caret(b) => write!(f, "^{}", b as char)?,
                        Escaped::Unicode(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                    }
                }
            }
            rest = &rest[end..];
        }
        f.write_str(rest)
    }
}

/// Coloured text from git (a diff) made safe to print: the colour sequences git writes
/// (SGR, `ESC [ digits m`) pass, every other control character is shown as [`Safe::text`]
/// shows it. A file the agent wrote cannot move the cursor, retitle the terminal or write
/// the clipboard through the approval view; at worst it recolours its own lines.
pub fn safe_coloured(text: &str) -> String {
    static SGR: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let sgr = SGR.get_or_init(|| regex::Regex::new("\x1b\\[[0-9;]*m").expect("a valid regex"));
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in sgr.find_iter(text) {
        out.push_str(&Safe::text(&text[last..m.start()]).to_string());
        out.push_str(m.as_str());
        last = m.end();
    }
    out.push_str(&Safe::text(&text[last..]).to_string());
    out
}

pub fn status(ui: &Ui, status: Status) -> String {
    status_painted(ui, status).to_string()
}

/// The status padded to its column, in its colour.
fn status_painted(ui: &Ui, status: Status) -> Painted<impl Display> {
    let style = match status {
        Status::Open => "\x1b[32m",
        Status::Closed => "\x1b[2m",
        Status::Deferred => "\x1b[35m",
    };
    ui.painted(style, Padded(status.as_str(), 8))
}

/// One line per bead: id, priority, kind, status, title, labels. Written without building
/// strings: `ready` and `list` print thousands of these.
pub fn summary_line(ui: &Ui, out: &mut dyn Write, b: &BeadSummary) -> io::Result<()> {
    write!(
        out,
        "{}  P{}  {}  {}  {}",
        ui.painted("\x1b[33m", Padded(b.id, 9)),
        b.priority,
        Padded(b.kind.as_str(), 7),
        status_painted(ui, b.status),
        Safe::line(b.title)
    )?;
    if !b.labels.is_empty() {
        write!(out, "{}", ui.painted("\x1b[2m", Labels(&b.labels)))?;
    }
    writeln!(out)
}

/// Text left-aligned in a column of `.1` characters.
struct Padded<'a>(&'a str, usize);

impl Display for Padded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SPACES: &str = "                ";
        f.write_str(self.0)?;
        let mut pad = self.1.saturating_sub(self.0.chars().count());
        while pad > 0 {
            let n = pad.min(SPACES.len());
            f.write_str(&SPACES[..n])?;
            pad -= n;
        }
        Ok(())
    }
}

/// `  [a, b]`
struct Labels<'a>(&'a [&'a str]);

impl Display for Labels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("  [")?;
        for (i, label) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            Safe::line(label).fmt(f)?;
        }
        f.write_str("]")
    }
}

pub fn blocker(ui: &Ui, b: &Blocker) -> String {
    match b {
        Blocker::Dependency { id, status } => format!("waits for {} ({status})", ui.id(id)),
        Blocker::MissingDependency { id } => {
            format!("waits for {} (missing: no such bead)", ui.id(id))
        }
        Blocker::DeferredParent { id } => format!("parent {} is deferred", ui.id(id)),
        Blocker::OpenChild { id } => format!("open child {}", ui.id(id)),
    }
}

pub fn bead(ui: &Ui, out: &mut dyn Write, b: &Bead) -> io::Result<()> {
    writeln!(
        out,
        "{}  {}",
        ui.id(&b.id),
        ui.painted("\x1b[1m", Safe::line(&b.title))
    )?;
    writeln!(
        out,
        "  kind: {}  status: {}  priority: P{}  value: {}  risk: {}",
        b.kind, b.status, b.priority, b.value, b.risk
    )?;
    if !b.reason.is_empty() {
        writeln!(out, "  reason: {}", Safe::text(&b.reason))?;
    }
    if !b.labels.is_empty() {
        write!(out, "  labels:")?;
        for (i, label) in b.labels.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(out, "{sep}{}", Safe::line(label))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "  author: {}", Safe::line(&b.author))?;
    write!(out, "  created: {}  updated: {}", b.created, b.updated)?;
    match &b.closed {
        Some(c) => writeln!(out, "  closed: {c}")?,
        None => writeln!(out)?,
    }
    if !b.deps.is_empty() {
        writeln!(out, "  dependencies:")?;
        for d in &b.deps {
            writeln!(out, "    {:<15} {}", d.kind.as_str(), ui.id(&d.id))?;
        }
    }
    if !b.description.is_empty() {
        writeln!(out)?;
        for line in b.description.lines() {
            writeln!(out, "  {}", Safe::line(line))?;
        }
    }
    if !b.acceptance.is_empty() {
        writeln!(out, "\n  acceptance criteria:")?;
        for a in &b.acceptance {
            writeln!(out, "    - {}", Safe::text(a))?;
        }
    }
    Ok(())
}

/// A count with its noun in the right number: "1 step", "2 steps", "0 entries".
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    let consonant_y = noun.strip_suffix('y').is_some_and(|stem| {
        stem.chars()
            .last()
            .is_some_and(|c| !"aeiou".contains(c.to_ascii_lowercase()))
    });
    if consonant_y {
        format!("{n} {}ies", &noun[..noun.len() - 1])
    } else if ["s", "x", "ch", "sh"].iter().any(|e| noun.ends_with(e)) {
        format!("{n} {noun}es")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_colours_pass_and_other_escapes_are_shown() {
        let diff = "\x1b[32m+added\x1b[m\n+\x1b]52;c;cGF3bmVk\x07 \x1b[2J\x1b[1;1H\n";
        let safe = safe_coloured(diff);
        assert!(safe.starts_with("\x1b[32m+added\x1b[m\n"), "{safe:?}");
        assert!(safe.contains("^[]52;c;cGF3bmVk^G"), "{safe:?}");
        // A cursor movement is not a colour: shown, not obeyed.
        assert!(safe.contains("^[[1;1H"), "{safe:?}");
        assert!(!safe.contains("\x07"), "{safe:?}");
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(plural(1, "step"), "1 step");
        assert_eq!(plural(0, "step"), "0 steps");
        assert_eq!(plural(2, "entry"), "2 entries");
        assert_eq!(plural(3, "day"), "3 days");
        assert_eq!(plural(2, "branch"), "2 branches");
        assert_eq!(plural(1, "assumption"), "1 assumption");
    }

    #[test]
    fn control_characters_are_shown_not_sent() {
        let cases = [
            ("plain title", "plain title", "plain title"),
            ("\x1b[31mred\x1b[0m", "^[[31mred^[[0m", "^[[31mred^[[0m"),
            ("a\tb\nc\r", "a\tb^Jc^M", "a\tb\nc^M"),
            (
                "bell\x07 del\x7f nul\0",
                "bell^G del^? nul^@",
                "bell^G del^? nul^@",
            ),
            ("csi\u{9b}31m", "csi\\u{9b}31m", "csi\\u{9b}31m"),
            ("\u{202e}txt.exe", "\\u{202e}txt.exe", "\\u{202e}txt.exe"),
            // Neighbours of the escaped ranges are ordinary text.
            (
                "caf\u{e9} \u{a0}\u{2014}\u{2030}\u{2070}",
                "caf\u{e9} \u{a0}\u{2014}\u{2030}\u{2070}",
                "caf\u{e9} \u{a0}\u{2014}\u{2030}\u{2070}",
            ),
        ];
        for (raw, line, text) in cases {
            assert_eq!(Safe::line(raw).to_string(), line, "{raw:?}");
            assert_eq!(Safe::text(raw).to_string(), text, "{raw:?}");
        }
    }
}
