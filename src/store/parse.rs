//! Reading `.forge/` files so that every failure names the file, the line and the fix.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The line (1-based) where a git conflict starts, if the text holds one: a `<<<<<<<`
/// line followed by a `=======` line and then a `>>>>>>>` line. Any one of them alone is
/// ordinary text (a Markdown heading underlined with seven `=` in a description, say), so a
/// bead that says so stays readable.
pub fn find_conflict_marker(text: &str) -> Option<usize> {
    let marker =
        |line: &str, m: &str| line == m || line.strip_prefix(m).is_some_and(|r| r.starts_with(' '));
    let mut start = None;
    let mut middle = false;
    for (i, line) in text.lines().enumerate() {
        if marker(line, "<<<<<<<") {
            start = Some(i + 1);
            middle = false;
        } else if start.is_some() && line == "=======" {
            middle = true;
        } else if middle && marker(line, ">>>>>>>") {
            return start;
        }
    }
    None
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

/// Parses a TOML file into `T`, refusing conflict markers first so that the user hears about
/// the merge rather than about a syntax error it caused.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    if let Some(line) = find_conflict_marker(text) {
        return Err(Error::ConflictMarkers {
            path: path.to_owned(),
            line,
        });
    }
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        Error::Parse {
            path: path.to_owned(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })
}

/// Checks a `schema = N` value read from `path`.
pub fn check_schema(path: &Path, found: i64) -> Result<()> {
    if found < 1 || found > i64::from(super::SCHEMA_VERSION) {
        return Err(Error::SchemaVersion {
            path: path.to_owned(),
            found,
            supported: super::SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// The text of a file under `.forge/` that people write (config, prompt template): never
/// blocks on a FIFO, follows no symbolic link, reads only a regular file, and names the
/// line of any byte that is not UTF-8 (see `store::file`).
pub fn read_to_string(path: &Path) -> Result<String> {
    super::file::read_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_conflicts_not_lookalikes() {
        assert_eq!(
            find_conflict_marker("a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> x\n"),
            Some(2)
        );
        assert_eq!(find_conflict_marker("<<<<<<<\n=======\n>>>>>>>\n"), Some(1));
        assert_eq!(find_conflict_marker("a = \"=======\"\n"), None);
        // A Markdown heading in a multi-line description is text, not a conflict.
        assert_eq!(find_conflict_marker("Title\n=======\nbody\n"), None);
        assert_eq!(find_conflict_marker("<<<<<<< only a start\n"), None);
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn parse_errors_are_located() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: u8,
        }
        let err = parse_toml::<T>(Path::new("f.toml"), "\n\na = \"x\"\n").unwrap_err();
        match err {
            Error::Parse { line, column, .. } => assert_eq!((line, column), (3, 5)),
            other => panic!("{other:?}"),
        }
    }
}
