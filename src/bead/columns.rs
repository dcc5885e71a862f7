//! Bead summaries in columns: a fixed-width record per bead, one text arena with every
//! string, and a compact stream of string lengths. Reading a summary slices the arena, so
//! its text is checked for UTF-8 once for all beads instead of string by string, and
//! nothing is copied.
//!
//! A bead's strings lie one after the other in the arena: id, title, created, updated,
//! each label, each dependency's id. Its lengths stream holds each of those lengths as a
//! LEB128 varint, with each dependency's kind as one byte after its id's length.

use super::{BeadSummary, DepKind, DepRef, Kind, Risk, Status};

/// kind, status, priority, value, risk (one byte each), three spare bytes, then as u32
/// little-endian: label count, dep count, where the bead's text starts, where its lengths
/// start.
pub const RECORD_LEN: usize = 24;

/// A view of summaries in columns, borrowing from wherever the bytes live.
#[derive(Debug, Clone, Copy, Default)]
pub struct Columns<'a> {
    pub records: &'a [u8],
    pub text: &'a str,
    pub lengths: &'a [u8],
}

impl<'a> Columns<'a> {
    pub fn len(&self) -> usize {
        self.records.len() / RECORD_LEN
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The `i`th summary, or `None` if the columns do not hold a well-formed one there.
    pub fn get(&self, i: usize) -> Option<BeadSummary<'a>> {
        let r = self.records.get(i * RECORD_LEN..(i + 1) * RECORD_LEN)?;
        let labels = read_u32(&r[8..12]);
        let deps = read_u32(&r[12..16]);
        let mut strings = self.strings(r);
        let id = strings.next_str()?;
        let title = strings.next_str()?;
        let created = strings.next_str()?;
        let updated = strings.next_str()?;
        // Counts come from the file: a damaged one must fail, not allocate without bound.
        let mut label_list = Vec::with_capacity(labels.min(self.lengths.len()));
        for _ in 0..labels {
            label_list.push(strings.next_str()?);
        }
        let mut dep_list = Vec::with_capacity(deps.min(self.lengths.len()));
        for _ in 0..deps {
            let id = strings.next_str()?;
            let kind = *DepKind::ALL.get(usize::from(strings.next_byte()?))?;
            dep_list.push(DepRef { id, kind });
        }
        Some(BeadSummary {
            id,
            title,
            kind: *Kind::ALL.get(usize::from(r[0]))?,
            status: *Status::ALL.get(usize::from(r[1]))?,
            priority: r[2],
            value: r[3],
            risk: *Risk::ALL.get(usize::from(r[4]))?,
            labels: label_list,
            created,
            updated,
            deps: dep_list,
        })
    }

    /// The id of the `i`th summary, without reading the rest.
    pub fn id(&self, i: usize) -> Option<&'a str> {
        let r = self.records.get(i * RECORD_LEN..(i + 1) * RECORD_LEN)?;
        self.strings(r).next_str()
    }

    fn strings(&self, record: &[u8]) -> Strings<'a> {
        Strings {
            text: self.text,
            at: read_u32(&record[16..20]),
            lengths: self.lengths,
            next: read_u32(&record[20..24]),
        }
    }
}

/// Reads one bead's strings in order.
struct Strings<'a> {
    text: &'a str,
    at: usize,
    lengths: &'a [u8],
    next: usize,
}

impl<'a> Strings<'a> {
    fn next_byte(&mut self) -> Option<u8> {
        let b = *self.lengths.get(self.next)?;
        self.next += 1;
        Some(b)
    }

    fn next_str(&mut self) -> Option<&'a str> {
        let len = self.next_len()?;
        let s = self.text.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(s)
    }

    fn next_len(&mut self) -> Option<usize> {
        let mut len = 0usize;
        for shift in [0, 7, 14, 21, 28] {
            let b = self.next_byte()?;
            len |= usize::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(len);
            }
        }
        None
    }
}

fn read_u32(b: &[u8]) -> usize {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
}

/// Summaries being put into columns.
#[derive(Debug, Default)]
pub struct ColumnsBuf {
    records: Vec<u8>,
    text: String,
    lengths: Vec<u8>,
}

/// More than 4 GiB of text or lengths in one set of columns.
#[derive(Debug)]
pub struct TooLarge;

impl ColumnsBuf {
    pub fn push(&mut self, s: &BeadSummary) -> Result<(), TooLarge> {
        let offset = |n: usize| u32::try_from(n).map_err(|_| TooLarge);
        let (labels, deps) = (offset(s.labels.len())?, offset(s.deps.len())?);
        let (text_start, lengths_start) = (offset(self.text.len())?, offset(self.lengths.len())?);
        for string in [s.id, s.title, s.created, s.updated]
            .into_iter()
            .chain(s.labels.iter().copied())
        {
            self.push_str(string);
        }
        for dep in &s.deps {
            self.push_str(dep.id);
            self.lengths.push(index_of(DepKind::ALL, dep.kind));
        }
        offset(self.text.len())?;
        offset(self.lengths.len())?;
        self.records.extend_from_slice(&[
            index_of(Kind::ALL, s.kind),
            index_of(Status::ALL, s.status),
            s.priority,
            s.value,
            index_of(Risk::ALL, s.risk),
            0,
            0,
            0,
        ]);
        for n in [labels, deps, text_start, lengths_start] {
            self.records.extend_from_slice(&n.to_le_bytes());
        }
        Ok(())
    }

    fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
        let mut len = s.len();
        while len >= 0x80 {
            self.lengths.push((len & 0x7f) as u8 | 0x80);
            len >>= 7;
        }
        self.lengths.push(len as u8);
    }

    pub fn columns(&self) -> Columns<'_> {
        Columns {
            records: &self.records,
            text: &self.text,
            lengths: &self.lengths,
        }
    }
}

fn index_of<T: PartialEq>(all: &[T], value: T) -> u8 {
    all.iter()
        .position(|v| *v == value)
        .expect("a variant of its own enum") as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary<'a>(id: &'a str, labels: Vec<&'a str>, deps: Vec<DepRef<'a>>) -> BeadSummary<'a> {
        BeadSummary {
            id,
            title: "Fix the parser: ünïcode",
            kind: Kind::Epic,
            status: Status::Deferred,
            priority: 4,
            value: 100,
            risk: Risk::High,
            labels,
            created: "2026-11-21T00:00:00Z",
            updated: "2026-11-22T00:00:00Z",
            deps,
        }
    }

    fn dep(id: &str, kind: DepKind) -> DepRef<'_> {
        DepRef { id, kind }
    }

    #[test]
    fn summaries_come_back_as_they_went_in() {
        let long = "x".repeat(70_000);
        let mut with_long_title = summary("fg-l", vec![], vec![]);
        with_long_title.title = &long;
        let all = [
            summary("fg-a", vec![], vec![]),
            summary(
                "fg-b",
                vec!["x", "", "yz"],
                vec![
                    dep("fg-a", DepKind::Parent),
                    dep("fg-c", DepKind::DiscoveredFrom),
                ],
            ),
            with_long_title,
            summary("", vec![""], vec![dep("", DepKind::Blocks)]),
        ];
        let mut buf = ColumnsBuf::default();
        for s in &all {
            buf.push(s).unwrap();
        }
        let columns = buf.columns();
        assert_eq!(columns.len(), all.len());
        for (i, s) in all.iter().enumerate() {
            assert_eq!(columns.get(i).as_ref(), Some(s));
            assert_eq!(columns.id(i), Some(s.id));
        }
        assert_eq!(columns.get(all.len()), None);
    }

    #[test]
    fn damaged_columns_read_as_none_not_as_a_panic() {
        let mut buf = ColumnsBuf::default();
        buf.push(&summary(
            "fg-a",
            vec!["l"],
            vec![dep("fg-b", DepKind::Blocks)],
        ))
        .unwrap();
        let good = buf.columns();
        assert!(good.get(0).is_some());
        let mut records = Vec::new();
        for (at, value) in [
            (0, 200),
            (1, 9),
            (4, 3),
            (8, 0xff),
            (11, 0xff),
            (13, 0x10),
            (16, 99),
            (20, 99),
        ] {
            let mut r = good.records.to_vec();
            r[at] = value;
            records.push(r);
        }
        for r in &records {
            assert_eq!(Columns { records: r, ..good }.get(0), None);
        }
        let reads = |lengths: &[u8]| Columns { lengths, ..good }.get(0).is_some();
        let mut lengths = good.lengths.to_vec();
        let last = lengths.len() - 1;
        lengths[last] = 17; // no such dep kind
        assert!(!reads(&lengths));
        lengths[0] = 0xff; // a length that never ends
        lengths[1] = 0xff;
        assert!(!reads(&lengths));
        assert!(!reads(&[]));
        assert_eq!(Columns { text: "fg", ..good }.get(0), None);
    }
}
