//! The records stored in a snapshot's column families and their key encodings. Pure data: no I/O here.
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Length of the content hash that ends every capture key (see [`page_key`]).
const KEY_HASH_LEN: usize = 8;

/// One fetch of one URL: what the server answered (or why the fetch failed). The body lives in the `blobs`
/// column family under `body_digest`; the extracted text lives in `text` under the capture's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCapture {
    /// The URL as requested.
    pub url: String,
    /// The URL the content came from after redirects (equal to `url` when there were none).
    pub final_url: String,
    /// Every hop of the redirect chain, in order, not counting `url` itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<String>,
    /// HTTP status, or `None` for content that did not come over HTTP (WARC `resource` records, corpora).
    pub status: Option<u16>,
    /// Selected response headers (lowercase names, in the order received).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The media type of the body, e.g. `text/html; charset=utf-8`.
    pub content_type: Option<String>,
    /// blake3 of the body bytes (hex), when there is a body.
    pub body_digest: Option<String>,
    /// Length of the body in bytes.
    pub body_len: u64,
    /// The body was cut at the recorder's size limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// When the capture was made, RFC 3339 in UTC.
    pub captured_at: String,
    /// Why the fetch failed, when it did; replay returns the same failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_error: Option<String>,
    /// Corpus document id, for pages imported from a Search-R1 / FlashRAG JSONL corpus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_id: Option<String>,
}

/// One answer of a search provider to one logical request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchCapture {
    /// Canonical JSON of the logical request (secrets stripped), see `canon::SearchRequest`.
    pub request: serde_json::Value,
    /// Provider name (`serper`, `searxng`, `brave`, `tavily`, ...).
    pub provider: String,
    /// blake3 (hex) of the raw provider response body, stored in `blobs`.
    pub raw_digest: Option<String>,
    /// Results as parsed from the raw response.
    pub results: Vec<SearchResult>,
    /// When the capture was made, RFC 3339 in UTC.
    pub captured_at: String,
    /// Why the provider call failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the provider returned beside the organic results, in Serper's names (`answerBox`,
    /// `knowledgeGraph`, `peopleAlsoAsk`, `relatedSearches`); see `web::side`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extras: serde_json::Map<String, serde_json::Value>,
}

/// One organic result of a search capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    pub title: String,
    pub url: String,
    pub snippet: String,
    pub position: u32,
}

/// One HTTP exchange recorded by `webtape proxy` that replays byte for byte: what was asked (method, URL with
/// secret parameters removed, digest of the request body) and what came back (status, headers, body in `blobs`).
/// Request headers are never stored: they carry the credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCapture {
    /// What the proxy understood the exchange as: `search`, `chat` or `http`.
    pub kind: String,
    pub method: String,
    /// The URL as requested, secret query parameters removed.
    pub url: String,
    /// blake3 (hex) of the request body the key was made from (secret fields removed), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_digest: Option<String>,
    pub status: u16,
    /// End-to-end response headers (lowercase names, in the order received; cookies and hop-by-hop headers dropped).
    pub headers: Vec<(String, String)>,
    /// blake3 (hex) of the response body, stored in `blobs`.
    pub body_digest: Option<String>,
    pub body_len: u64,
    /// When the capture was made, RFC 3339 in UTC.
    pub captured_at: String,
}

/// Extracted title and main text of a page capture (the `text` column family; derived from the body).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PageText {
    pub title: String,
    pub text: String,
    /// The language the page declares (primary subtag, e.g. `en`), when it declares one; absent in records made
    /// before webtape kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// The 14-digit `YYYYMMDDhhmmss` form of an RFC 3339 time, as used in keys and CDXJ.
pub fn timestamp14(rfc3339: &str) -> Result<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map_err(|e| Error::Corrupt { what: format!("time {rfc3339:?}"), message: e.to_string() })?;
    Ok(t.with_timezone(&chrono::Utc).format("%Y%m%d%H%M%S").to_string())
}

/// Key of a page capture: `SURT ␠ YYYYMMDDhhmmss ␠` then 8 bytes of blake3 over the encoded record.
/// Captures of one URL sort by time; two different captures in the same second both survive, and the same
/// capture imported twice (or from two snapshots being merged) lands on the same key.
pub fn page_key(surt: &str, capture: &PageCapture, encoded: &[u8]) -> Result<Vec<u8>> {
    let mut key = page_prefix(surt);
    key.extend_from_slice(timestamp14(&capture.captured_at)?.as_bytes());
    key.push(b' ');
    key.extend_from_slice(&blake3::hash(encoded).as_bytes()[..KEY_HASH_LEN]);
    Ok(key)
}

/// The prefix shared by every capture of one SURT key.
pub fn page_prefix(surt: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(surt.len() + 24);
    key.extend_from_slice(surt.as_bytes());
    key.push(b' ');
    key
}

/// Splits a page key into its SURT and 14-digit timestamp.
pub fn split_page_key(key: &[u8]) -> Result<(&str, &str)> {
    let bad = || Error::Corrupt { what: "page key".into(), message: format!("{:?}", String::from_utf8_lossy(key)) };
    if key.len() < 14 + 2 + KEY_HASH_LEN + 1 {
        return Err(bad());
    }
    let head = &key[..key.len() - KEY_HASH_LEN - 1];
    let (surt, ts) = head.split_at(head.len() - 14);
    let surt = surt.strip_suffix(b" ").ok_or_else(bad)?;
    Ok((std::str::from_utf8(surt).map_err(|_| bad())?, std::str::from_utf8(ts).map_err(|_| bad())?))
}

/// Key of a search capture: the 32-byte request key, the capture time (14 digits) and 8 bytes of content hash.
pub fn search_key(request_key: &[u8; 32], capture: &SearchCapture, encoded: &[u8]) -> Result<Vec<u8>> {
    timed_key(request_key, &capture.captured_at, encoded)
}

/// Key of an HTTP capture: its 32-byte exchange key, the capture time (14 digits) and 8 bytes of content hash.
pub fn http_key(exchange_key: &[u8; 32], capture: &HttpCapture, encoded: &[u8]) -> Result<Vec<u8>> {
    timed_key(exchange_key, &capture.captured_at, encoded)
}

/// `prefix` ‖ the capture time as 14 digits ‖ the first bytes of blake3(`encoded`): the key of every capture that
/// is looked up by a 32-byte request key and kept once per time and content.
fn timed_key(prefix: &[u8; 32], captured_at: &str, encoded: &[u8]) -> Result<Vec<u8>> {
    let mut key = Vec::with_capacity(32 + 14 + KEY_HASH_LEN);
    key.extend_from_slice(prefix);
    key.extend_from_slice(timestamp14(captured_at)?.as_bytes());
    key.extend_from_slice(&blake3::hash(encoded).as_bytes()[..KEY_HASH_LEN]);
    Ok(key)
}

/// Key of a reader output: blake3(model id ‖ 0 ‖ prompt).
pub fn reader_key(model: &str, prompt: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(model.as_bytes());
    h.update(&[0]);
    h.update(prompt.as_bytes());
    *h.finalize().as_bytes()
}

/// Decodes a JSON record, naming what it is on failure.
pub fn decode<T: serde::de::DeserializeOwned>(what: &str, key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        what: format!("{what} {}", String::from_utf8_lossy(key)),
        message: e.to_string(),
    })
}

/// Encodes a record as JSON (field order fixed by the struct, so the bytes are deterministic).
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(record).expect("records serialize infallibly")
}
