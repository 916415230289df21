//! `webtape sim serve`: the sim world on loopback over HTTP. Pages at their paths, `robots.txt`, the four search
//! API shapes (see [`super::api`]), an OpenAI-compatible reading model, test endpoints (`/redirect?to=`,
//! `/status/N`, `/__sim/stats`), and the configured faults.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::api;
use super::faults::{active, Attempts, Fault, FaultConfig};
use super::{SimIndex, World, WorldConfig};
use crate::error::{Error, Result};

/// Everything the sim web serves.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    pub world: WorldConfig,
    pub faults: FaultConfig,
    /// When set, the search APIs and the reading model demand this key, each in its provider's own header.
    pub api_key: Option<String>,
    /// Search answers carry side data (answer boxes, knowledge panels, ...) built from their top hits.
    pub side_data: bool,
    /// Where search results point (e.g. `http://wiki.sim`, fetched through `--resolve`); `None`: `http://` + the
    /// Host the client used.
    pub link_base: Option<String>,
}

/// Shared state of a running sim web.
pub struct SimState {
    pub world: World,
    pub index: SimIndex,
    pub faults: FaultConfig,
    pub attempts: Attempts,
    pub api_key: Option<String>,
    pub side_data: bool,
    /// Where search results point (`https://sim.test`); `None`: `http://` + the Host the client used.
    pub link_base: Option<String>,
}

impl SimState {
    /// Generates the world and its search index.
    pub fn new(cfg: &SimConfig) -> Result<SimState> {
        cfg.faults.validate()?;
        let world = World::generate(&cfg.world)?;
        let index = SimIndex::new(&world.pages);
        Ok(SimState {
            world,
            index,
            faults: cfg.faults.clone(),
            attempts: Attempts::default(),
            api_key: cfg.api_key.clone(),
            side_data: cfg.side_data,
            link_base: cfg.link_base.as_ref().map(|b| b.trim_end_matches('/').to_string()),
        })
    }
}

/// The axum app over `state`.
pub fn app(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/search", get(api::searxng).post(api::serper_or_tavily))
        .route("/res/v1/web/search", get(api::brave))
        .route("/v1/chat/completions", post(api::chat_completion))
        .route("/robots.txt", get(robots))
        .route("/redirect", get(redirect))
        .route("/__sim/stats", get(stats))
        .fallback(page)
        .with_state(state)
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve(
    state: Arc<SimState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::web("sim server", e.to_string()))
}

/// A sim web running on its own thread (for tests and the demo); stops when dropped.
pub struct SimServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimServer {
    /// Starts serving `cfg` on `bind` (port 0 picks a free port).
    pub fn start(cfg: &SimConfig, bind: SocketAddr) -> Result<SimServer> {
        let state = Arc::new(SimState::new(cfg)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        let listener =
            runtime.block_on(tokio::net::TcpListener::bind(bind)).map_err(|e| Error::io(format!("bind {bind}"), e))?;
        let addr = listener.local_addr().map_err(|e| Error::io("sim listener", e))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = runtime.block_on(serve(state, listener, async move {
                let _ = stopped.await;
            }));
        });
        Ok(SimServer { addr, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `http://<Host header>`: links in pages and search results point back at whatever address the client used.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn html_response(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("static response parts")
}

async fn robots() -> Response {
    html_response(StatusCode::OK, "text/plain", "User-agent: *\nDisallow: /private/\n")
}

#[derive(serde::Deserialize)]
struct RedirectTo {
    to: String,
}

/// An open redirect (302 to `to`), for testing that the fetcher's guard checks every hop.
async fn redirect(Query(q): Query<RedirectTo>) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, q.to)
        .body(Body::empty())
        .expect("static response parts")
}

async fn stats(State(s): State<Arc<SimState>>) -> Response {
    axum::Json(serde_json::json!({ "requests": s.attempts.counts(), "faults": s.attempts.faults() })).into_response()
}

/// A page of the world (or a test path), with its fault acted out.
async fn page(State(s): State<Arc<SimState>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return html_response(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n");
    }
    let path = uri.path();
    if let Some(code) = path.strip_prefix("/status/").and_then(|c| c.parse::<u16>().ok()) {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
        s.attempts.bump(path);
        return html_response(status, "text/plain", format!("status {code}\n"));
    }
    if let Some(resp) = special(&s, path) {
        return resp;
    }
    let fault = active(&s.faults, &s.attempts, path);
    let html = match s.world.page(path) {
        Some(p) => p.html.clone(),
        None if path.starts_with("/private/") => "<html><title>Private</title><body>private</body></html>".into(),
        None => return html_response(StatusCode::NOT_FOUND, "text/html; charset=utf-8", not_found(path)),
    };
    match fault {
        None => html_response(StatusCode::OK, "text/html; charset=utf-8", html),
        Some(f) => act_out(&s, f, path, uri.query(), html).await,
    }
}

/// Test paths: `/files/<page slug>.pdf` (the page's facts as a PDF) and `/encoded/gzip` (the home page,
/// gzip-encoded on the wire).
fn special(s: &SimState, path: &str) -> Option<Response> {
    if let Some(slug) = path.strip_prefix("/files/").and_then(|f| f.strip_suffix(".pdf")) {
        s.attempts.bump(path);
        let page = s.world.pages.iter().find(|p| p.path.rsplit('/').next() == Some(slug))?;
        let mut lines = vec![format!("{} (PDF edition)", page.title)];
        lines.extend(page.text.split(". ").take(12).map(|l| l.replace('\n', " ")));
        return Some(html_response(StatusCode::OK, "application/pdf", super::pdf::one_page_pdf(&lines)));
    }
    if path == "/encoded/gzip" {
        s.attempts.bump(path);
        let html = s.world.page("/")?.html.as_bytes().to_vec();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, &html).ok()?;
        let mut resp = html_response(StatusCode::OK, "text/html; charset=utf-8", enc.finish().ok()?);
        resp.headers_mut().insert(header::CONTENT_ENCODING, header::HeaderValue::from_static("gzip"));
        return Some(resp);
    }
    None
}

fn not_found(path: &str) -> String {
    let path = path.replace('&', "&amp;").replace('<', "&lt;");
    format!("<!doctype html><html><head><title>Not found</title></head><body><h1>404</h1><p>No page at {path}</p></body></html>")
}

/// The response for a page under fault `fault`.
async fn act_out(s: &SimState, fault: Fault, path: &str, query: Option<&str>, html: String) -> Response {
    match fault {
        Fault::Slow => {
            tokio::time::sleep(Duration::from_millis(s.faults.slow_ms)).await;
            html_response(StatusCode::OK, "text/html; charset=utf-8", html)
        }
        Fault::TooMany => Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header(header::RETRY_AFTER, s.faults.retry_after.to_string())
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("slow down\n"))
            .expect("static response parts"),
        Fault::ServerError => html_response(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "internal error\n"),
        Fault::Truncated => truncated(html.into_bytes()),
        Fault::RedirectLoop => {
            let next = if query.is_some() { path.to_string() } else { format!("{path}?loop=1") };
            Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, next)
                .body(Body::empty())
                .expect("static response parts")
        }
        Fault::Huge => html_response(StatusCode::OK, "text/html; charset=utf-8", huge(&html)),
        Fault::WrongCharset => {
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&html);
            html_response(StatusCode::OK, "text/html; charset=utf-8", bytes.into_owned())
        }
    }
}

/// Declares the full length, sends half, waits a moment (so the half really goes out), then breaks the connection.
fn truncated(body: Vec<u8>) -> Response {
    let full = body.len();
    let half = bytes::Bytes::from(body[..full / 2].to_vec());
    let chunks = futures_util::stream::unfold(Some(half), |state| async move {
        match state {
            Some(half) => Some((Ok(half), None)),
            None => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let cut: std::result::Result<bytes::Bytes, std::io::Error> =
                    Err(std::io::Error::other("sim: connection cut mid-body"));
                Some((cut, None))
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, full.to_string())
        .body(Body::from_stream(chunks))
        .expect("static response parts")
}

/// The page padded past 8 MB with repeated paragraphs of its own text.
fn huge(html: &str) -> String {
    let filler = "<p>Padding paragraph of a very large page; the recorder must cut it at its size limit.</p>\n";
    let mut out = String::with_capacity((8 << 20) + html.len());
    out.push_str(html.trim_end_matches("</html>").trim_end().trim_end_matches("</body>"));
    while out.len() < 8 << 20 {
        out.push_str(filler);
    }
    out.push_str("</body></html>");
    out
}
