//! [`Fetcher`]: fetches one page from the live web and describes it as a [`PageCapture`]: redirects followed
//! by hand (each hop checked by the SSRF guard and recorded), robots.txt, per-host limits, retries, body size
//! limit. A failed fetch is a capture with `fetch_error`, so replay returns the same failure.
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::client::{self, Failure, Response};
use super::guard::Guard;
use super::limits::HostLimits;
use super::retry::RetryPolicy;
use super::robots::RobotsCache;
use crate::error::{Error, Result};
use crate::snapshot::http::KEPT_HEADERS;
use crate::snapshot::{now_rfc3339, PageCapture};

/// How pages are fetched.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Per-attempt timeout (connect + whole response).
    pub timeout: Duration,
    /// Bodies longer than this are cut and marked `truncated` (default 5 MB).
    pub max_body: u64,
    /// Redirect hops followed before giving up.
    pub max_redirects: usize,
    pub retry: RetryPolicy,
    /// Ask robots.txt before fetching.
    pub robots: bool,
    /// Requests in flight to one host (0 = unlimited).
    pub host_concurrency: usize,
    /// Request starts per second to one host (`None` = unlimited).
    pub host_rate: Option<f64>,
    pub guard: Guard,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout: Duration::from_secs(20),
            max_body: 5 << 20,
            max_redirects: 10,
            retry: RetryPolicy::default(),
            robots: true,
            host_concurrency: 4,
            host_rate: Some(5.0),
            guard: Guard::default(),
        }
    }
}

/// One fetched page: the capture to store, its body, and a short failure class when it failed.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub capture: PageCapture,
    pub body: Option<Vec<u8>>,
    /// `blocked`, `robots`, `redirect`, `timeout`, `connect`, `body`, `http 5xx`, ... when the fetch did not
    /// give a 2xx page.
    pub failure: Option<String>,
}

/// Fetches pages with the configured guard, limits and retries.
pub struct Fetcher {
    client: reqwest::Client,
    guard: Arc<Guard>,
    robots: RobotsCache,
    limits: HostLimits,
    cfg: FetchConfig,
}

impl Fetcher {
    pub fn new(cfg: FetchConfig) -> Result<Fetcher> {
        let guard = Arc::new(cfg.guard.clone());
        Ok(Fetcher {
            client: client::page_client(cfg.timeout, guard.clone())?,
            guard,
            robots: RobotsCache::new(cfg.robots),
            limits: HostLimits::new(cfg.host_concurrency, cfg.host_rate),
            cfg,
        })
    }

    /// Fetches `url`. Errors only when `url` is not a URL at all (nothing can be recorded for it).
    pub async fn fetch(&self, url: &str) -> Result<Fetched> {
        let start = Url::parse(url).map_err(|e| Error::InvalidUrl { url: url.to_string(), reason: e.to_string() })?;
        let mut capture = PageCapture {
            url: url.to_string(),
            final_url: url.to_string(),
            redirects: Vec::new(),
            status: None,
            headers: Vec::new(),
            content_type: None,
            body_digest: None,
            body_len: 0,
            truncated: false,
            captured_at: now_rfc3339(),
            fetch_error: None,
            doc_id: None,
        };
        let mut seen = vec![start.clone()];
        let mut current = start;
        loop {
            let resp = match self.hop(&current).await {
                Ok(resp) => resp,
                Err((kind, message)) => return Ok(failed(capture, kind, message)),
            };
            capture.status = Some(resp.status);
            capture.final_url = current.to_string();
            let location = resp.header("location").filter(|_| (300..400).contains(&resp.status));
            let Some(location) = location else { return Ok(finish(capture, resp)) };
            let next = match current.join(location) {
                Ok(next) => next,
                Err(e) => return Ok(failed(capture, "redirect", format!("bad Location {location:?}: {e}"))),
            };
            if seen.contains(&next) {
                return Ok(failed(capture, "redirect", format!("redirect loop at {next}")));
            }
            if capture.redirects.len() >= self.cfg.max_redirects {
                let msg = format!("more than {} redirects", self.cfg.max_redirects);
                return Ok(failed(capture, "redirect", msg));
            }
            capture.redirects.push(next.to_string());
            seen.push(next.clone());
            current = next;
        }
    }

    /// One hop: guard, robots, host limits, the request with retries.
    async fn hop(&self, url: &Url) -> std::result::Result<Response, (&'static str, String)> {
        self.guard.check(url).await.map_err(|e| match e {
            Error::Blocked { .. } => ("blocked", e.to_string()),
            other => ("dns", other.to_string()),
        })?;
        if !self.robots.allowed(&self.client, url).await {
            return Err(("robots", format!("robots.txt of {} disallows {url}", url.origin().ascii_serialization())));
        }
        let host = url.host_str().unwrap_or("").to_string();
        let _permit = self.limits.acquire(&host).await;
        let sent = client::send(|| self.client.get(url.clone()), &self.cfg.retry, url.as_str(), self.cfg.max_body);
        sent.await.map_err(|Failure { kind, message, attempts }| {
            let f = Failure { kind, message, attempts };
            let refused = f.message.contains("refused addresses");
            (if refused { "blocked" } else { kind }, f.to_string())
        })
    }
}

fn failed(mut capture: PageCapture, kind: &'static str, message: String) -> Fetched {
    capture.fetch_error = Some(message);
    Fetched { capture, body: None, failure: Some(kind.to_string()) }
}

fn finish(mut capture: PageCapture, resp: Response) -> Fetched {
    capture.headers = resp.headers.iter().filter(|(k, _)| KEPT_HEADERS.contains(&k.as_str())).cloned().collect();
    capture.content_type = resp.header("content-type").map(str::to_string);
    capture.truncated = resp.truncated;
    let failure = match resp.status {
        200..=299 => None,
        s @ 300..=399 => Some(format!("http {s} without Location")),
        s => Some(format!("http {}xx", s / 100)),
    };
    Fetched { capture, body: Some(resp.body), failure }
}
