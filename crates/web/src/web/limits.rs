//! Politeness limits: how many requests may be in flight to one host and how fast they may start (governor),
//! plus a single global rate for search-provider calls.
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

fn quota(per_second: f64) -> Quota {
    let period = Duration::from_secs_f64(1.0 / per_second.max(1e-6));
    Quota::with_period(period.max(Duration::from_nanos(1))).expect("period > 0").allow_burst(NonZeroU32::MIN)
}

/// A rate limit on one stream of requests (e.g. calls to a paid search API).
pub struct RateGate(Option<DefaultDirectRateLimiter>);

impl RateGate {
    /// `None` = unlimited.
    pub fn new(per_second: Option<f64>) -> RateGate {
        RateGate(per_second.map(|r| RateLimiter::direct(quota(r))))
    }

    /// Waits for the next slot.
    pub async fn wait(&self) {
        if let Some(limiter) = &self.0 {
            limiter.until_ready().await;
        }
    }
}

/// Per-host concurrency and start rate.
pub struct HostLimits {
    per_host: usize,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
    rate: Option<DefaultKeyedRateLimiter<String>>,
}

impl HostLimits {
    /// At most `per_host` requests in flight to one host (0 = unlimited), at most `rate` starts per second.
    pub fn new(per_host: usize, rate: Option<f64>) -> HostLimits {
        HostLimits {
            per_host,
            semaphores: Mutex::new(HashMap::new()),
            rate: rate.map(|r| RateLimiter::keyed(quota(r))),
        }
    }

    /// Waits until a request to `host` may start; the permit ends the request's slot when dropped.
    pub async fn acquire(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let permit = if self.per_host == 0 {
            None
        } else {
            let sem = {
                let mut map = self.semaphores.lock().unwrap_or_else(|p| p.into_inner());
                map.entry(host.to_string()).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))).clone()
            };
            Some(sem.acquire_owned().await.expect("semaphore never closed"))
        };
        if let Some(rate) = &self.rate {
            rate.until_key_ready(&host.to_string()).await;
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn host_rate_spaces_requests() {
        let limits = HostLimits::new(2, Some(20.0));
        let start = std::time::Instant::now();
        for _ in 0..5 {
            drop(limits.acquire("a.example").await);
        }
        // 5 starts at 20/s need at least 4 intervals of 50 ms.
        assert!(start.elapsed() >= Duration::from_millis(190), "{:?}", start.elapsed());
        let other = tokio::time::timeout(Duration::from_secs(5), limits.acquire("b.example")).await;
        assert!(other.is_ok(), "hosts are limited separately");
    }

    #[tokio::test]
    async fn concurrency_per_host() {
        let limits = HostLimits::new(1, None);
        let first = limits.acquire("a").await;
        let second = tokio::time::timeout(Duration::from_millis(50), limits.acquire("a")).await;
        assert!(second.is_err(), "second request to the same host waits");
        assert!(tokio::time::timeout(Duration::from_secs(5), limits.acquire("b")).await.is_ok());
        drop(first);
        assert!(tokio::time::timeout(Duration::from_secs(5), limits.acquire("a")).await.is_ok());
    }
}
