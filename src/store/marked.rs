//! A block of lines that forge owns inside a text file it shares with people (a git hook,
//! the user's crontab): it starts with a begin marker line and ends with an end marker
//! line. These functions find, replace and remove such a block and leave every other byte
//! of the text as it was, line endings included, so that removing what was added gives
//! back the original text exactly.

use std::ops::Range;

/// The marker lines of one kind of block. A line is a marker when, without its line ending
/// (`\n` or `\r\n`), it is the marker or the marker followed by a space and more words.
#[derive(Debug, Clone, Copy)]
pub struct Markers<'a> {
    pub begin: &'a str,
    pub end: &'a str,
}

fn is_marker(line: &str, marker: &str) -> bool {
    let bare = line.trim_end_matches(['\n', '\r']);
    bare.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

/// Each line of `text` with its byte offset, line endings included.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, line| {
        let at = *offset;
        *offset += line.len();
        Some((at, line))
    })
}

/// The byte range of the first block, from the start of its begin line to the end of its
/// end line (line ending included); `None` without a complete one.
pub fn find(text: &str, markers: Markers) -> Option<Range<usize>> {
    let mut start = None;
    for (at, line) in lines(text) {
        match start {
            None if is_marker(line, markers.begin) => start = Some(at),
            Some(s) if is_marker(line, markers.end) => return Some(s..at + line.len()),
            _ => {}
        }
    }
    None
}

/// The lines between the markers of the block at `range` (from [`find`]), without their
/// line endings.
pub fn inner_lines(text: &str, range: Range<usize>) -> impl Iterator<Item = &str> {
    let block = &text[range];
    let mut all = block.lines();
    all.next();
    all.next_back();
    all
}

/// `text` with the block at `range` replaced by `block`.
pub fn replace(text: &str, range: Range<usize>, block: &str) -> String {
    format!("{}{block}{}", &text[..range.start], &text[range.end..])
}

/// `text` without any of its blocks; everything else byte for byte. A begin marker whose
/// end marker is missing takes the rest of the text with it (the block was cut short).
pub fn remove_all(text: &str, markers: Markers) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for (_, line) in lines(text) {
        if !inside && is_marker(line, markers.begin) {
            inside = true;
        } else if inside && is_marker(line, markers.end) {
            inside = false;
        } else if !inside {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Markers = Markers {
        begin: "# >>> x >>>",
        end: "# <<< x <<<",
    };

    #[test]
    fn a_block_is_found_replaced_and_removed_byte_for_byte() {
        let user = "a\r\nb\n\nc";
        let block = "# >>> x >>> note\r\ninside\n# <<< x <<<\r\n";
        let text = format!("a\r\nb\n{block}\nc");
        let range = find(&text, M).unwrap();
        assert_eq!(&text[range.clone()], block);
        assert_eq!(
            inner_lines(&text, range.clone()).collect::<Vec<_>>(),
            ["inside"]
        );
        assert_eq!(replace(&text, range, ""), user);
        assert_eq!(remove_all(&text, M), user);
        assert_eq!(remove_all(user, M), user);
    }

    #[test]
    fn only_whole_marker_lines_count() {
        assert!(find("# >>> x >>>y\n# <<< x <<<\n", M).is_none());
        assert!(find("# >>> x >>>\nno end\n", M).is_none());
        assert_eq!(remove_all("keep\n# >>> x >>>\ncut short", M), "keep\n");
        let two = "1\n# >>> x >>>\n# <<< x <<<\n2\n# >>> x >>>\n# <<< x <<<\n3\n";
        assert_eq!(remove_all(two, M), "1\n2\n3\n");
    }
}
