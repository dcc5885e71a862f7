//! A line-based three-way merge (diff3), for text fields that both sides changed and for
//! whole files that do not parse. Regions that only one side changed take that change;
//! regions both changed the same way are taken once; regions both changed differently are
//! conflicts.

/// One piece of a merged text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk<'a> {
    Clean(Vec<&'a str>),
    Conflict {
        base: Vec<&'a str>,
        ours: Vec<&'a str>,
        theirs: Vec<&'a str>,
    },
}

/// Above this many cells of the LCS table, texts are not merged line by line: every
/// difference is one conflict. Real descriptions are far below it.
const MAX_CELLS: usize = 4_000_000;

/// Splits after each `\n`, keeping it, so that joining the lines gives the text back.
pub fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// For each line of `a`, the index of the line of `b` it is matched with in a longest
/// common subsequence, if any.
fn lcs_matches(a: &[&str], b: &[&str]) -> Option<Vec<Option<usize>>> {
    // Common prefix and suffix first: most edits touch a few lines in the middle.
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out = vec![None; a.len()];
    for (i, slot) in out.iter_mut().enumerate().take(prefix) {
        *slot = Some(i);
    }
    for k in 0..suffix {
        out[a.len() - 1 - k] = Some(b.len() - 1 - k);
    }
    let (n, m) = (am.len(), bm.len());
    if n == 0 || m == 0 {
        return Some(out);
    }
    if (n + 1).saturating_mul(m + 1) > MAX_CELLS {
        return None;
    }
    // table[i][j]: length of the LCS of am[i..] and bm[j..].
    let width = m + 1;
    let mut table = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i * width + j] = if am[i] == bm[j] {
                table[(i + 1) * width + j + 1] + 1
            } else {
                table[(i + 1) * width + j].max(table[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if am[i] == bm[j] {
            out[prefix + i] = Some(prefix + j);
            i += 1;
            j += 1;
        } else if table[(i + 1) * width + j] >= table[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    Some(out)
}

/// Merges `ours` and `theirs`, both derived from `base`, line by line.
pub fn diff3<'a>(base: &'a str, ours: &'a str, theirs: &'a str) -> Vec<Chunk<'a>> {
    let (o, a, b) = (split_lines(base), split_lines(ours), split_lines(theirs));
    let (Some(ma), Some(mb)) = (lcs_matches(&o, &a), lcs_matches(&o, &b)) else {
        return vec![resolve(&o, &a, &b)];
    };
    let mut chunks: Vec<Chunk<'a>> = Vec::new();
    let (mut io, mut ia, mut ib) = (0, 0, 0);
    let push_clean = |chunks: &mut Vec<Chunk<'a>>, line: &'a str| match chunks.last_mut() {
        Some(Chunk::Clean(lines)) => lines.push(line),
        _ => chunks.push(Chunk::Clean(vec![line])),
    };
    loop {
        // The next base line that both sides kept.
        let stable = (io..o.len()).find(|&j| ma[j].is_some() && mb[j].is_some());
        match stable {
            Some(j) if j == io && ma[j] == Some(ia) && mb[j] == Some(ib) => {
                push_clean(&mut chunks, o[j]);
                io += 1;
                ia += 1;
                ib += 1;
            }
            Some(j) => {
                let (ja, jb) = (ma[j].unwrap_or(ia), mb[j].unwrap_or(ib));
                match resolve(&o[io..j], &a[ia..ja], &b[ib..jb]) {
                    Chunk::Clean(lines) => {
                        lines.into_iter().for_each(|l| push_clean(&mut chunks, l))
                    }
                    conflict => chunks.push(conflict),
                }
                (io, ia, ib) = (j, ja, jb);
            }
            None => {
                if io < o.len() || ia < a.len() || ib < b.len() {
                    match resolve(&o[io..], &a[ia..], &b[ib..]) {
                        Chunk::Clean(lines) => {
                            lines.into_iter().for_each(|l| push_clean(&mut chunks, l))
                        }
                        conflict => chunks.push(conflict),
                    }
                }
                return chunks;
            }
        }
    }
}

fn resolve<'a>(o: &[&'a str], a: &[&'a str], b: &[&'a str]) -> Chunk<'a> {
    if a == o {
        Chunk::Clean(b.to_vec())
    } else if b == o || a == b {
        Chunk::Clean(a.to_vec())
    } else {
        Chunk::Conflict {
            base: o.to_vec(),
            ours: a.to_vec(),
            theirs: b.to_vec(),
        }
    }
}

/// The merged text if no chunk conflicts.
pub fn merge_clean(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let mut out = String::new();
    for chunk in diff3(base, ours, theirs) {
        match chunk {
            Chunk::Clean(lines) => lines.iter().for_each(|l| out.push_str(l)),
            Chunk::Conflict { .. } => return None,
        }
    }
    Some(out)
}

/// Conflict marker lines, as git writes them (diff3 style: with the base).
pub const OURS_MARKER: &str = "<<<<<<< ours";
pub const BASE_MARKER: &str = "||||||| base";
pub const SEPARATOR: &str = "=======";
pub const THEIRS_MARKER: &str = ">>>>>>> theirs";

/// Appends `lines` to `out`, ending the last one with a newline if it has none, so that a
/// marker never lands on the same line as text.
fn push_block(out: &mut String, lines: &[&str]) {
    for l in lines {
        out.push_str(l);
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// One conflict hunk in diff3 style.
pub fn write_hunk(out: &mut String, base: &[&str], ours: &[&str], theirs: &[&str]) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(OURS_MARKER);
    out.push('\n');
    push_block(out, ours);
    out.push_str(BASE_MARKER);
    out.push('\n');
    push_block(out, base);
    out.push_str(SEPARATOR);
    out.push('\n');
    push_block(out, theirs);
    out.push_str(THEIRS_MARKER);
    out.push('\n');
}

/// The merge of whole texts with conflict hunks where needed, and the number of hunks.
pub fn merge_with_markers(base: &str, ours: &str, theirs: &str) -> (String, usize) {
    let mut out = String::new();
    let mut conflicts = 0;
    for chunk in diff3(base, ours, theirs) {
        match chunk {
            Chunk::Clean(lines) => lines.iter().for_each(|l| out.push_str(l)),
            Chunk::Conflict { base, ours, theirs } => {
                conflicts += 1;
                write_hunk(&mut out, &base, &ours, &theirs);
            }
        }
    }
    (out, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sided_changes_merge() {
        let base = "a\nb\nc\nd\n";
        let ours = "A\nb\nc\nd\n";
        let theirs = "a\nb\nc\nD\n";
        assert_eq!(merge_clean(base, ours, theirs).unwrap(), "A\nb\nc\nD\n");
    }

    #[test]
    fn additions_at_both_ends_merge() {
        let base = "middle\n";
        assert_eq!(
            merge_clean(base, "top\nmiddle\n", "middle\nbottom\n").unwrap(),
            "top\nmiddle\nbottom\n"
        );
    }

    #[test]
    fn same_change_on_both_sides_is_taken_once() {
        assert_eq!(merge_clean("a\n", "b\n", "b\n").unwrap(), "b\n");
    }

    #[test]
    fn overlapping_changes_conflict() {
        assert_eq!(merge_clean("a", "b", "c"), None);
        let (text, n) = merge_with_markers("x\na\ny\n", "x\nb\ny\n", "x\nc\ny\n");
        assert_eq!(n, 1);
        assert_eq!(
            text,
            "x\n<<<<<<< ours\nb\n||||||| base\na\n=======\nc\n>>>>>>> theirs\ny\n"
        );
    }

    #[test]
    fn texts_without_final_newline_keep_markers_on_their_own_lines() {
        let (text, _) = merge_with_markers("a", "b", "c");
        assert_eq!(
            text,
            "<<<<<<< ours\nb\n||||||| base\na\n=======\nc\n>>>>>>> theirs\n"
        );
    }
}
