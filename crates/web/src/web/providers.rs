//! Search providers behind one trait: Serper, SearXNG (`format=json`), Brave and Tavily, each with its real
//! request and response schema. A provider only builds requests and parses answers; [`super::search::Searcher`]
//! sends them (rate limit, retries) and keeps the raw bytes.
use serde_json::{json, Value};

use super::side::{self, Side};
use crate::error::{Error, Result};
use crate::snapshot::{SearchRequest, SearchResult};

/// One search API.
pub trait SearchProvider: Send + Sync {
    /// Short name recorded in captures (`serper`, `searxng`, `brave`, `tavily`).
    fn name(&self) -> &'static str;
    /// The HTTP request for `req` (credentials attached here, never stored).
    fn build(&self, client: &reqwest::Client, req: &SearchRequest) -> reqwest::RequestBuilder;
    /// Organic results from the raw response body.
    fn parse(&self, body: &[u8]) -> Result<Vec<SearchResult>>;
    /// What the answer holds beside the organic results, in Serper's names (none by default).
    fn side(&self, _body: &[u8]) -> Side {
        Side::default()
    }
    /// Secrets that must never appear in a snapshot, log or message.
    fn secrets(&self) -> Vec<String>;
}

/// The providers webtape knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    Serper,
    Searxng,
    Brave,
    Tavily,
}

impl ProviderKind {
    /// The environment variable holding the key (SearXNG: the instance URL).
    pub fn env_var(self) -> &'static str {
        match self {
            ProviderKind::Serper => "SERPER_API_KEY",
            ProviderKind::Searxng => "SEARXNG_URL",
            ProviderKind::Brave => "BRAVE_API_KEY",
            ProviderKind::Tavily => "TAVILY_API_KEY",
        }
    }

    fn default_endpoint(self) -> Option<&'static str> {
        match self {
            ProviderKind::Serper => Some("https://google.serper.dev"),
            ProviderKind::Searxng => None,
            ProviderKind::Brave => Some("https://api.search.brave.com"),
            ProviderKind::Tavily => Some("https://api.tavily.com"),
        }
    }

    /// Builds the provider from `--endpoint` (optional) and the environment.
    pub fn from_env(self, endpoint: Option<&str>) -> Result<Box<dyn SearchProvider>> {
        let var = std::env::var(self.env_var()).ok().filter(|v| !v.trim().is_empty());
        if self == ProviderKind::Searxng {
            let base = endpoint.map(str::to_string).or(var).ok_or_else(|| {
                Error::Config("searxng needs an instance: pass --endpoint URL or set SEARXNG_URL".into())
            })?;
            return Ok(Box::new(Searxng { base: trim_base(&base)? }));
        }
        let key = var.ok_or_else(|| {
            Error::Config(format!("{} is not set (the {:?} API key); export it first", self.env_var(), self))
        })?;
        let base = trim_base(endpoint.or(self.default_endpoint()).expect("default endpoint"))?;
        Ok(self.with_key(base, key))
    }

    /// Builds the provider with an explicit endpoint and key (tests, embedding).
    pub fn with_key(self, base: String, key: String) -> Box<dyn SearchProvider> {
        match self {
            ProviderKind::Serper => Box::new(Serper { base, key }),
            ProviderKind::Searxng => Box::new(Searxng { base }),
            ProviderKind::Brave => Box::new(Brave { base, key }),
            ProviderKind::Tavily => Box::new(Tavily { base, key }),
        }
    }
}

fn trim_base(base: &str) -> Result<String> {
    let parsed = url::Url::parse(base).map_err(|e| Error::Config(format!("endpoint {base:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!("endpoint {base:?} must be http or https")));
    }
    Ok(base.trim_end_matches('/').to_string())
}

fn json_body(provider: &str, body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| Error::web(provider, format!("response is not valid JSON: {e}")))
}

/// How a provider writes titles and snippets: plain text (Serper, Tavily: `< hello >` is text), or HTML
/// fragments with `<strong>` markup and entities (Brave, SearXNG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Markup {
    Plain,
    Html,
}

/// Results from `list` (an array of objects), reading title/url/snippet from the given field names.
fn results_from(provider: &str, list: Option<&Value>, fields: [&str; 3], markup: Markup) -> Result<Vec<SearchResult>> {
    let Some(list) = list else { return Ok(Vec::new()) };
    let items = list.as_array().ok_or_else(|| Error::web(provider, "results field is not an array"))?;
    let text = |item: &Value, name: &str| {
        let raw = item.get(name).and_then(Value::as_str).unwrap_or("");
        match markup {
            Markup::Plain => raw.to_string(),
            Markup::Html => html_text(raw),
        }
    };
    let mut out = Vec::new();
    for item in items {
        let url = item.get(fields[1]).and_then(Value::as_str).unwrap_or("").to_string();
        if url.is_empty() {
            continue;
        }
        let position = out.len() as u32 + 1;
        out.push(SearchResult { title: text(item, fields[0]), url, snippet: text(item, fields[2]), position });
    }
    Ok(out)
}

/// The text of an HTML fragment: markup dropped, every entity (named or numeric) decoded, by the HTML parser
/// that reads pages; a `<` that opens no tag stays text.
fn html_text(s: &str) -> String {
    if !s.contains('<') && !s.contains('&') {
        return s.to_string();
    }
    scraper::Html::parse_fragment(s).root_element().text().collect()
}

/// Serper (google.serper.dev): `POST /search` with `X-API-KEY`, JSON `{q, num, gl, hl, page}`, results in `organic`.
struct Serper {
    base: String,
    key: String,
}

impl SearchProvider for Serper {
    fn name(&self) -> &'static str {
        "serper"
    }
    fn build(&self, client: &reqwest::Client, req: &SearchRequest) -> reqwest::RequestBuilder {
        let mut body = json!({"q": req.sent_query(), "num": req.num});
        for (name, value) in [("gl", &req.gl), ("hl", &req.hl)] {
            if let Some(v) = value {
                body[name] = json!(v);
            }
        }
        if req.page > 1 {
            body["page"] = json!(req.page);
        }
        client.post(format!("{}/search", self.base)).header("X-API-KEY", &self.key).json(&body)
    }
    fn parse(&self, body: &[u8]) -> Result<Vec<SearchResult>> {
        let v = json_body("serper", body)?;
        results_from("serper", v.get("organic"), ["title", "link", "snippet"], Markup::Plain)
    }
    fn side(&self, body: &[u8]) -> Side {
        serde_json::from_slice(body).map(|v| side::serper(&v)).unwrap_or_default()
    }
    fn secrets(&self) -> Vec<String> {
        vec![self.key.clone()]
    }
}

/// SearXNG: `GET /search?q=..&format=json&pageno=..&language=..`, results in `results` (`url`, `title`, `content`).
struct Searxng {
    base: String,
}

impl SearchProvider for Searxng {
    fn name(&self) -> &'static str {
        "searxng"
    }
    fn build(&self, client: &reqwest::Client, req: &SearchRequest) -> reqwest::RequestBuilder {
        let mut url = url::Url::parse(&format!("{}/search", self.base)).expect("base is a URL");
        url.query_pairs_mut().append_pair("q", req.sent_query()).append_pair("format", "json");
        url.query_pairs_mut().append_pair("pageno", &req.page.to_string());
        if let Some(hl) = &req.hl {
            url.query_pairs_mut().append_pair("language", hl);
        }
        client.get(url).header("Accept", "application/json")
    }
    fn parse(&self, body: &[u8]) -> Result<Vec<SearchResult>> {
        let v = json_body("searxng", body)?;
        results_from("searxng", v.get("results"), ["title", "url", "content"], Markup::Html)
    }
    fn side(&self, body: &[u8]) -> Side {
        serde_json::from_slice(body).map(|v| side::searxng(&v, html_text)).unwrap_or_default()
    }
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Brave: `GET /res/v1/web/search?q=..&count=..&offset=..` with `X-Subscription-Token`, results in `web.results`.
struct Brave {
    base: String,
    key: String,
}

impl SearchProvider for Brave {
    fn name(&self) -> &'static str {
        "brave"
    }
    fn build(&self, client: &reqwest::Client, req: &SearchRequest) -> reqwest::RequestBuilder {
        let mut url = url::Url::parse(&format!("{}/res/v1/web/search", self.base)).expect("base is a URL");
        url.query_pairs_mut().append_pair("q", req.sent_query()).append_pair("count", &req.num.min(20).to_string());
        if req.page > 1 {
            url.query_pairs_mut().append_pair("offset", &(req.page - 1).min(9).to_string());
        }
        for (name, value) in [("country", &req.gl), ("search_lang", &req.hl)] {
            if let Some(v) = value {
                url.query_pairs_mut().append_pair(name, v);
            }
        }
        client.get(url).header("Accept", "application/json").header("X-Subscription-Token", &self.key)
    }
    fn parse(&self, body: &[u8]) -> Result<Vec<SearchResult>> {
        let v = json_body("brave", body)?;
        results_from(
            "brave",
            v.get("web").and_then(|w| w.get("results")),
            ["title", "url", "description"],
            Markup::Html,
        )
    }
    fn secrets(&self) -> Vec<String> {
        vec![self.key.clone()]
    }
}

/// Tavily: `POST /search` with `Authorization: Bearer`, JSON `{query, max_results, search_depth}`, results in
/// `results` (`title`, `url`, `content`).
struct Tavily {
    base: String,
    key: String,
}

impl SearchProvider for Tavily {
    fn name(&self) -> &'static str {
        "tavily"
    }
    fn build(&self, client: &reqwest::Client, req: &SearchRequest) -> reqwest::RequestBuilder {
        let body = json!({"query": req.sent_query(), "max_results": req.num.min(20), "search_depth": "basic"});
        client.post(format!("{}/search", self.base)).bearer_auth(&self.key).json(&body)
    }
    fn parse(&self, body: &[u8]) -> Result<Vec<SearchResult>> {
        let v = json_body("tavily", body)?;
        results_from("tavily", v.get("results"), ["title", "url", "content"], Markup::Plain)
    }
    fn side(&self, body: &[u8]) -> Side {
        serde_json::from_slice(body).map(|v| side::tavily(&v)).unwrap_or_default()
    }
    fn secrets(&self) -> Vec<String> {
        vec![self.key.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_schema() {
        let serper = ProviderKind::Serper.with_key("http://x".into(), "k".into());
        let body = br#"{"searchParameters":{"q":"a"},"organic":[{"title":"T","link":"https://a.example/","snippet":"S","position":1},{"title":"no link"}]}"#;
        let r = serper.parse(body).unwrap();
        assert_eq!((r.len(), r[0].url.as_str(), r[0].position), (1, "https://a.example/", 1));
        let brave = ProviderKind::Brave.with_key("http://x".into(), "k".into());
        let body = br#"{"web":{"results":[{"title":"B","url":"https://b.example/","description":"a <strong>bold</strong> &amp; more"}]}}"#;
        assert_eq!(brave.parse(body).unwrap()[0].snippet, "a bold & more");
        let tavily = ProviderKind::Tavily.with_key("http://x".into(), "k".into());
        let body = br#"{"query":"q","results":[{"title":"T","url":"https://t.example/","content":"C","score":0.9}]}"#;
        assert_eq!(tavily.parse(body).unwrap()[0].snippet, "C");
        let searx = ProviderKind::Searxng.with_key("http://x".into(), String::new());
        assert_eq!(searx.parse(br#"{"results":[]}"#).unwrap().len(), 0);
        let err = serper.parse(b"<html>rate limited</html>").unwrap_err().to_string();
        assert!(err.contains("serper") && err.contains("not valid JSON"), "{err}");
        assert!(serper.parse(br#"{"organic":{"a":1}}"#).unwrap_err().to_string().contains("not an array"));
    }

    #[test]
    fn providers_are_sent_the_query_as_written() {
        let client = reqwest::Client::new();
        let req = SearchRequest::new("  Who wrote \"Frankenstein\"? ");
        for kind in [ProviderKind::Serper, ProviderKind::Searxng, ProviderKind::Brave, ProviderKind::Tavily] {
            let built = kind.with_key("http://127.0.0.1:9".into(), "k".into()).build(&client, &req).build().unwrap();
            let body = built.body().and_then(|b| b.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned());
            let query: String =
                built.url().query_pairs().filter(|(k, _)| k == "q").map(|(_, v)| v.into_owned()).collect();
            let sent = body.unwrap_or_default() + &query;
            assert!(
                sent.contains(r#"Who wrote \"Frankenstein\"?"#) || sent.contains(r#"Who wrote "Frankenstein"?"#),
                "{kind:?} sent {sent}"
            );
        }
    }

    #[test]
    fn html_providers_decode_every_entity_and_plain_ones_keep_their_text() {
        let brave = ProviderKind::Brave.with_key("http://x".into(), "k".into());
        let body = br#"{"web":{"results":[{"title":"It&#x27;s <b>Caf&eacute;</b>","url":"https://b.example/","description":"l&#39;&eacute;t&eacute;&nbsp;&mdash; 5 &lt; 6 &amp;&amp; x < y"}]}}"#;
        let r = &brave.parse(body).unwrap()[0];
        assert_eq!(r.title, "It's Café");
        assert_eq!(r.snippet, "l'été\u{a0}— 5 < 6 && x < y");
        let searx = ProviderKind::Searxng.with_key("http://x".into(), String::new());
        let body = br#"{"results":[{"title":"T","url":"https://s.example/","content":"<span class=\"highlight\">Rust</span> &#8212; fast"}]}"#;
        assert_eq!(searx.parse(body).unwrap()[0].snippet, "Rust — fast");
        let tavily = ProviderKind::Tavily.with_key("http://x".into(), "k".into());
        let body = br#"{"results":[{"title":"<b>not a tag here</b>","url":"https://t.example/","content":"< hello world! > &amp; <i>kept</i>"}]}"#;
        let r = &tavily.parse(body).unwrap()[0];
        assert_eq!(
            (r.title.as_str(), r.snippet.as_str()),
            ("<b>not a tag here</b>", "< hello world! > &amp; <i>kept</i>")
        );
        let serper = ProviderKind::Serper.with_key("http://x".into(), "k".into());
        let body = br#"{"organic":[{"title":"A & B","link":"https://a.example/","snippet":"x &lt; y"}]}"#;
        assert_eq!(serper.parse(body).unwrap()[0].snippet, "x &lt; y", "plain text is never unescaped");
    }
}
