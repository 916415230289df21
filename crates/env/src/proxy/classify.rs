//! What a proxied request is: a call to a known search API (Serper, Brave, Tavily, SearXNG) as the recorder's
//! logical [`SearchRequest`], an OpenAI-compatible chat completion (model + messages), a page fetch, or any other
//! HTTP exchange; and the exchange key each is recorded and replayed under. Credentials never reach a key.
use serde_json::{Map, Value};
use url::Url;

use crate::snapshot::canon::{is_secret_name, strip_secret_params, surt_key};
use crate::snapshot::{reader_key, SearchRequest};
use crate::web::ProviderKind;

/// One request as the proxy handles it: what was sent, what it is, and the key it is recorded under.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    /// Uppercase.
    pub method: String,
    pub url: Url,
    /// Lowercase names, in order (forwarded in record and live modes, never stored).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub kind: Kind,
    pub key: [u8; 32],
}

impl ProxyRequest {
    /// Classifies and keys a request.
    pub fn new(method: &str, url: Url, headers: Vec<(String, String)>, body: Vec<u8>) -> ProxyRequest {
        let method = method.to_ascii_uppercase();
        let kind = classify(&method, &url, &body);
        let key = exchange_key(&kind, &method, &url, &body);
        ProxyRequest { method, url, headers, body, kind, key }
    }

    /// The request as the run digest and the logs name it.
    pub fn text(&self) -> String {
        request_text(&self.kind, &self.method, &self.url, &self.body)
    }
}

/// What the proxy understood a request as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A search API call, keyed like the recorder's searches.
    Search { provider: ProviderKind, request: SearchRequest },
    /// A chat completion: the reading model, a judge. `prompt` is the one user message, or the messages' JSON.
    Chat { model: String, prompt: String, stream: bool },
    /// A GET that may be a page (stored as a page capture when the answer is a document).
    Page,
    /// Anything else: method, canonical URL and body digest.
    Http,
}

impl Kind {
    /// Short name for logs and the run digest.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Search { .. } => "search",
            Kind::Chat { .. } => "chat",
            Kind::Page => "page",
            Kind::Http => "http",
        }
    }
}

/// The name a provider's captures are recorded under (as `web::SearchProvider::name`).
pub fn provider_name(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Serper => "serper",
        ProviderKind::Searxng => "searxng",
        ProviderKind::Brave => "brave",
        ProviderKind::Tavily => "tavily",
    }
}

/// Classifies a request by host, path, method and body. A search or chat call whose parameters cannot be
/// understood is an ordinary HTTP exchange (still recorded and replayed, just not shared with `serve`).
pub fn classify(method: &str, url: &Url, body: &[u8]) -> Kind {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let path = url.path();
    let search = match (method, host.as_str(), path) {
        ("POST", "google.serper.dev", "/search") => Some((ProviderKind::Serper, SearchRequest::from_json(body))),
        ("POST", "api.tavily.com", "/search") => Some((ProviderKind::Tavily, tavily_request(body))),
        ("GET", "api.search.brave.com", "/res/v1/web/search") => Some((ProviderKind::Brave, brave_request(url))),
        ("GET", _, p) if p.ends_with("/search") && query_has(url, "format", "json") => {
            Some((ProviderKind::Searxng, searxng_request(url)))
        }
        _ => None,
    };
    if let Some((provider, Ok(request))) = search {
        return Kind::Search { provider, request };
    }
    if method == "POST" && path.ends_with("/chat/completions") {
        if let Some(chat) = chat_request(body) {
            return chat;
        }
    }
    if method == "GET" && body.is_empty() {
        Kind::Page
    } else {
        Kind::Http
    }
}

fn query_has(url: &Url, name: &str, value: &str) -> bool {
    url.query_pairs().any(|(k, v)| k == name && v == value)
}

/// Query parameters renamed to the logical request's names (`None` drops a parameter), then parsed.
fn renamed_query(url: &Url, rename: impl Fn(&str, &str) -> Option<(String, String)>) -> crate::Result<SearchRequest> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url.query_pairs() {
        if let Some((name, value)) = rename(&name, &value) {
            out.append_pair(&name, &value);
        }
    }
    SearchRequest::from_query_string(&out.finish())
}

/// Brave: `count` → `num`, `offset` (pages from 0) → `page`, `country` → `gl`, `search_lang` → `hl`.
fn brave_request(url: &Url) -> crate::Result<SearchRequest> {
    renamed_query(url, |name, value| {
        let renamed = match name {
            "count" => "num",
            "country" => "gl",
            "search_lang" => "hl",
            "offset" => {
                return Some(("page".into(), value.parse::<u32>().map_or(value.into(), |o| (o + 1).to_string())))
            }
            other => other,
        };
        Some((renamed.into(), value.into()))
    })
}

/// SearXNG: `pageno` → `page`, `language` → `hl`; `format=json` is how it is asked, not what.
fn searxng_request(url: &Url) -> crate::Result<SearchRequest> {
    renamed_query(url, |name, value| match name {
        "format" => None,
        "pageno" => Some(("page".into(), value.into())),
        "language" => Some(("hl".into(), value.into())),
        other => Some((other.into(), value.into())),
    })
}

/// Tavily: `query` → `q`, `max_results` → `num`; `search_depth: "basic"` is its default and the recorder's.
fn tavily_request(body: &[u8]) -> crate::Result<SearchRequest> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| crate::Error::InvalidRequest(format!("Tavily request body is not JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(crate::Error::InvalidRequest("Tavily request body is not a JSON object".into()));
    };
    let mut out = Map::new();
    for (name, value) in fields {
        match (name.as_str(), &value) {
            ("search_depth", Value::String(d)) if d == "basic" => continue,
            ("query", _) => out.insert("q".into(), value),
            ("max_results", _) => out.insert("num".into(), value),
            _ => out.insert(name, value),
        };
    }
    SearchRequest::from_json(Value::Object(out).to_string().as_bytes())
}

/// A chat completion request: `model` and a non-empty `messages` list.
fn chat_request(body: &[u8]) -> Option<Kind> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let model = v.get("model")?.as_str()?.to_string();
    let messages = v.get("messages")?.as_array().filter(|m| !m.is_empty())?;
    let stream = v.get("stream").and_then(Value::as_bool).unwrap_or(false);
    Some(Kind::Chat { model, prompt: chat_prompt(messages), stream })
}

/// The prompt a chat is keyed by: the text of a lone user message (the key browse's reading model records
/// under), otherwise the canonical JSON of all the messages.
pub fn chat_prompt(messages: &[Value]) -> String {
    if let [only] = messages {
        if only.get("role").and_then(Value::as_str) == Some("user") {
            if let Some(text) = only.get("content").and_then(Value::as_str) {
                return text.to_string();
            }
        }
    }
    canonical(&Value::Array(messages.to_vec())).to_string()
}

/// `v` with every object's keys sorted, so equal JSON is equal text whatever order the client wrote.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&map[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The digest a request body is keyed by: a JSON object's canonical text without credential-looking fields,
/// other bodies as they are; `None` for no body.
pub fn body_key_digest(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let keyed = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.retain(|name, _| !is_secret_name(name));
            canonical(&Value::Object(map)).to_string().into_bytes()
        }
        _ => body.to_vec(),
    };
    Some(blake3::hash(&keyed).to_hex().to_string())
}

/// The URL as stored: credential-looking query parameters removed.
pub fn stored_url(url: &Url) -> String {
    strip_secret_params(url).to_string()
}

/// The key a request's recorded exchanges live under in the snapshot's `http` family.
pub fn exchange_key(kind: &Kind, method: &str, url: &Url, body: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    match kind {
        Kind::Search { provider, request } => {
            h.update(b"webtape-proxy-search-v1\n");
            h.update(provider_name(*provider).as_bytes());
            h.update(&[0]);
            h.update(&request.key());
        }
        Kind::Chat { model, prompt, stream } => {
            h.update(b"webtape-proxy-chat-v1\n");
            h.update(&reader_key(model, prompt));
            h.update(&[u8::from(*stream)]);
        }
        Kind::Page | Kind::Http => {
            h.update(b"webtape-proxy-http-v1\n");
            h.update(method.as_bytes());
            h.update(&[0]);
            let clean = strip_secret_params(url);
            h.update(surt_key(clean.as_str()).unwrap_or_else(|_| clean.to_string()).as_bytes());
            h.update(&[0]);
            h.update(body_key_digest(body).unwrap_or_default().as_bytes());
        }
    }
    *h.finalize().as_bytes()
}

/// The request as the run digest names it.
pub fn request_text(kind: &Kind, method: &str, url: &Url, body: &[u8]) -> String {
    match kind {
        Kind::Search { provider, request } => format!("{} {}", provider_name(*provider), request.canonical_json()),
        Kind::Chat { model, prompt, stream } => {
            format!("{model} stream={stream} {}", blake3::hash(prompt.as_bytes()).to_hex())
        }
        Kind::Page | Kind::Http => {
            let digest = body_key_digest(body).unwrap_or_default();
            format!("{method} {} {digest}", stored_url(url))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the recorder sends each provider, seen by the proxy, is the recorder's own request (same key).
    #[test]
    fn recorder_requests_classify_to_the_recorders_keys() {
        let client = reqwest::Client::new();
        let mut req = SearchRequest::new("Who wrote Frankenstein?");
        req.hl = Some("en".into());
        let bases = [
            (ProviderKind::Serper, "https://google.serper.dev"),
            (ProviderKind::Brave, "https://api.search.brave.com"),
            (ProviderKind::Tavily, "https://api.tavily.com"),
            (ProviderKind::Searxng, "https://searx.example.org"),
        ];
        for (kind, base) in bases {
            let built = kind.with_key(base.into(), "secret-key".into()).build(&client, &req).build().unwrap();
            let body = built.body().and_then(|b| b.as_bytes()).unwrap_or_default().to_vec();
            let url = Url::parse(built.url().as_str()).unwrap();
            let mut expected = req.clone();
            if kind == ProviderKind::Tavily {
                expected.hl = None; // Tavily is not sent a language
            }
            match classify(built.method().as_str(), &url, &body) {
                Kind::Search { provider, request } => {
                    assert_eq!(provider, kind);
                    assert_eq!(request.key(), expected.key(), "{kind:?}: {}", request.canonical_json());
                }
                other => panic!("{kind:?} classified as {other:?}"),
            }
        }
    }

    #[test]
    fn chats_pages_and_the_rest() {
        let url = Url::parse("https://api.example.com/v1/chat/completions").unwrap();
        let body = br#"{"model":"m","messages":[{"role":"user","content":"read this"}],"temperature":0}"#;
        assert_eq!(
            classify("POST", &url, body),
            Kind::Chat { model: "m".into(), prompt: "read this".into(), stream: false }
        );
        let page = Url::parse("https://example.com/a?api_key=SECRET&b=2").unwrap();
        assert_eq!(classify("GET", &page, b""), Kind::Page);
        assert_eq!(classify("POST", &page, b"x=1"), Kind::Http);
        assert!(!stored_url(&page).contains("SECRET"));
        let other_key = Url::parse("https://example.com/a?b=2&api_key=OTHER").unwrap();
        assert_eq!(exchange_key(&Kind::Page, "GET", &page, b""), exchange_key(&Kind::Page, "GET", &other_key, b""));
        let with = body_key_digest(br#"{"api_key":"k1","q":"x"}"#);
        assert_eq!(with, body_key_digest(br#"{"q":"x","api_key":"k2"}"#), "credentials and field order never key");
    }
}
