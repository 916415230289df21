//! The proxy's side of the snapshot: the recorded answer to a request (its exact exchange, else what `record`,
//! `serve` and `train` recorded for the same search, chat or page), replay's answer to a miss, and how an answer
//! from the real host is recorded - searches as search captures under the recorder's keys, chats as reader
//! outputs, documents as page captures, each with the exchange that replays it byte for byte.
use serde_json::Value;

use super::answer::{Answer, MISS_STATUS};
use super::classify::{body_key_digest, provider_name, stored_url, Kind, ProxyRequest};
use crate::env::{MissPolicy, Source};
use crate::error::Result;
use crate::snapshot::{
    now_rfc3339, HttpCapture, PageCapture, PageView, SearchCapture, SearchRequest, SearchResult, Snapshot,
    SnapshotWriter,
};
use crate::web::client::Response;
use crate::web::ProviderKind;

/// Read access shared by a replayed snapshot and a recording in progress.
pub trait Recorded {
    fn http_captures(&self, key: &[u8; 32]) -> Result<Vec<HttpCapture>>;
    fn search_captures(&self, request: &SearchRequest) -> Result<Vec<SearchCapture>>;
    fn page(&self, url: &str, at: Option<&str>) -> Result<Option<PageView>>;
    fn reader_output(&self, model: &str, prompt: &str) -> Result<Option<String>>;
    fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>>;
}

/// The same lookups on a snapshot being read (replay) and one being written (record answers from what it stored).
macro_rules! recorded_by {
    ($t:ty) => {
        impl Recorded for $t {
            fn http_captures(&self, key: &[u8; 32]) -> Result<Vec<HttpCapture>> {
                <$t>::http_captures(self, key)
            }
            fn search_captures(&self, request: &SearchRequest) -> Result<Vec<SearchCapture>> {
                <$t>::search_captures(self, request)
            }
            fn page(&self, url: &str, at: Option<&str>) -> Result<Option<PageView>> {
                self.get_page(url, at)
            }
            fn reader_output(&self, model: &str, prompt: &str) -> Result<Option<String>> {
                <$t>::reader_output(self, model, prompt)
            }
            fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>> {
                <$t>::blob(self, digest)
            }
        }
    };
}
recorded_by!(Snapshot);
recorded_by!(SnapshotWriter);

/// The one of `times` replay uses: the first, or the closest to `at` (the snapshot's one time rule).
fn pick<'a>(times: impl Iterator<Item = &'a str>, at: Option<&str>) -> Result<Option<usize>> {
    let at = at.map(crate::snapshot::when::parse_at).transpose()?;
    Ok(crate::snapshot::when::choose(times, at))
}

fn body_of(rec: &dyn Recorded, digest: Option<&str>) -> Result<Option<Vec<u8>>> {
    digest.map(|d| rec.blob(d)).transpose().map(Option::flatten)
}

/// The recorded answer to `req` (source `exact`), or `None` when nothing recorded answers it exactly.
pub fn recorded(rec: &dyn Recorded, req: &ProxyRequest, at: Option<&str>) -> Result<Option<Answer>> {
    let exchanges = rec.http_captures(&req.key)?;
    if let Some(i) = pick(exchanges.iter().map(|c| c.captured_at.as_str()), at)? {
        let body = body_of(rec, exchanges[i].body_digest.as_deref())?.unwrap_or_default();
        return Ok(Some(Answer::from_http(&exchanges[i], body, Source::Exact)));
    }
    match &req.kind {
        Kind::Search { provider, request } => {
            let captures = rec.search_captures(request)?;
            let Some(i) = pick(captures.iter().map(|c| c.captured_at.as_str()), at)? else { return Ok(None) };
            let raw = body_of(rec, captures[i].raw_digest.as_deref())?;
            Ok(Some(Answer::from_search(*provider, &captures[i], raw, Source::Exact)))
        }
        Kind::Chat { model, prompt, stream: false } => Ok(rec
            .reader_output(model, prompt)?
            .map(|text| Answer::chat_from_reader(model, prompt, &text, Source::Exact))),
        Kind::Page => {
            let Some(view) = rec.page(&stored_url(&req.url), at)? else { return Ok(None) };
            let body = body_of(rec, view.capture.body_digest.as_deref())?;
            Ok(Some(Answer::from_page(&view.capture, body, Source::Exact)))
        }
        Kind::Chat { .. } | Kind::Http => Ok(None),
    }
}

/// Replay's answer to a request the snapshot does not hold: a search by the miss policy (BM25 over the
/// snapshot's pages in the provider's shape, or `strict`), anything else a [`MISS_STATUS`] error.
pub fn miss(snapshot: &Snapshot, req: &ProxyRequest, policy: MissPolicy) -> Result<Answer> {
    match (&req.kind, policy) {
        (Kind::Search { provider, request }, MissPolicy::Bm25) => {
            let hits = snapshot.search(&request.q, request.num as usize, 200)?;
            let results: Vec<SearchResult> = hits
                .into_iter()
                .enumerate()
                .map(|(i, h)| SearchResult { title: h.title, url: h.url, snippet: h.snippet, position: i as u32 + 1 })
                .collect();
            Ok(super::answer::render_search(*provider, request, &results, Source::Bm25))
        }
        _ => Ok(Answer::error(
            MISS_STATUS,
            &format!("not in snapshot: {} {} ({})", req.method, stored_url(&req.url), req.kind.name()),
            Source::Miss,
        )),
    }
}

/// The answer a response from the real host gives the client (what is recorded, so record, live and replay
/// answer alike): status, the kept headers, the body.
pub fn answer_of(resp: &Response) -> Answer {
    let headers = super::answer::kept_headers(&resp.headers);
    Answer { status: resp.status, headers, body: resp.body.clone(), source: Source::Live }
}

/// Records `resp`, the real host's answer to `req`, into `writer`.
pub fn record(writer: &mut SnapshotWriter, req: &ProxyRequest, resp: &Response) -> Result<()> {
    let answer = answer_of(resp);
    let captured_at = now_rfc3339();
    match &req.kind {
        Kind::Search { provider, request } => {
            let capture = search_capture(*provider, resp, &captured_at);
            writer.put_search_capture(request, capture, Some(&resp.body))?;
        }
        Kind::Chat { model, prompt, .. } if (200..300).contains(&resp.status) => {
            if let Some(text) = completion_text(&resp.body) {
                writer.put_reader_output(model, prompt, &text)?;
            }
        }
        Kind::Page if is_document(&answer) => {
            let capture = page_capture(req, &answer, &captured_at);
            writer.put_page_capture(capture, Some(&answer.body), "proxy")?;
            return Ok(());
        }
        _ => {}
    }
    let capture = HttpCapture {
        kind: req.kind.name().to_string(),
        method: req.method.clone(),
        url: stored_url(&req.url),
        request_digest: body_key_digest(&req.body),
        status: answer.status,
        headers: answer.headers.clone(),
        body_digest: None,
        body_len: 0,
        captured_at,
    };
    writer.put_http_capture(&req.key, capture, &answer.body)?;
    Ok(())
}

/// A page worth a page capture: an HTML, text, XML or PDF body sent unencoded.
fn is_document(answer: &Answer) -> bool {
    let header = |name: &str| answer.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.to_ascii_lowercase());
    let document = header("content-type").is_some_and(|ct| {
        ["text/html", "text/plain", "application/xhtml+xml", "application/pdf", "text/xml", "application/xml"]
            .iter()
            .any(|t| ct.starts_with(t))
    });
    document && header("content-encoding").is_none_or(|e| e == "identity")
}

fn page_capture(req: &ProxyRequest, answer: &Answer, captured_at: &str) -> PageCapture {
    let url = stored_url(&req.url);
    PageCapture {
        url: url.clone(),
        final_url: url,
        redirects: Vec::new(),
        status: Some(answer.status),
        headers: answer.headers.clone(),
        content_type: answer.headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.clone()),
        body_digest: None,
        body_len: 0,
        truncated: false,
        captured_at: captured_at.to_string(),
        fetch_error: None,
        doc_id: None,
    }
}

/// A search capture of a provider's answer, parsed by the recorder's own parser for that provider.
fn search_capture(provider: ProviderKind, resp: &Response, captured_at: &str) -> SearchCapture {
    let name = provider_name(provider);
    let parser = provider.with_key("http://parser.invalid".into(), String::new());
    let mut capture = SearchCapture {
        request: Value::Null,
        provider: name.to_string(),
        raw_digest: None,
        results: Vec::new(),
        captured_at: captured_at.to_string(),
        error: None,
        extras: Default::default(),
    };
    if !(200..300).contains(&resp.status) {
        capture.error = Some(format!("{name} answered HTTP {} (through the proxy)", resp.status));
        return capture;
    }
    match parser.parse(&resp.body) {
        Ok(results) => {
            capture.results = results;
            capture.extras = parser.side(&resp.body).extras;
        }
        Err(e) => capture.error = Some(e.to_string()),
    }
    capture
}

/// The assistant's text of a chat completion: `choices[0].message.content`, or a stream's `delta.content`s.
pub fn completion_text(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v.pointer("/choices/0/message/content").and_then(Value::as_str).map(str::to_string);
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut out = String::new();
    for data in text.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim) {
        if let Ok(chunk) = serde_json::from_str::<Value>(data) {
            out.push_str(chunk.pointer("/choices/0/delta/content").and_then(Value::as_str).unwrap_or(""));
        }
    }
    (!out.is_empty()).then_some(out)
}
