//! Wall-clock time as forge records it: UTC, second precision, RFC 3339 (`2026-11-21T01:36:00Z`).
//!
//! Timestamps are kept as strings of one fixed shape so that they sort lexicographically and
//! diff cleanly in pull requests. Tests pin the clock through the CLI (`FORGE_NOW`).
//!
//! This module is the one place that reads the real time of day (`SystemTime::now`; clippy
//! refuses it elsewhere, see `clippy.toml`). Durations and deadlines use `Instant`, which
//! no pinned clock should touch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time forge records: the workspace owns one (`Workspace::clock`), built from
/// `FORGE_NOW` when that is set. The default is the real clock.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// Always answers the same instant (seconds since the epoch).
    Fixed(i64),
}

/// The real time since the epoch (zero before it).
#[allow(clippy::disallowed_methods)] // the clock itself
fn real() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The real time in microseconds since the epoch, whatever the clock says. Only for
/// ordering runs that start under a pinned clock (see `ledger::writer::new_run_id`).
pub fn real_micros() -> u64 {
    real().as_micros() as u64
}

impl Clock {
    /// Seconds since the Unix epoch.
    pub fn now_secs(&self) -> i64 {
        self.stamp().0
    }

    /// Seconds since the Unix epoch and the microseconds within that second, from one
    /// reading (a pinned clock has none: zero).
    pub fn stamp(&self) -> (i64, u32) {
        match self {
            Clock::System => {
                let d = real();
                (d.as_secs() as i64, d.subsec_micros())
            }
            Clock::Fixed(s) => (*s, 0),
        }
    }

    /// Whether the clock is pinned (`FORGE_NOW`).
    pub fn is_pinned(&self) -> bool {
        matches!(self, Clock::Fixed(_))
    }

    pub fn now(&self) -> String {
        format_rfc3339(self.now_secs())
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's algorithm, shifted so that the era starts on 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn format_rfc3339(secs: i64) -> String {
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (or a bare `YYYY-MM-DD`, meaning midnight UTC).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs_of_day = match b.len() {
        10 => 0,
        20 if b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'Z' => {
            let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
            if h > 23 || mi > 59 || se > 60 {
                return None;
            }
            h * 3600 + mi * 60 + se
        }
        _ => return None,
    };
    Some(days * 86_400 + secs_of_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_795_225_000), "2026-11-21T01:36:40Z");
    }

    #[test]
    fn parse_inverts_format() {
        for secs in [0, 1, 59, 86_399, 951_782_400, 1_795_225_000, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(secs)), Some(secs));
        }
        assert_eq!(parse_rfc3339("2026-11-21"), Some(1_795_219_200));
    }

    #[test]
    fn a_pinned_clock_stands_still() {
        let clock = Clock::Fixed(1_795_225_000);
        assert_eq!(clock.stamp(), (1_795_225_000, 0));
        assert_eq!(clock.now(), "2026-11-21T01:36:40Z");
        assert!(clock.is_pinned());
        let (secs, micros) = Clock::System.stamp();
        assert!(secs > 1_700_000_000 && micros < 1_000_000);
        assert!(!Clock::default().is_pinned());
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-11-21T25:00:00Z",
            "2026-11-21 01:00:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
