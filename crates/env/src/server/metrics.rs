//! Server metrics in Prometheus text format: requests by route and status class, a latency histogram, the
//! environment's answers by source (exact / bm25 / miss / live), the exact-hit share and the run digest.
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::env::Environment;

/// Routes counted separately.
pub const ROUTES: [&str; 11] =
    ["retrieve", "search", "browse", "healthz", "metrics", "r", "digest", "mcp", "episodes", "tools", "other"];
const CLASSES: [&str; 4] = ["2xx", "4xx", "5xx", "other"];
/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Counters updated by the request middleware.
#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; 4]; ROUTES.len()],
    buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    rejected_busy: AtomicU64,
}

/// The index of `path` in [`ROUTES`].
pub fn route_of(path: &str) -> usize {
    let name = path.strip_prefix('/').unwrap_or(path);
    let name = match name.split_once('/') {
        Some(("r", _)) => "r",
        Some(("mcp", _)) => "mcp",
        Some(("episodes", _)) => "episodes",
        Some(("tools", _)) => "tools",
        _ => name,
    };
    let name = if name == "health" { "healthz" } else { name };
    ROUTES.iter().position(|r| *r == name).unwrap_or(ROUTES.len() - 1)
}

impl Metrics {
    /// Counts one finished request.
    pub fn observe(&self, route: usize, status: u16, elapsed: Duration) {
        let class = match status {
            200..=299 => 0,
            400..=499 => 1,
            500..=599 => 2,
            _ => 3,
        };
        self.requests[route][class].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts one request refused because the server was at its concurrency limit.
    pub fn busy(&self) {
        self.rejected_busy.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, env: &Environment) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP webtape_requests_total HTTP requests by route and status class.\n# TYPE webtape_requests_total counter\n");
        for (r, route) in ROUTES.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "webtape_requests_total{{route=\"{route}\",status=\"{class}\"}} {}",
                    load(&self.requests[r][c])
                );
            }
        }
        let _ = writeln!(
            out,
            "# TYPE webtape_rejected_busy_total counter\nwebtape_rejected_busy_total {}",
            load(&self.rejected_busy)
        );
        out.push_str("# HELP webtape_request_seconds Request latency.\n# TYPE webtape_request_seconds histogram\n");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "webtape_request_seconds_bucket{{le=\"{bound}\"}} {}", load(&self.buckets[i]));
        }
        let count = load(&self.latency_count);
        let _ = writeln!(out, "webtape_request_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "webtape_request_seconds_sum {}", load(&self.latency_sum_us) as f64 / 1e6);
        let _ = writeln!(out, "webtape_request_seconds_count {count}");
        let log = env.run_log();
        let cov = log.coverage();
        out.push_str("# HELP webtape_answers_total Tool answers by source.\n# TYPE webtape_answers_total counter\n");
        for (name, n) in [("exact", cov.exact), ("bm25", cov.bm25), ("miss", cov.miss), ("live", cov.live)] {
            let _ = writeln!(out, "webtape_answers_total{{source=\"{name}\"}} {n}");
        }
        let _ = writeln!(out, "# TYPE webtape_exact_share gauge\nwebtape_exact_share {:.6}", cov.exact_share());
        let _ = writeln!(
            out,
            "# TYPE webtape_run_digest_info gauge\nwebtape_run_digest_info{{digest=\"{}\",calls=\"{}\"}} 1",
            log.digest(),
            log.entries()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_counts_under_a_route() {
        let name = |p: &str| ROUTES[route_of(p)];
        assert_eq!(name("/retrieve"), "retrieve");
        assert_eq!(name("/health"), "healthz");
        assert_eq!(name("/r/https://a.example/x"), "r");
        assert_eq!(name("/digest"), "digest");
        assert_eq!(name("/tools/web_search"), "tools");
        assert_eq!(name("/no/such/route"), "other");
        let m = Metrics::default();
        for path in ["/no/such/route", "/r/x", "/search"] {
            m.observe(route_of(path), 404, Duration::from_millis(1));
        }
    }
}
