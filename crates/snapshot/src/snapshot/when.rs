//! Replay's time rule, one for searches and pages: of several captures of one request, replay serves the first
//! (so a snapshot that grows later still replays old runs as they ran), or with `--at` the one captured closest
//! to that time in real seconds (the earlier of two equally close).
use crate::error::{Error, Result};

/// `--at` as Unix seconds: RFC 3339 (`2026-01-01T12:00:00Z`) or 14 digits `YYYYMMDDhhmmss` (UTC); anything
/// else is an error naming the value.
pub fn parse_at(at: &str) -> Result<i64> {
    let bad = || Error::Config(format!("--at {at:?}: expected RFC 3339 (2026-01-01T12:00:00Z) or YYYYMMDDhhmmss"));
    if at.len() == 14 && at.bytes().all(|b| b.is_ascii_digit()) {
        return chrono::NaiveDateTime::parse_from_str(at, "%Y%m%d%H%M%S")
            .map(|t| t.and_utc().timestamp())
            .map_err(|_| bad());
    }
    chrono::DateTime::parse_from_rfc3339(at).map(|t| t.timestamp()).map_err(|_| bad())
}

/// Which of `captured_at` (RFC 3339 times, oldest first) replay serves: the first without `at`, else the closest
/// to `at` (Unix seconds), the earlier on a tie; a time that does not parse is never closest. None when empty.
pub fn choose<'a>(captured_at: impl IntoIterator<Item = &'a str>, at: Option<i64>) -> Option<usize> {
    let mut best: Option<(u64, usize)> = None;
    for (i, time) in captured_at.into_iter().enumerate() {
        let Some(at) = at else { return Some(0) };
        let distance = chrono::DateTime::parse_from_rfc3339(time).map_or(u64::MAX, |t| t.timestamp().abs_diff(at));
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, i));
        }
    }
    best.map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_is_parsed_in_both_forms_or_refused() {
        assert_eq!(parse_at("20260101000000").unwrap(), parse_at("2026-01-01T00:00:00Z").unwrap());
        assert_eq!(parse_at("2026-01-01T01:00:00+01:00").unwrap(), parse_at("2026-01-01T00:00:00Z").unwrap());
        for bad in ["yesterday", "2026-13-01T00:00:00Z", "20261301000000", "2026010100000", ""] {
            assert!(parse_at(bad).unwrap_err().to_string().contains("--at"), "{bad}");
        }
    }

    #[test]
    fn the_closest_capture_in_real_seconds_across_midnight_month_and_year() {
        let at = |s: &str| Some(parse_at(s).unwrap());
        // As 14-digit integers 20251231235959 is far from 20260101000001; in seconds they are 2 s apart.
        let times = ["2025-12-31T23:59:59Z", "2026-01-01T12:00:00Z"];
        assert_eq!(choose(times, at("20260101000001")), Some(0), "across a year");
        let times = ["2026-01-31T23:00:00Z", "2026-02-01T01:30:00Z"];
        assert_eq!(choose(times, at("2026-02-01T00:00:00Z")), Some(0), "1 h before beats 1.5 h after, across a month");
        let times = ["2026-03-09T23:30:00Z", "2026-03-10T00:10:00Z"];
        assert_eq!(choose(times, at("2026-03-10T00:00:00Z")), Some(1), "across midnight");
        // 24 h later does not beat 1 h earlier (integer subtraction of YYYYMMDDhhmmss said it did).
        let times = ["2026-05-01T09:00:00Z", "2026-05-02T10:00:00Z"];
        assert_eq!(choose(times, at("2026-05-01T10:00:00Z")), Some(0));
        let times = ["2026-05-01T09:00:00Z", "2026-05-01T11:00:00Z"];
        assert_eq!(choose(times, at("2026-05-01T10:00:00Z")), Some(0), "a tie goes to the earlier");
        assert_eq!(choose(times, None), Some(0), "without --at: the first");
        assert_eq!(choose(["garbage", "2026-05-01T11:00:00Z"], at("2026-05-01T10:00:00Z")), Some(1));
        assert_eq!(choose([], None), None);
    }
}
