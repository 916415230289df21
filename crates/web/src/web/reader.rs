//! The page-reading model client: an OpenAI-compatible chat-completions endpoint (vLLM, SGLang, OpenAI, ...)
//! that browse asks to pull what is relevant out of each page chunk (DeepResearcher's reading agent). Outputs
//! are recorded in the snapshot's `reader` column family under blake3(model ‖ prompt), so they replay exactly.
use std::time::Duration;

use serde_json::{json, Value};

use super::client::{self, redact};
use super::retry::RetryPolicy;
use crate::error::{Error, Result};

/// Environment variables read for the reader's key, in order.
pub const READER_KEY_VARS: [&str; 2] = ["WEBTAPE_READER_API_KEY", "OPENAI_API_KEY"];

/// Largest completion response read.
const MAX_READER_BODY: u64 = 4 << 20;

/// A client for one reading model.
pub struct ReaderClient {
    url: String,
    model: String,
    key: Option<String>,
    max_tokens: u32,
    client: reqwest::Client,
    policy: RetryPolicy,
}

impl ReaderClient {
    /// `endpoint` is a base URL (`http://host:8000`, `.../v1`) or the full `.../chat/completions` URL.
    pub fn new(endpoint: &str, model: &str, key: Option<String>, timeout: Duration) -> Result<ReaderClient> {
        let base = endpoint.trim_end_matches('/');
        let parsed = url::Url::parse(base).map_err(|e| Error::Config(format!("--reader-endpoint {base:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!("--reader-endpoint {base:?} must be http or https")));
        }
        let url = if base.ends_with("/chat/completions") {
            base.to_string()
        } else if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        };
        if model.trim().is_empty() {
            return Err(Error::Config("--reader-model must name the model".into()));
        }
        let client = client::api_client(timeout)?;
        Ok(ReaderClient {
            url,
            model: model.to_string(),
            key,
            max_tokens: 1024,
            client,
            policy: RetryPolicy::default(),
        })
    }

    /// Like [`ReaderClient::new`], with the key from `WEBTAPE_READER_API_KEY` or `OPENAI_API_KEY` if set.
    pub fn from_env(endpoint: &str, model: &str, timeout: Duration) -> Result<ReaderClient> {
        let key = READER_KEY_VARS.iter().find_map(|v| std::env::var(v).ok().filter(|k| !k.is_empty()));
        Self::new(endpoint, model, key, timeout)
    }

    /// The model id (part of the reader record key).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Sends `prompt` as one user message at temperature 0 and returns the reply text.
    pub async fn complete(&self, prompt: &str) -> Result<String> {
        let body = json!({
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": self.max_tokens,
        });
        let build = || {
            let req = self.client.post(&self.url).json(&body);
            match &self.key {
                Some(key) => req.bearer_auth(key),
                None => req,
            }
        };
        let secrets: Vec<String> = self.key.iter().cloned().collect();
        let what = format!("reading model {}", self.model);
        let resp = client::send(build, &self.policy, prompt, MAX_READER_BODY)
            .await
            .map_err(|f| Error::web(&what, redact(&f.to_string(), &secrets)))?;
        if !(200..300).contains(&resp.status) {
            let excerpt = String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)]).into_owned();
            return Err(Error::web(&what, redact(&format!("HTTP {}: {excerpt}", resp.status), &secrets)));
        }
        let v: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| Error::web(&what, format!("response is not valid JSON: {e}")))?;
        v.pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::web(&what, "response has no choices[0].message.content"))
    }
}
