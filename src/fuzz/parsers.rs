//! In-memory targets: HTTP response messages, HTML/text/PDF extraction with charset detection, SURT keys, search
//! request keys, tool calls from model output, provider answers. Each checks what its parser promises.
use serde_json::{Map, Value};

use super::{rejected, split_variant, Verdict};
use crate::agent::parse::{parse_turn, Action};
use crate::extract::{decode_body, extract_body, MAX_TEXT_BYTES};
use crate::snapshot::{http, surt_key, SearchRequest};
use crate::web::providers::ProviderKind;

/// A WARC `response` block: status line, headers, payload with its transfer- and content-encodings undone.
pub fn http_response(data: &[u8]) -> Verdict {
    match http::parse_response(data) {
        Ok(r) if r.body.len() as u64 > http::MAX_DECODED_BYTES + data.len() as u64 => {
            Verdict::Broken(format!("decoded body of {} bytes passes the bomb guard", r.body.len()))
        }
        Ok(_) => Verdict::Accepted,
        Err(e) => rejected(e),
    }
}

/// First line: the declared Content-Type (empty: none); the rest: the body.
pub fn html(data: &[u8]) -> Verdict {
    let (content_type, body) = split_variant(data);
    let content_type = (!content_type.is_empty()).then_some(content_type.as_str());
    let _decoded = decode_body(body, content_type);
    let page = extract_body(body, content_type);
    if page.text.len() > MAX_TEXT_BYTES {
        return Verdict::Broken(format!("extracted text of {} bytes passes the cap", page.text.len()));
    }
    if page.title.len() > 2048 {
        return Verdict::Broken(format!("title of {} bytes passes the cap", page.title.len()));
    }
    Verdict::Accepted
}

/// A PDF body, as served with `application/pdf`.
pub fn pdf(data: &[u8]) -> Verdict {
    let page = extract_body(data, Some("application/pdf"));
    if page.text.len() > MAX_TEXT_BYTES {
        return Verdict::Broken(format!("PDF text of {} bytes passes the cap", page.text.len()));
    }
    if page.text.is_empty() {
        return Verdict::Rejected("no text (an unreadable PDF keeps its bytes only)".into());
    }
    Verdict::Accepted
}

/// A URL: its SURT key has no whitespace, and the URL as the `url` crate writes it back keys the same.
pub fn surt(data: &[u8]) -> Verdict {
    let url = String::from_utf8_lossy(data);
    let key = match surt_key(&url) {
        Ok(k) => k,
        Err(e) => return rejected(e.to_string()),
    };
    if key.chars().any(char::is_whitespace) {
        return Verdict::Broken(format!("SURT key {key:?} holds whitespace"));
    }
    let Ok(serialized) = url::Url::parse(url.trim()) else {
        return Verdict::Broken("a URL with a SURT key that the url crate refuses".into());
    };
    match surt_key(serialized.as_str()) {
        Ok(again) if again == key => Verdict::Accepted,
        Ok(again) => Verdict::Broken(format!("{url:?} keys {key:?} but its serialization keys {again:?}")),
        Err(e) => Verdict::Broken(format!("{url:?} keys {key:?} but its serialization is refused: {e}")),
    }
}

/// First line `json` or `query` (else the whole input is a JSON body). A parsed request, written back as a flat
/// JSON body, parses to the same key.
pub fn search_request(data: &[u8]) -> Verdict {
    let (variant, rest) = split_variant(data);
    let parsed = match variant.as_str() {
        "query" => SearchRequest::from_query_string(&String::from_utf8_lossy(rest)),
        "json" => SearchRequest::from_json(rest),
        _ => SearchRequest::from_json(data),
    };
    let req = match parsed {
        Ok(r) => r,
        Err(e) => return rejected(e.to_string()),
    };
    let mut body: Map<String, Value> = req.extra.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect();
    body.insert("q".into(), req.q.clone().into());
    body.insert("num".into(), req.num.into());
    body.insert("page".into(), req.page.into());
    for (name, code) in [("gl", &req.gl), ("hl", &req.hl)] {
        if let Some(code) = code {
            body.insert(name.into(), code.clone().into());
        }
    }
    match SearchRequest::from_json(Value::Object(body).to_string().as_bytes()) {
        Ok(again) if again.key() == req.key() => Verdict::Accepted,
        Ok(again) => {
            Verdict::Broken(format!("request {} written back keys as {}", req.canonical_json(), again.canonical_json()))
        }
        Err(e) => Verdict::Broken(format!("request {} written back is refused: {e}", req.canonical_json())),
    }
}

/// One model turn (after the prefilled `<think>`): an action, or a format error that says what is wrong.
pub fn tool_call(data: &[u8]) -> Verdict {
    match parse_turn(&String::from_utf8_lossy(data)) {
        Action::Invalid(reason) => rejected(reason),
        Action::Search(list) | Action::Browse(list) if list.iter().any(|s| s.trim().is_empty()) => {
            Verdict::Broken(format!("an empty query or URL in {list:?}"))
        }
        _ => Verdict::Accepted,
    }
}

/// First line: `serper`, `brave`, `tavily` or `searxng` (else all four); the rest: the raw answer body.
pub fn providers(data: &[u8]) -> Verdict {
    let (variant, rest) = split_variant(data);
    let kinds = match variant.as_str() {
        "serper" => vec![ProviderKind::Serper],
        "brave" => vec![ProviderKind::Brave],
        "tavily" => vec![ProviderKind::Tavily],
        "searxng" => vec![ProviderKind::Searxng],
        _ => vec![ProviderKind::Serper, ProviderKind::Brave, ProviderKind::Tavily, ProviderKind::Searxng],
    };
    let body = if kinds.len() == 1 { rest } else { data };
    let mut verdict = Verdict::Accepted;
    for kind in kinds {
        let provider = kind.with_key("http://127.0.0.1:9".into(), "fuzz-key".into());
        let _side = provider.side(body);
        match provider.parse(body) {
            Ok(results) if results.iter().any(|r| r.url.is_empty()) => {
                return Verdict::Broken(format!("{} parsed a result without a URL", provider.name()))
            }
            Ok(_) => {}
            Err(e) => verdict = rejected(e.to_string()),
        }
    }
    verdict
}
