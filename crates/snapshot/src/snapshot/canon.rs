//! Canonical keys: the SURT key of a page URL and the logical [`SearchRequest`] with its blake3 key. Whether two
//! URLs or two search requests count as "the same" for recording and replay is decided here and nowhere else.
use std::collections::BTreeMap;

use serde_json::Value;
use url::{Host, Url};

use crate::error::{Error, Result};

/// Query parameters that only track the visitor (besides every `utm_*`); names compared case-insensitively.
const TRACKING_PARAMS: &[&str] =
    &["fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "_ga", "_gl", "igshid"];

/// Request fields that look like credentials: never stored, never hashed; names compared case-insensitively.
const SECRET_KEYS: &[&str] =
    &["api_key", "apikey", "key", "token", "access_token", "auth", "authorization", "x-api-key", "secret", "password"];

/// Domain separator hashed in front of the canonical JSON of a search request.
const SEARCH_KEY_DOMAIN: &[u8] = b"webtape-search-v1\n";
const DEFAULT_NUM: u32 = 10;
const MAX_NUM: u32 = 100;

/// The canonical SURT key of an http(s) URL, e.g. `com,example)/path?a=1&b=2`, for use as a key prefix.
///
/// The scheme, userinfo, fragment, default port, a leading `www`/`wwwN` label and tracking parameters are left
/// out; the host is lowercased; percent-escapes are normalised; query pairs are sorted. The key never contains a
/// space. Anything but an absolute http or https URL with a host is an [`Error::InvalidUrl`].
pub fn surt_key(url: &str) -> Result<String> {
    let invalid = |reason: String| Error::InvalidUrl { url: url.to_string(), reason };
    let parsed = Url::parse(url.trim()).map_err(|e| invalid(parse_reason(e)))?;
    let default_port = match parsed.scheme() {
        "http" => 80,
        "https" => 443,
        other => return Err(invalid(format!("unsupported scheme {other:?}: only http and https URLs are recorded"))),
    };
    let mut key = surt_host(parsed.host()).map_err(invalid)?;
    if let Some(port) = parsed.port().filter(|&p| p != default_port) {
        key.push(':');
        key.push_str(&port.to_string());
    }
    key.push(')');
    match parsed.path() {
        "" => key.push('/'),
        path => key.push_str(&normalize_escapes(path)),
    }
    let query = parsed.query().map(canonical_query).unwrap_or_default();
    if !query.is_empty() {
        key.push('?');
        key.push_str(&query);
    }
    Ok(key)
}

fn parse_reason(err: url::ParseError) -> String {
    match err {
        url::ParseError::RelativeUrlWithoutBase => "no scheme: expected an absolute http:// or https:// URL".into(),
        url::ParseError::EmptyHost => "no host".into(),
        other => format!("cannot parse: {other}"),
    }
}

/// The host part of a SURT: domain labels reversed and comma-joined, IP addresses as they are.
fn surt_host(host: Option<Host<&str>>) -> std::result::Result<String, String> {
    match host {
        None => Err("no host".into()),
        Some(Host::Ipv4(ip)) => Ok(ip.to_string()),
        Some(Host::Ipv6(ip)) => Ok(format!("[{ip}]")),
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            if domain.is_empty() {
                return Err("empty host".into());
            }
            let labels: Vec<&str> = domain.split('.').collect();
            let skip = usize::from(labels.len() > 1 && is_www_label(labels[0]));
            let mut reversed: Vec<&str> = labels[skip..].to_vec();
            reversed.reverse();
            Ok(reversed.join(","))
        }
    }
}

/// `www`, `www2`, `www123`, ...
fn is_www_label(label: &str) -> bool {
    label.strip_prefix("www").is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
}

/// Decodes escapes of unreserved characters (`ALPHA DIGIT - . _ ~`) and uppercases the hex of all others.
/// A `%` not followed by two hex digits is kept as it is.
fn normalize_escapes(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match escape_at(bytes, i) {
            Some(b) if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(b),
            Some(b) => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]),
            None => {
                out.push(bytes[i]);
                i += 1;
                continue;
            }
        }
        i += 3;
    }
    // Only ASCII bytes were decoded and every other byte was copied, so the UTF-8 of `s` is intact.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The byte a `%XX` escape starting at `i` stands for.
fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    match bytes.get(i..i + 3)? {
        [b'%', hi, lo] => Some(hex_value(*hi)? << 4 | hex_value(*lo)?),
        _ => None,
    }
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Query pairs escape-normalised, empty and tracking pairs dropped, sorted by (name, value), `&`-joined.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(normalize_escapes)
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((&pair, ""));
            let (name, value) = (name.to_string(), value.to_string());
            (!is_tracking_param(&name)).then_some((name, value, pair))
        })
        .collect();
    // The whole pair breaks (name, value) ties (`a` vs `a=`), so the order never depends on the input order.
    pairs.sort();
    pairs.into_iter().map(|(_, _, pair)| pair).collect::<Vec<_>>().join("&")
}

fn is_tracking_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_") || TRACKING_PARAMS.contains(&name.as_str())
}

fn is_secret_key(name: &str) -> bool {
    SECRET_KEYS.iter().any(|secret| secret.eq_ignore_ascii_case(name))
}

/// Whether a request field, query parameter or header name looks like a credential (`api_key`, `token`, ...):
/// such values are never stored and never part of a key.
pub fn is_secret_name(name: &str) -> bool {
    is_secret_key(name)
}

/// `url` without its credential-looking query parameters (see [`is_secret_name`]); unchanged when it has none.
pub fn strip_secret_params(url: &Url) -> Url {
    if !url.query_pairs().any(|(name, _)| is_secret_key(&name)) {
        return url.clone();
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !is_secret_key(name))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    if kept.is_empty() {
        out.set_query(None);
    } else {
        out.query_pairs_mut().clear().extend_pairs(kept);
    }
    out
}

/// One logical search request, as the agent asked it, independent of the provider and of credentials.
/// Equality and the key ignore [`SearchRequest::text`]: requests that differ only in case are the same search.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SearchRequest {
    /// The query: trimmed, whitespace runs collapsed to one space, lowercased.
    pub q: String,
    /// The query as the caller wrote it (trimmed; case and punctuation kept): what a provider is sent, since
    /// the key only needs `q`. Not stored; empty means `q`.
    #[serde(skip)]
    pub text: String,
    /// Results per page, 1..=100 (default 10).
    pub num: u32,
    /// Country code, lowercased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gl: Option<String>,
    /// Interface language, lowercased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hl: Option<String>,
    /// Result page, from 1.
    pub page: u32,
    /// Any other scalar parameter, stringified; secret-looking names are never kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl PartialEq for SearchRequest {
    fn eq(&self, o: &Self) -> bool {
        (&self.q, self.num, &self.gl, &self.hl, self.page, &self.extra) == (&o.q, o.num, &o.gl, &o.hl, o.page, &o.extra)
    }
}

impl Eq for SearchRequest {}

impl SearchRequest {
    /// A request for `q` (normalised; sent to providers as written) with the defaults: 10 results, page 1.
    pub fn new(q: &str) -> SearchRequest {
        SearchRequest {
            q: normalize_q(q),
            text: q.trim().to_string(),
            num: DEFAULT_NUM,
            gl: None,
            hl: None,
            page: 1,
            extra: BTreeMap::new(),
        }
    }

    /// The query text a provider is sent: as the caller wrote it, or `q` when that is not known.
    pub fn sent_query(&self) -> &str {
        if self.text.is_empty() {
            &self.q
        } else {
            &self.text
        }
    }

    /// A request from a Serper-style JSON body: `{"q": "...", "num": 10, "gl": "us", "hl": "en", "page": 2}`.
    pub fn from_json(bytes: &[u8]) -> Result<SearchRequest> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::InvalidRequest(format!("request body is not valid JSON: {e}")))?;
        match value {
            Value::Object(map) => Self::from_fields(map),
            other => Err(Error::InvalidRequest(format!("request body must be a JSON object, got {}", kind(&other)))),
        }
    }

    /// A request from a form-urlencoded query string such as `q=rust+borrow&num=5&gl=us` (a leading `?` is allowed).
    pub fn from_query_string(qs: &str) -> Result<SearchRequest> {
        let qs = qs.strip_prefix('?').unwrap_or(qs);
        let fields =
            url::form_urlencoded::parse(qs.as_bytes()).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())));
        Self::from_fields(fields)
    }

    /// Shared by both constructors. A later duplicate field wins; null values and empty names count as absent.
    fn from_fields(fields: impl IntoIterator<Item = (String, Value)>) -> Result<SearchRequest> {
        let mut req = SearchRequest::new("");
        let (mut q, mut query, mut text) = (None, None, String::new());
        for (name, value) in fields {
            if value.is_null() || name.is_empty() || is_secret_key(&name) {
                continue;
            }
            match name.as_str() {
                "q" | "query" => {
                    let written = string_field(&name, &value)?;
                    let slot = if name == "q" { &mut q } else { &mut query };
                    *slot = Some(normalize_q(&written));
                    if name == "q" || text.is_empty() {
                        text = written.trim().to_string();
                    }
                }
                "num" => req.num = int_field("num", &value, MAX_NUM)?,
                "page" => req.page = int_field("page", &value, u32::MAX)?,
                "gl" => req.gl = normalize_code(&string_field("gl", &value)?),
                "hl" => req.hl = normalize_code(&string_field("hl", &value)?),
                _ => {
                    let text = scalar_text(&name, &value)?;
                    req.extra.insert(name, text);
                }
            }
        }
        req.q = match (q, query) {
            (Some(q), Some(alias)) if q != alias => {
                return Err(Error::InvalidRequest(format!("`q` ({q:?}) and its alias `query` ({alias:?}) disagree")))
            }
            (Some(q), _) | (None, Some(q)) => q,
            (None, None) => String::new(),
        };
        if req.q.is_empty() {
            return Err(Error::InvalidRequest("`q` is missing or empty".into()));
        }
        req.text = text;
        Ok(req)
    }

    /// Deterministic JSON: sorted keys, no whitespace, only present fields (`extra` only when not empty).
    /// Normalises again and drops secret-looking extras, so a hand-built request keys the same as a parsed one.
    pub fn canonical_json(&self) -> String {
        let extra: Vec<String> = self
            .extra
            .iter()
            .filter(|(name, _)| !name.is_empty() && !is_secret_key(name))
            .map(|(name, value)| format!("{}:{}", json_string(name), json_string(value)))
            .collect();
        let mut fields = Vec::with_capacity(6);
        if !extra.is_empty() {
            fields.push(format!("\"extra\":{{{}}}", extra.join(",")));
        }
        for (name, code) in [("gl", &self.gl), ("hl", &self.hl)] {
            if let Some(code) = code.as_deref().and_then(normalize_code) {
                fields.push(format!("\"{name}\":{}", json_string(&code)));
            }
        }
        fields.push(format!("\"num\":{}", self.num));
        fields.push(format!("\"page\":{}", self.page));
        fields.push(format!("\"q\":{}", json_string(&normalize_q(&self.q))));
        format!("{{{}}}", fields.join(","))
    }

    /// blake3 of `webtape-search-v1\n` followed by [`canonical_json`](Self::canonical_json).
    pub fn key(&self) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(SEARCH_KEY_DOMAIN);
        hasher.update(self.canonical_json().as_bytes());
        *hasher.finalize().as_bytes()
    }
}

/// Trimmed, Unicode whitespace runs collapsed to one space, lowercased.
fn normalize_q(q: &str) -> String {
    q.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Trimmed and lowercased; `None` when empty.
fn normalize_code(code: &str) -> Option<String> {
    let code = code.trim().to_lowercase();
    (!code.is_empty()).then_some(code)
}

fn string_field(name: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(Error::InvalidRequest(format!("`{name}` must be a string, got {}", kind(other)))),
    }
}

/// An integer in `1..=max`, given as a JSON number or as a string of digits.
fn int_field(name: &str, value: &Value, max: u32) -> Result<u32> {
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match parsed.and_then(|n| u32::try_from(n).ok()) {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        _ if max == u32::MAX => Err(Error::InvalidRequest(format!("`{name}` must be a positive integer, got {value}"))),
        _ => Err(Error::InvalidRequest(format!("`{name}` must be an integer from 1 to {max}, got {value}"))),
    }
}

/// The canonical text of an extra field: strings as they are, numbers and booleans as JSON writes them.
fn scalar_text(name: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => {
            Err(Error::InvalidRequest(format!("`{name}` must be a string, number or boolean, got {}", kind(other))))
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
#[path = "canon_tests.rs"]
mod tests;
