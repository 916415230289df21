//! [`Searcher`]: sends one logical search request to a provider (global rate limit, retries) and turns the answer
//! into a [`SearchCapture`] plus the raw response bytes, exactly as received. Failures are captures too.
use std::time::Duration;

use super::client::{self, redact};
use super::limits::RateGate;
use super::providers::SearchProvider;
use super::retry::RetryPolicy;
use crate::error::Result;
use crate::snapshot::{now_rfc3339, SearchCapture, SearchRequest};

/// Largest provider response kept (search APIs answer in kilobytes).
const MAX_SEARCH_BODY: u64 = 8 << 20;

/// What one search produced: the capture to store and the raw response body (when there was a response).
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    pub capture: SearchCapture,
    pub raw: Option<Vec<u8>>,
    /// Short failure class (`http 429`, `timeout`, `parse`, ...) when the capture holds an error.
    pub failure: Option<String>,
    /// A partial failure of an answer that came (SearXNG engines that did not answer).
    pub partial: Option<String>,
}

/// Runs searches against one provider.
pub struct Searcher {
    provider: Box<dyn SearchProvider>,
    client: reqwest::Client,
    policy: RetryPolicy,
    gate: RateGate,
}

impl Searcher {
    /// A searcher with a request `timeout`, retry `policy` and at most `rate` calls per second (`None` = no limit).
    pub fn new(
        provider: Box<dyn SearchProvider>,
        timeout: Duration,
        policy: RetryPolicy,
        rate: Option<f64>,
    ) -> Result<Searcher> {
        Ok(Searcher { provider, client: client::api_client(timeout)?, policy, gate: RateGate::new(rate) })
    }

    /// The provider's name.
    pub fn provider_name(&self) -> &'static str {
        self.provider.name()
    }

    /// Searches once (with retries). Never fails: an unusable answer becomes a capture with `error` set.
    pub async fn search(&self, req: &SearchRequest) -> SearchOutcome {
        self.gate.wait().await;
        let name = self.provider.name();
        let sent = client::send(|| self.provider.build(&self.client, req), &self.policy, &req.q, MAX_SEARCH_BODY).await;
        let mut capture = SearchCapture {
            request: serde_json::Value::Null,
            provider: name.to_string(),
            raw_digest: None,
            results: Vec::new(),
            captured_at: now_rfc3339(),
            error: None,
            extras: Default::default(),
        };
        let mut partial = None;
        let secrets = self.provider.secrets();
        let (raw, failure) = match sent {
            Err(f) => {
                capture.error = Some(redact(&f.to_string(), &secrets));
                (None, Some(f.kind.to_string()))
            }
            Ok(resp) if !(200..300).contains(&resp.status) => {
                let excerpt = String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)]).into_owned();
                let msg = format!("{name} answered HTTP {} after {} attempts: {excerpt}", resp.status, resp.attempts);
                capture.error = Some(redact(&msg, &secrets));
                (Some(resp.body), Some(format!("http {}", resp.status)))
            }
            Ok(resp) => match self.provider.parse(&resp.body) {
                Ok(results) => {
                    capture.results = results;
                    let side = self.provider.side(&resp.body);
                    capture.extras = side.extras;
                    partial = side.partial;
                    (Some(resp.body), None)
                }
                Err(e) => {
                    capture.error = Some(redact(&e.to_string(), &secrets));
                    (Some(resp.body), Some("parse".to_string()))
                }
            },
        };
        SearchOutcome { capture, raw, failure, partial }
    }
}
