//! Where the agent's tool calls go: an in-process [`Environment`], or a `webtape serve` elsewhere (`--env URL`,
//! through its `/search` and `/browse` routes). Either way the answer is the observation text in DeepResearcher's
//! JSON shapes, and the episode's rules (three queries per call, browse only the latest results) hold.
use std::sync::Arc;

use serde_json::{json, Value};

use crate::env::{
    observe, BrowseResult, Coverage, EnvConfig, Environment, Episode, PageChunk, QueryResult, SearchItem, Source,
};
use crate::error::{Error, Result};

/// The tool backend of a rollout.
#[derive(Clone)]
pub enum Tools {
    Local(Arc<Environment>),
    Remote(RemoteEnv),
}

/// A `webtape serve` reached over HTTP.
#[derive(Clone)]
pub struct RemoteEnv {
    base: String,
    client: reqwest::Client,
    cfg: EnvConfig,
    /// Answers by where the server says they came from (exact, bm25, miss, live), shared by clones.
    counts: Arc<[std::sync::atomic::AtomicU64; 4]>,
    /// The server's bearer token (WEBTAPE_TOKEN), sent with every request when set.
    token: Option<String>,
}

impl RemoteEnv {
    /// `base` like `http://10.0.0.5:8000`; `cfg` gives the client-side rules (queries per call, top k, URLs).
    pub fn new(base: &str, cfg: EnvConfig) -> Result<RemoteEnv> {
        let client = crate::web::client::api_client(std::time::Duration::from_secs(300))?;
        let token = std::env::var("WEBTAPE_TOKEN").ok().filter(|t| !t.is_empty());
        Ok(RemoteEnv { base: base.trim_end_matches('/').to_string(), client, cfg, counts: Default::default(), token })
    }

    /// A request to `url` carrying the token, if any.
    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let req = self.client.request(method, url);
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Posts `body` to `route`: the HTTP status, the JSON answer and where the server says the answer came from
    /// (its `x-webtape-source` header: exact, bm25, miss, live; `live` when absent).
    async fn post(&self, route: &str, body: Value) -> Result<(u16, Value, Source)> {
        let url = format!("{}/{route}", self.base);
        let resp = self
            .request(reqwest::Method::POST, &url)
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::web(&url, e.to_string()))?;
        let status = resp.status().as_u16();
        let source = resp
            .headers()
            .get("x-webtape-source")
            .and_then(|h| h.to_str().ok())
            .and_then(Source::parse)
            .unwrap_or(Source::Live);
        let v = resp.json::<Value>().await.map_err(|e| Error::web(&url, format!("answer is not JSON: {e}")))?;
        Ok((status, v, source))
    }

    /// Answers so far by where the server took them from (its `x-webtape-source`).
    pub fn coverage(&self) -> Coverage {
        Coverage::by(|s| self.counts[s as usize].load(std::sync::atomic::Ordering::Relaxed))
    }

    fn count(&self, source: Source) {
        self.counts[source as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The server's "today" for prompts (`/healthz` `date`: its snapshot's date when it replays), if it has one.
    pub async fn server_date(&self) -> Result<Option<String>> {
        let url = format!("{}/healthz", self.base);
        let resp =
            self.request(reqwest::Method::GET, &url).send().await.map_err(|e| Error::web(&url, e.to_string()))?;
        let v = resp.json::<Value>().await.map_err(|e| Error::web(&url, format!("answer is not JSON: {e}")))?;
        Ok(v["date"].as_str().filter(|d| !d.is_empty()).map(str::to_string))
    }

    async fn search(&self, ep: &mut Episode, queries: &[String]) -> Result<Vec<QueryResult>> {
        let mut out = Vec::new();
        for q in queries.iter().take(self.cfg.max_queries) {
            let (status, v, source) = self.post("search", json!({"q": q, "num": self.cfg.top_k})).await?;
            let items = v["organic"].as_array().cloned().unwrap_or_default();
            let items = items
                .iter()
                .map(|o| SearchItem {
                    title: o["title"].as_str().unwrap_or("").into(),
                    url: o["link"].as_str().unwrap_or("").into(),
                    snippet: o["snippet"].as_str().unwrap_or("").into(),
                    score: 0.0,
                })
                .collect();
            let error = v["error"].as_str().map(str::to_string).or((status != 200).then(|| format!("HTTP {status}")));
            let extras =
                crate::web::side::KEYS.iter().filter_map(|k| v.get(*k).map(|x| (k.to_string(), x.clone()))).collect();
            self.count(source);
            out.push(QueryResult { query: q.clone(), items, source, error, extras });
        }
        ep.allowed_urls = out.iter().flat_map(|r| r.items.iter().map(|i| i.url.clone())).collect();
        Ok(out)
    }

    async fn browse(&self, ep: &mut Episode, urls: &[String], question: &str) -> Result<Vec<BrowseResult>> {
        let mut out = Vec::new();
        for url in urls.iter().take(self.cfg.max_urls) {
            if self.cfg.browse_latest_only && !ep.allowed_urls.contains(url) {
                self.count(Source::Miss);
                out.push(failed(url, "URL was not in the latest search results".into()));
                continue;
            }
            let (status, v, source) = self.post("browse", json!({"url": url, "question": question, "page": 1})).await?;
            self.count(source);
            out.push(match v["error"].as_str() {
                Some(e) => failed(url, e.to_string()),
                None if status != 200 => failed(url, format!("HTTP {status}")),
                None => BrowseResult {
                    url: url.clone(),
                    title: v["title"].as_str().unwrap_or("").into(),
                    status: v["status"].as_u64().map(|s| s as u16),
                    pages_total: v["pages_total"].as_u64().unwrap_or(1) as usize,
                    chunks: vec![PageChunk { page_number: 1, summary: v["content"].as_str().unwrap_or("").into() }],
                    source,
                    error: None,
                },
            });
        }
        Ok(out)
    }
}

fn failed(url: &str, error: String) -> BrowseResult {
    BrowseResult {
        url: url.into(),
        title: String::new(),
        status: None,
        pages_total: 0,
        chunks: Vec::new(),
        source: Source::Miss,
        error: Some(error),
    }
}

impl Tools {
    /// Runs `web_search`; the observation text.
    pub async fn search(&self, ep: &mut Episode, queries: &[String]) -> Result<String> {
        let results = match self {
            Tools::Local(env) => env.search(Some(ep), queries, None).await?,
            Tools::Remote(remote) => remote.search(ep, queries).await?,
        };
        Ok(observe::search_observation(&results))
    }

    /// Runs `browse_webpage` for `question`; the observation text.
    pub async fn browse(&self, ep: &mut Episode, urls: &[String], question: &str) -> Result<String> {
        let results = match self {
            Tools::Local(env) => env.browse(Some(ep), urls, question, None).await?,
            Tools::Remote(remote) => remote.browse(ep, urls, question).await?,
        };
        Ok(observe::browse_observation(&results))
    }
}
