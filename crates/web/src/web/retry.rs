//! Retry policy for web requests: which failures are worth another try (429, 5xx, connection errors, timeouts)
//! and how long to wait (exponential backoff with seeded jitter, or the server's `Retry-After`, capped).
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Extra attempts after the first (0 = never retry).
    pub retries: u32,
    /// Backoff before the first retry; doubles each time.
    pub base: Duration,
    /// Longest single wait, also the cap on `Retry-After`.
    pub max_wait: Duration,
    /// Seed of the jitter, so waits are reproducible.
    pub seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { retries: 3, base: Duration::from_millis(500), max_wait: Duration::from_secs(30), seed: 0 }
    }
}

/// Whether an HTTP status deserves another attempt.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || status == 408 || (500..600).contains(&status) && status != 501
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (1-based) of the request identified by `key`: the server's
    /// `Retry-After` when given, else `base * 2^(attempt-1)` scaled by a jitter factor in [0.5, 1.0); capped by
    /// `max_wait` either way.
    pub fn wait(&self, key: &str, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_wait);
        }
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.seed.to_le_bytes());
        hasher.update(&attempt.to_le_bytes());
        hasher.update(key.as_bytes());
        let bits = u64::from_le_bytes(hasher.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
        let jitter = 0.5 + (bits >> 11) as f64 / (1u64 << 53) as f64 / 2.0;
        exp.mul_f64(jitter).min(self.max_wait)
    }
}

/// Parses a `Retry-After` header: delay seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A rate such as `10/s`, `600/min`, `2.5/s`, `3600/h`; `0`, `none` or `unlimited` mean no limit.
pub fn parse_rate(text: &str) -> Result<Option<f64>, String> {
    let t = text.trim().to_ascii_lowercase();
    if ["0", "none", "unlimited", "off"].contains(&t.as_str()) {
        return Ok(None);
    }
    let (n, unit) = t.split_once('/').unwrap_or((&t, "s"));
    let n: f64 = n.trim().parse().map_err(|_| format!("rate {text:?}: expected e.g. 10/s, 600/min or none"))?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        other => return Err(format!("rate {text:?}: unknown unit {other:?} (use s, min or h)")),
    };
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("rate {text:?}: must be a positive number"));
    }
    Ok(Some(n / per))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let p = RetryPolicy { seed: 3, ..RetryPolicy::default() };
        let w1 = p.wait("u", 1, None);
        let w3 = p.wait("u", 3, None);
        assert!(w1 >= Duration::from_millis(250) && w1 < Duration::from_millis(500), "{w1:?}");
        assert!(w3 >= Duration::from_millis(1000) && w3 < Duration::from_millis(2000), "{w3:?}");
        assert_eq!(p.wait("u", 1, None), w1, "jitter is seeded");
        assert_eq!(p.wait("u", 30, None), p.max_wait);
        assert_eq!(p.wait("u", 1, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(p.wait("u", 1, Some(Duration::from_secs(999))), p.max_wait);
    }

    #[test]
    fn retry_after_forms() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap().to_utc();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10/s"), Ok(Some(10.0)));
        assert_eq!(parse_rate("120/min"), Ok(Some(2.0)));
        assert_eq!(parse_rate("none"), Ok(None));
        assert!(parse_rate("fast").unwrap_err().contains("fast"));
        assert!(parse_rate("5/day").unwrap_err().contains("day"));
        assert!(parse_rate("-1/s").is_err());
    }
}
