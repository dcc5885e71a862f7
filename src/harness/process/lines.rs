//! Cutting a byte stream into lines of bounded length.
//!
//! A harness may print a single line of hundreds of megabytes (a tool result, a base64
//! blob). Holding it whole would let one run exhaust forge's memory, so a line longer than
//! [`MAX_LINE_BYTES`] is split: it is delivered (and logged) as consecutive pieces of at most
//! that many bytes, each one a line of its own. Nothing is dropped. A cut never falls inside
//! a UTF-8 character when the bytes are valid UTF-8.

/// The longest line delivered to `on_line`, in bytes (1 MiB).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Accumulates bytes and emits complete lines (without their `\n`, and without a `\r`
/// before it). Invalid UTF-8 is replaced with U+FFFD.
pub(super) struct Splitter {
    pending: Vec<u8>,
    max: usize,
}

impl Splitter {
    pub(super) fn new(max: usize) -> Self {
        assert!(max >= 4, "a line must hold at least one UTF-8 character");
        Splitter {
            pending: Vec::new(),
            max,
        }
    }

    /// Feeds the next bytes of the stream; lines completed by them are pushed to `out`.
    pub(super) fn feed(&mut self, mut data: &[u8], out: &mut Vec<String>) {
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            let line = &data[..i];
            data = &data[i + 1..];
            if self.pending.is_empty() && line.len() <= self.max {
                out.push(text(strip_cr(line).to_vec()));
                continue;
            }
            self.pending.extend_from_slice(line);
            self.cut_pieces(out);
            let mut last = std::mem::take(&mut self.pending);
            if last.last() == Some(&b'\r') {
                last.pop();
            }
            out.push(text(last));
        }
        self.pending.extend_from_slice(data);
        self.cut_pieces(out);
    }

    /// The stream ended: a last line without a newline is still a line.
    pub(super) fn finish(&mut self, out: &mut Vec<String>) {
        if !self.pending.is_empty() {
            out.push(text(std::mem::take(&mut self.pending)));
        }
    }

    /// Emits full-size pieces while more than `max` bytes are pending.
    fn cut_pieces(&mut self, out: &mut Vec<String>) {
        while self.pending.len() > self.max {
            let cut = char_boundary(&self.pending, self.max);
            let rest = self.pending.split_off(cut);
            out.push(text(std::mem::replace(&mut self.pending, rest)));
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The largest cut at or below `max` that does not split a UTF-8 character (`buf` holds more
/// than `max` bytes). Falls back to `max` when the bytes there are not UTF-8 anyway.
fn char_boundary(buf: &[u8], max: usize) -> usize {
    let is_continuation = |b: u8| b & 0xC0 == 0x80;
    let mut cut = max;
    while cut > max - 3 && is_continuation(buf[cut]) {
        cut -= 1;
    }
    if is_continuation(buf[cut]) { max } else { cut }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut s = Splitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn lines_across_chunks_and_a_last_line_without_newline() {
        assert_eq!(
            split(100, &[b"ab", b"c\nde", b"f\n\ng\r\n", b"last"]),
            ["abc", "def", "", "g", "last"]
        );
        assert_eq!(split(100, &[b"x\n"]), ["x"]);
        assert!(split(100, &[]).is_empty());
    }

    #[test]
    fn long_lines_are_split_into_pieces_of_at_most_max_bytes() {
        let line = "a".repeat(25);
        let out = split(10, &[line.as_bytes(), b"\nnext\n"]);
        assert_eq!(
            out,
            ["a".repeat(10), "a".repeat(10), "a".repeat(5), "next".into()]
        );
        // Exactly max bytes is one line, also when the newline comes in a later chunk.
        assert_eq!(split(10, &[&[b'b'; 10], b"\n"]), ["b".repeat(10)]);
        // Pending bytes never grow much beyond max even without any newline.
        let mut s = Splitter::new(10);
        let mut out = Vec::new();
        for _ in 0..100 {
            s.feed(b"cccc", &mut out);
            assert!(s.pending.len() <= 10);
        }
        assert_eq!(out.len(), 39);
        s.finish(&mut out);
        assert_eq!(out.len(), 40);
        assert!(out.iter().all(|p| p == "cccccccccc"));
    }

    #[test]
    fn cuts_do_not_split_utf8_characters_and_bad_bytes_become_replacements() {
        // "é" is two bytes: a cut at 5 would fall inside the third one.
        let out = split(5, &["aaéé".as_bytes(), b"\n"]);
        assert_eq!(out, ["aaé", "é"]);
        assert!(out.iter().all(|p| p.len() <= 5));
        let out = split(8, &["€€€".as_bytes()]);
        assert_eq!(out, ["€€", "€"]);
        assert_eq!(split(100, &[b"bad \xff byte\n"]), ["bad \u{fffd} byte"]);
        assert_eq!(split(4, &[b"\xff\xff\xff\xff\xff\xff"]).len(), 2);
    }
}
