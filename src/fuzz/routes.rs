//! The `routes` target: raw HTTP requests sent in process (tower's `oneshot`) to `serve`'s axum app over a small
//! replay snapshot made in the scratch folder. Bad requests must be answered 4xx; a 5xx or no answer is a bug.
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use tower::ServiceExt;

use super::{Scratch, Verdict};
use crate::env::{EnvConfig, Environment};
use crate::error::{Error, Result};
use crate::server::{app, AppState, ServerConfig};
use crate::snapshot::{PageCapture, SearchCapture, SearchRequest, SearchResult, SnapshotWriter};

/// Requests whose head does not parse are posted, whole, as the body of one of these routes.
const FALLBACK_ROUTES: [&str; 6] = ["/retrieve", "/search", "/browse", "/tools/web_search", "/digest", "/mcp"];
const PAGE_URL: &str = "https://example.org/rust";
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The app under test and the runtime it runs on.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    router: Router,
}

impl Server {
    fn start(scratch: &Scratch) -> Result<Server> {
        let dir = scratch.dir().join("routes-snapshot");
        if !dir.join("manifest.json").exists() {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            record_snapshot(&dir)?;
        }
        let env = Environment::replay(&dir, EnvConfig::default(), None)?;
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::io(&dir, e))?;
        Ok(Server { runtime, router: app(AppState::new(env, ServerConfig::default())) })
    }
}

/// One recorded page and one recorded search that finds it.
fn record_snapshot(dir: &std::path::Path) -> Result<()> {
    let mut writer = SnapshotWriter::create(dir)?;
    let captured_at = "2025-01-02T03:04:05Z".to_string();
    let page = PageCapture {
        url: PAGE_URL.into(),
        final_url: PAGE_URL.into(),
        redirects: Vec::new(),
        status: Some(200),
        headers: Vec::new(),
        content_type: Some("text/html; charset=utf-8".into()),
        body_digest: None,
        body_len: 0,
        truncated: false,
        captured_at: captured_at.clone(),
        fetch_error: None,
        doc_id: None,
    };
    let html = "<html><head><title>Rust ownership</title></head><body><p>The borrow checker.</p></body></html>";
    writer.put_page_capture(page, Some(html.as_bytes()), "fuzz")?;
    let result = SearchResult {
        title: "Rust ownership".into(),
        url: PAGE_URL.into(),
        snippet: "The borrow checker.".into(),
        position: 1,
    };
    let capture = SearchCapture {
        request: serde_json::Value::Null,
        provider: "serper".into(),
        raw_digest: None,
        results: vec![result],
        captured_at,
        error: None,
        extras: Default::default(),
    };
    writer.put_search_capture(&SearchRequest::new("rust borrow checker"), capture, Some(b"{\"organic\":[]}"))?;
    writer.finish()?;
    Ok(())
}

/// A raw HTTP/1.1 request (`METHOD /path HTTP/1.1`, headers, blank line, body) sent to the app.
pub fn route(scratch: &mut Scratch, data: &[u8]) -> Verdict {
    if scratch.server.is_none() {
        match Server::start(scratch) {
            Ok(s) => scratch.server = Some(s),
            Err(e) => return Verdict::Broken(format!("cannot start the app: {e}")),
        }
    }
    let Some(server) = scratch.server.as_ref() else { return Verdict::Broken("no app".into()) };
    let request = match decode_request(data) {
        Ok(r) => r,
        Err(why) => return Verdict::Rejected(why),
    };
    let router = server.router.clone();
    server.runtime.block_on(async move {
        let answer = tokio::time::timeout(ANSWER_WITHIN, router.oneshot(request)).await;
        let Ok(Ok(response)) = answer else { return Verdict::Broken("no answer within 5 s".into()) };
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            return Verdict::Accepted;
        }
        let body = tokio::time::timeout(ANSWER_WITHIN, axum::body::to_bytes(response.into_body(), 1 << 20)).await;
        let body = body.ok().and_then(Result::ok).unwrap_or_default();
        let answer = format!("answered {status}: {}", String::from_utf8_lossy(&body));
        match status.is_server_error() {
            true => Verdict::Broken(answer),
            false => super::rejected(answer),
        }
    })
}

/// The request in `data`; when its head does not parse, all of `data` is a JSON body for a fallback route.
fn decode_request(data: &[u8]) -> std::result::Result<axum::http::Request<Body>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let builder = axum::http::Request::builder();
    let (builder, body) = match parsed.parse(data) {
        Ok(httparse::Status::Complete(len)) => {
            let mut builder = builder.method(parsed.method.unwrap_or("GET")).uri(parsed.path.unwrap_or("/"));
            for h in parsed.headers.iter() {
                builder = builder.header(h.name, h.value);
            }
            (builder, &data[len..])
        }
        _ => {
            let path = FALLBACK_ROUTES[data.len() % FALLBACK_ROUTES.len()];
            (builder.method("POST").uri(path).header("content-type", "application/json"), data)
        }
    };
    builder.body(Body::from(body.to_vec())).map_err(|e| format!("not a representable request: {e}"))
}
