//! The HTTP client layer shared by providers, the page fetcher and the reading model: reqwest clients with
//! timeouts, one request sent with retries (backoff, `Retry-After`), bodies read up to a size limit.
use std::sync::Arc;
use std::time::Duration;

use super::guard::{Guard, GuardedResolver};
use super::retry::{parse_retry_after, retryable_status, RetryPolicy};
use crate::error::{Error, Result};

/// The `User-Agent` webtape sends.
pub const USER_AGENT: &str = concat!("webtape/", env!("CARGO_PKG_VERSION"), " (+https://github.com/webtape)");

/// A response as read: status, headers, body (possibly cut at the size limit).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lowercase header names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was longer than the limit and was cut.
    pub truncated: bool,
    /// Attempts it took (1 = no retry).
    pub attempts: u32,
}

impl Response {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A request that failed without a usable response; `kind` is a short class for summaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: &'static str,
    pub message: String,
    pub attempts: u32,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// A client for API calls (search providers, reading model): follows redirects, no guard.
pub fn api_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| Error::web("http client", e.to_string()))
}

/// A client for pages: never follows redirects itself (the fetcher checks and records every hop), connects only
/// to addresses the guard allows (hosts in its `resolve` list at their given address), decodes gzip/br/deflate.
pub fn page_client(timeout: Duration, guard: Arc<Guard>) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    for r in &guard.resolve {
        builder = builder.resolve(&r.host, r.addr);
    }
    builder
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver(guard)))
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| Error::web("http client", e.to_string()))
}

fn classify(e: &reqwest::Error) -> &'static str {
    if e.is_builder() {
        "invalid"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    }
}

/// Full error text (reqwest nests the cause), without the URL's query string.
fn describe(e: &reqwest::Error) -> String {
    let mut msg = match e.url() {
        Some(url) => e.to_string().replace(&format!(" for url ({url})"), ""),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Sends the request `make()` builds, retrying on retryable statuses and transport errors per `policy`.
/// `key` identifies the request for jitter. The last response is returned whatever its status.
pub async fn send(
    make: impl Fn() -> reqwest::RequestBuilder,
    policy: &RetryPolicy,
    key: &str,
    max_body: u64,
) -> std::result::Result<Response, Failure> {
    let mut attempt = 1;
    loop {
        let outcome = attempt_once(make(), max_body).await;
        let retry_after = match &outcome {
            Ok(r) if retryable_status(r.status) => {
                r.header("retry-after").and_then(|v| parse_retry_after(v, chrono::Utc::now())).or(Some(Duration::ZERO))
            }
            Ok(_) => None,
            Err(f) if f.kind != "invalid" => Some(Duration::ZERO),
            Err(_) => None,
        };
        if attempt > policy.retries || retry_after.is_none() {
            return match outcome {
                Ok(r) => Ok(Response { attempts: attempt, ..r }),
                Err(f) => Err(Failure { attempts: attempt, ..f }),
            };
        }
        let server_wait = retry_after.filter(|d| !d.is_zero());
        tokio::time::sleep(policy.wait(key, attempt, server_wait)).await;
        attempt += 1;
    }
}

async fn attempt_once(builder: reqwest::RequestBuilder, max_body: u64) -> std::result::Result<Response, Failure> {
    let fail = |e: reqwest::Error| Failure { kind: classify(&e), message: describe(&e), attempts: 1 };
    let mut resp = builder.send().await.map_err(fail)?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let mut body = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = resp.chunk().await.map_err(|e| Failure {
        kind: "body",
        message: format!("response body incomplete after {} bytes: {}", body.len(), describe(&e)),
        attempts: 1,
    })? {
        let room = (max_body as usize).saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response { status, headers, body, truncated, attempts: 1 })
}

/// `text` with every secret replaced by `[redacted]`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), "[redacted]");
    }
    out
}
