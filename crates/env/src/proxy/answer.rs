//! What the proxy sends back: an [`Answer`] (status, headers, body, and where it came from) built from a recorded
//! capture, written in a search provider's own shape (a BM25 miss, or a search recorded through another provider),
//! or a clear error; and the bytes of an answer that the run digest covers. No I/O here.
use serde_json::{json, Value};

use super::classify::provider_name;
use crate::env::Source;
use crate::snapshot::{HttpCapture, PageCapture, SearchCapture, SearchRequest, SearchResult};
use crate::web::ProviderKind;

/// The status of a request replay cannot answer (and of a recorded failure): outside what real servers send,
/// so no client mistakes it for the site's own answer.
pub const MISS_STATUS: u16 = 599;

/// Response headers never stored nor replayed: hop-by-hop ones, the length (recomputed), cookies (credentials),
/// and `alt-svc` (would send clients around the proxy over HTTP/3).
const DROPPED_HEADERS: [&str; 13] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "set-cookie",
    "set-cookie2",
    "alt-svc",
    "www-authenticate",
];

/// One answer of the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Lowercase names, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source: Source,
}

impl Answer {
    /// A JSON answer.
    pub fn json(status: u16, value: &Value, source: Source) -> Answer {
        let headers = vec![("content-type".to_string(), "application/json".to_string())];
        Answer { status, headers, body: value.to_string().into_bytes(), source }
    }

    /// An error answer from the proxy itself: `{"error": message}`, marked with `x-webtape-proxy: error`.
    pub fn error(status: u16, message: &str, source: Source) -> Answer {
        let mut answer = Answer::json(status, &json!({ "error": format!("webtape proxy: {message}") }), source);
        answer.headers.push(("x-webtape-proxy".into(), "error".into()));
        answer
    }

    /// The bytes the run digest covers: status, headers and body, framed.
    pub fn digest_bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\n", self.status).into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
        }
        out.extend_from_slice(format!("\n{}\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// A recorded HTTP exchange with its body.
    pub fn from_http(capture: &HttpCapture, body: Vec<u8>, source: Source) -> Answer {
        Answer { status: capture.status, headers: capture.headers.clone(), body, source }
    }

    /// A recorded page (a recorded failure is a [`MISS_STATUS`] error naming it).
    pub fn from_page(capture: &PageCapture, body: Option<Vec<u8>>, source: Source) -> Answer {
        if let Some(error) = &capture.fetch_error {
            return Answer::error(
                MISS_STATUS,
                &format!("the recording of {} is a failure: {error}", capture.url),
                source,
            );
        }
        let mut headers = kept_headers(&capture.headers);
        if let Some(ct) = capture.content_type.as_ref().filter(|_| !headers.iter().any(|(n, _)| n == "content-type")) {
            headers.push(("content-type".into(), ct.clone()));
        }
        Answer { status: capture.status.unwrap_or(200), headers, body: body.unwrap_or_default(), source }
    }

    /// A recorded search answered to a client of `provider`: the raw response when that provider recorded it,
    /// else its results in `provider`'s shape; a recorded failure is a [`MISS_STATUS`] error.
    pub fn from_search(
        provider: ProviderKind,
        capture: &SearchCapture,
        raw: Option<Vec<u8>>,
        source: Source,
    ) -> Answer {
        if let Some(error) = &capture.error {
            return Answer::error(MISS_STATUS, &format!("the recorded search failed: {error}"), source);
        }
        match raw {
            Some(raw) if capture.provider == provider_name(provider) => {
                let headers = vec![("content-type".to_string(), "application/json".to_string())];
                Answer { status: 200, headers, body: raw, source }
            }
            _ => {
                let request: SearchRequest = serde_json::from_value(capture.request.clone())
                    .unwrap_or_else(|_| SearchRequest::new(capture.request["q"].as_str().unwrap_or("")));
                render_search(provider, &request, &capture.results, source)
            }
        }
    }

    /// A chat completion built from a recorded reading-model output (recorded by `serve`/`train`, not the proxy).
    pub fn chat_from_reader(model: &str, prompt: &str, text: &str, source: Source) -> Answer {
        let id = &blake3::hash(format!("{model}\n{prompt}").as_bytes()).to_hex()[..24];
        let body = json!({
            "id": format!("chatcmpl-webtape-{id}"), "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        });
        Answer::json(200, &body, source)
    }
}

/// Response headers as stored and replayed (see [`DROPPED_HEADERS`]).
pub fn kept_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| !DROPPED_HEADERS.contains(&n.as_str()))
        .collect()
}

/// `results` as `provider` writes a search answer (Serper `organic`, Brave `web.results`, Tavily and SearXNG
/// `results`).
pub fn render_search(
    provider: ProviderKind,
    request: &SearchRequest,
    results: &[SearchResult],
    source: Source,
) -> Answer {
    let q = request.sent_query();
    let body = match provider {
        ProviderKind::Serper => {
            let organic: Vec<Value> = results
                .iter()
                .map(|r| json!({"title": r.title, "link": r.url, "snippet": r.snippet, "position": r.position}))
                .collect();
            let params = json!({"q": q, "num": request.num, "page": request.page, "type": "search"});
            json!({"searchParameters": params, "organic": organic})
        }
        ProviderKind::Brave => {
            let items: Vec<Value> =
                results.iter().map(|r| json!({"title": r.title, "url": r.url, "description": r.snippet})).collect();
            json!({"type": "search", "query": {"original": q}, "web": {"type": "search", "results": items}})
        }
        ProviderKind::Tavily => {
            let items: Vec<Value> = results
                .iter()
                .map(|r| json!({"title": r.title, "url": r.url, "content": r.snippet, "score": 1.0 / f64::from(r.position.max(1))}))
                .collect();
            json!({"query": q, "results": items})
        }
        ProviderKind::Searxng => {
            let items: Vec<Value> =
                results.iter().map(|r| json!({"title": r.title, "url": r.url, "content": r.snippet})).collect();
            json!({"query": q, "number_of_results": items.len(), "results": items})
        }
    };
    Answer::json(200, &body, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_headers_lose_cookies_lengths_and_hop_by_hop_ones() {
        let given: Vec<(String, String)> =
            [("Content-Type", "text/html"), ("Set-Cookie", "s=1"), ("Content-Length", "5")]
                .iter()
                .chain(&[("Transfer-Encoding", "chunked"), ("ETag", "\"x\"")])
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
        let kept = kept_headers(&given);
        assert_eq!(kept, vec![("content-type".into(), "text/html".into()), ("etag".into(), "\"x\"".into())]);
    }

    #[test]
    fn results_render_in_each_providers_shape() {
        let results = vec![SearchResult {
            title: "T".into(),
            url: "https://a.example/".into(),
            snippet: "S".into(),
            position: 1,
        }];
        let req = SearchRequest::new("Rust");
        let shape =
            |p| -> Value { serde_json::from_slice(&render_search(p, &req, &results, Source::Bm25).body).unwrap() };
        assert_eq!(shape(ProviderKind::Serper)["organic"][0]["link"], "https://a.example/");
        assert_eq!(shape(ProviderKind::Brave)["web"]["results"][0]["description"], "S");
        assert_eq!(shape(ProviderKind::Tavily)["results"][0]["content"], "S");
        assert_eq!(shape(ProviderKind::Searxng)["results"][0]["url"], "https://a.example/");
    }
}
