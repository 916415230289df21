//! `web_search`: each query answered from a recorded capture (exact), else by the miss policy (BM25 over the
//! snapshot, or "not in snapshot"), or from the live provider (live / record modes).
use super::{Environment, Episode, LogEntry, MissPolicy, Source};
use crate::error::{Error, Result};
use crate::snapshot::{SearchCapture, SearchRequest, Snapshot};

/// One search result as the agent sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchItem {
    pub title: String,
    pub url: String,
    pub snippet: String,
    /// Provider rank as 1/position for recorded results; the BM25 score for fallbacks.
    pub score: f32,
}

/// The answer to one query.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueryResult {
    pub query: String,
    pub items: Vec<SearchItem>,
    pub source: Source,
    /// The recorded (or live) failure, or why nothing could be answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the provider returned beside the results, in Serper's names (`answerBox`, `knowledgeGraph`, ..).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extras: serde_json::Map<String, serde_json::Value>,
}

impl QueryResult {
    fn failed(query: &str, source: Source, error: String) -> QueryResult {
        QueryResult {
            query: query.to_string(),
            items: Vec::new(),
            source,
            error: Some(error),
            extras: Default::default(),
        }
    }

    /// The answer a capture replays: its first `k` results, error and side data.
    fn from_capture(query: &str, capture: SearchCapture, k: usize, source: Source) -> QueryResult {
        let items = items_from(&capture, k);
        QueryResult { query: query.to_string(), items, source, error: capture.error, extras: capture.extras }
    }
}

fn items_from(capture: &SearchCapture, k: usize) -> Vec<SearchItem> {
    capture
        .results
        .iter()
        .take(k)
        .map(|r| SearchItem {
            title: r.title.clone(),
            url: r.url.clone(),
            snippet: r.snippet.clone(),
            score: 1.0 / r.position.max(1) as f32,
        })
        .collect()
}

/// The capture to replay, by the snapshot's one time rule ([`crate::snapshot::when`]): the first, or the one
/// captured closest to `at` in real seconds.
fn pick(captures: Vec<SearchCapture>, at: Option<&str>) -> Result<Option<SearchCapture>> {
    let at = at.map(crate::snapshot::when::parse_at).transpose()?;
    let chosen = crate::snapshot::when::choose(captures.iter().map(|c| c.captured_at.as_str()), at);
    Ok(chosen.and_then(|i| captures.into_iter().nth(i)))
}

impl Environment {
    /// Answers `queries` with up to `k` results each (default `top_k`). With an episode, DeepResearcher's rules
    /// apply: at most `max_queries` queries, and the results become the URLs the episode may browse.
    pub async fn search(
        &self,
        mut episode: Option<&mut Episode>,
        queries: &[String],
        k: Option<usize>,
    ) -> Result<Vec<QueryResult>> {
        let k = k.unwrap_or(self.cfg.top_k).max(1);
        let take = if episode.is_some() { self.cfg.max_queries } else { queries.len() };
        let mut out = Vec::new();
        for query in queries.iter().take(take) {
            let result = self.search_one(query, k).await?;
            let bytes = super::log::answer_bytes(&result)?;
            let request = SearchRequest::new(query).q;
            self.logged(
                episode.as_deref_mut(),
                LogEntry::new("search", format!("{request}\tk={k}"), result.source, &bytes),
            );
            out.push(result);
        }
        if let Some(ep) = episode {
            ep.allowed_urls = out.iter().flat_map(|r| r.items.iter().map(|i| i.url.clone())).collect();
        }
        Ok(out)
    }

    async fn search_one(&self, query: &str, k: usize) -> Result<QueryResult> {
        let mut req = SearchRequest::new(query);
        req.num = self.cfg.search_num;
        if req.q.is_empty() {
            return Ok(QueryResult::failed(query, Source::Miss, "empty query".into()));
        }
        if let Some(snap) = &self.snapshot {
            return self.replay_one(snap, &req, query, k);
        }
        // A recording answers a request it already holds as its replay will, so a record run replays exactly
        // (and a repeated query costs no second provider call).
        let at = self.cfg.at.as_deref();
        if let Some(Some(capture)) = self.record(|w| pick(w.search_captures(&req)?, at))? {
            return Ok(QueryResult::from_capture(query, capture, k, Source::Exact));
        }
        let live =
            self.live.as_ref().ok_or_else(|| Error::Config("environment has neither snapshot nor live web".into()))?;
        let outcome = live.searcher.search(&req).await;
        let result = QueryResult::from_capture(query, outcome.capture.clone(), k, Source::Live);
        self.record(|w| w.put_search_capture(&req, outcome.capture, outcome.raw.as_deref()))?;
        Ok(result)
    }

    fn replay_one(&self, snap: &Snapshot, req: &SearchRequest, query: &str, k: usize) -> Result<QueryResult> {
        if let Some(capture) = pick(snap.search_captures(req)?, self.cfg.at.as_deref())? {
            return Ok(QueryResult::from_capture(query, capture, k, Source::Exact));
        }
        match self.cfg.miss {
            MissPolicy::Strict => Ok(QueryResult::failed(query, Source::Miss, "search not in snapshot".into())),
            MissPolicy::Bm25 => {
                let hits = snap.search(&req.q, k, self.cfg.snippet_chars)?;
                let items = hits
                    .into_iter()
                    .map(|h| SearchItem { title: h.title, url: h.url, snippet: h.snippet, score: h.score })
                    .collect();
                Ok(QueryResult {
                    query: query.to_string(),
                    items,
                    source: Source::Bm25,
                    error: None,
                    extras: Default::default(),
                })
            }
        }
    }
}
