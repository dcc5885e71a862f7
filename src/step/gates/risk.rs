//! The risk tier an approver sees.

use super::DiffFacts;
use crate::bead::Risk;

/// The risk tier an approver sees: the bead's own risk, raised by a large diff and by new
/// binary or executable files.
pub fn risk_tier(bead_risk: Risk, facts: &DiffFacts, max_lines: u64) -> Risk {
    risk_assessment(bead_risk, facts, max_lines).0
}

/// The risk tier with the reasons that raised it above the bead's own risk.
pub fn risk_assessment(bead_risk: Risk, facts: &DiffFacts, max_lines: u64) -> (Risk, Vec<String>) {
    let lines = facts.added + facts.removed;
    let files = facts.files.len();
    let mut reasons = Vec::new();
    let mut risk = bead_risk;
    let mut raise = |to: Risk, why: String| {
        if to > risk {
            risk = to;
        }
        if to > bead_risk {
            reasons.push(why);
        }
    };
    if lines * 2 > max_lines || files > 20 {
        raise(
            Risk::High,
            format!("large diff: {lines} lines in {files} files"),
        );
    } else if lines > 200 || files > 5 {
        raise(
            Risk::Medium,
            format!("diff of {lines} lines in {files} files"),
        );
    }
    if !facts.new_binaries.is_empty() {
        raise(
            Risk::Medium,
            format!("new binary files: {}", facts.new_binaries.join(", ")),
        );
    }
    if !facts.new_executables.is_empty() {
        raise(
            Risk::Medium,
            format!("new executable files: {}", facts.new_executables.join(", ")),
        );
    }
    (risk, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::gates::new_file_kinds;

    fn facts(lines: u64, files: usize, binaries: &[&str], executables: &[&str]) -> DiffFacts {
        DiffFacts {
            files: (0..files).map(|i| format!("f{i}")).collect(),
            added: lines,
            removed: 0,
            changes: Vec::new(),
            symlinks: Vec::new(),
            new_binaries: binaries.iter().map(|s| s.to_string()).collect(),
            new_executables: executables.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn new_binaries_and_executables_raise_the_risk_to_medium() {
        assert_eq!(
            risk_tier(Risk::Low, &facts(3, 1, &[], &[]), 2000),
            Risk::Low
        );
        let (risk, why) = risk_assessment(Risk::Low, &facts(3, 2, &["a.bin"], &[]), 2000);
        assert_eq!(risk, Risk::Medium);
        assert_eq!(why, ["new binary files: a.bin"]);
        let (risk, why) = risk_assessment(Risk::Low, &facts(3, 1, &[], &["run.sh"]), 2000);
        assert_eq!(risk, Risk::Medium);
        assert_eq!(why, ["new executable files: run.sh"]);
        // Never lowered, and no reason when the bead's own risk is already as high.
        let (risk, why) = risk_assessment(Risk::High, &facts(3, 1, &["a.bin"], &["x"]), 2000);
        assert_eq!((risk, why.len()), (Risk::High, 0));
        assert_eq!(
            risk_tier(Risk::Low, &facts(1500, 1, &["a.bin"], &[]), 2000),
            Risk::High
        );
        let listed = new_file_kinds(&facts(3, 2, &["a.bin"], &["run.sh"])).unwrap();
        assert!(listed.ok);
        assert_eq!(
            listed.detail,
            "new binary files: a.bin; new executable files: run.sh; risk at least medium"
        );
        assert!(new_file_kinds(&facts(3, 1, &[], &[])).is_none());
    }
}
