//! Taking a file with git conflict markers apart again: the text each side had, and the
//! base when every hunk carries one (`merge.conflictStyle = diff3` or `zdiff3`, and the
//! hunks forge's merge driver writes).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sides {
    /// None unless every hunk had a `|||||||` section.
    pub base: Option<String>,
    pub ours: String,
    pub theirs: String,
    pub hunks: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Start,
    Base,
    Separator,
    End,
}

fn marker(line: &str) -> Option<Marker> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let is = |prefix: &str| {
        line == prefix
            || line
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(' '))
    };
    if is("<<<<<<<") {
        Some(Marker::Start)
    } else if is("|||||||") {
        Some(Marker::Base)
    } else if line == "=======" {
        Some(Marker::Separator)
    } else if is(">>>>>>>") {
        Some(Marker::End)
    } else {
        None
    }
}

/// The first line (1-based) that [`split`] would take for a conflict marker. A little
/// wider than `store::parse::find_conflict_marker` (a bare `|||||||` counts too), so that
/// the merge never reads a side it could not split again.
pub fn first_marker(text: &str) -> Option<usize> {
    text.split_inclusive('\n')
        .position(|l| marker(l).is_some())
        .map(|i| i + 1)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Common,
    Ours,
    Base,
    Theirs,
}

/// Splits `text` into the sides of its conflicts. A text without markers splits into three
/// equal copies and zero hunks.
pub fn split(text: &str) -> Result<Sides, SplitError> {
    let mut ours = String::new();
    let mut theirs = String::new();
    let mut base = String::new();
    let mut every_hunk_has_base = true;
    let mut hunk_has_base = false;
    let mut hunks = 0;
    let mut state = State::Common;
    let error = |line: usize, message: &str| SplitError {
        line,
        message: message.to_owned(),
    };
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        match (state, marker(line)) {
            (State::Common, Some(Marker::Start)) => {
                state = State::Ours;
                hunk_has_base = false;
                hunks += 1;
            }
            (State::Ours, Some(Marker::Base)) => {
                state = State::Base;
                hunk_has_base = true;
            }
            (State::Ours | State::Base, Some(Marker::Separator)) => {
                state = State::Theirs;
                every_hunk_has_base &= hunk_has_base;
            }
            (State::Theirs, Some(Marker::End)) => state = State::Common,
            (State::Common, None) => {
                ours.push_str(line);
                theirs.push_str(line);
                base.push_str(line);
            }
            (State::Ours, None) => ours.push_str(line),
            (State::Base, None) => base.push_str(line),
            (State::Theirs, None) => theirs.push_str(line),
            (_, Some(Marker::Start)) => {
                return Err(error(
                    n,
                    "nested conflict markers (a merge of merges): resolve this file by hand",
                ));
            }
            (_, Some(_)) => return Err(error(n, "a conflict marker out of order")),
        }
    }
    if state != State::Common {
        return Err(error(
            text.split_inclusive('\n').count(),
            "the file ends inside a conflict",
        ));
    }
    Ok(Sides {
        base: (every_hunk_has_base).then_some(base),
        ours,
        theirs,
        hunks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_merge_style_hunks_without_base() {
        let text = "a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> topic\nd\n";
        let s = split(text).unwrap();
        assert_eq!(s.ours, "a\nb\nd\n");
        assert_eq!(s.theirs, "a\nc\nd\n");
        assert_eq!(s.base, None);
        assert_eq!(s.hunks, 1);
    }

    #[test]
    fn splits_diff3_style_hunks_with_base() {
        let text = "<<<<<<< ours\nb\n||||||| base\na\n=======\nc\n>>>>>>> theirs\n";
        let s = split(text).unwrap();
        assert_eq!(s.base.as_deref(), Some("a\n"));
        assert_eq!((s.ours.as_str(), s.theirs.as_str()), ("b\n", "c\n"));
    }

    #[test]
    fn lookalikes_inside_lines_are_text() {
        let s = split("x = \"=======\"\n").unwrap();
        assert_eq!(s.hunks, 0);
    }

    #[test]
    fn broken_markers_are_located() {
        let err = split("a\n<<<<<<< x\nb\n").unwrap_err();
        assert_eq!(err.line, 3);
        let err = split("a\n=======\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
