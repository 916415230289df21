//! The running proxy: [`ProxyConfig`], the shared [`ProxyState`] (snapshot or recording, the way out, limits, run
//! log), and the hudsucker handler that answers every request itself - from the snapshot in replay, from the real
//! host in record and live - so replay never opens a connection anywhere. CONNECTs to hosts outside `--intercept`
//! are tunnelled unrecorded in record and live modes and refused in replay.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hudsucker::hyper::{Method, Request, Response};
use hudsucker::{Body, HttpContext, HttpHandler, RequestOrResponse};
use tokio::sync::Semaphore;
use url::Url;

use super::answer::{Answer, MISS_STATUS};
use super::classify::ProxyRequest;
use super::tape::{self, Recorded};
use super::upstream::{Resolve, Upstream};
use crate::env::{LogEntry, MissPolicy, Mode, RunLog, Source};
use crate::error::{Error, Result};
use crate::snapshot::{Snapshot, SnapshotWriter};
use crate::web::Guard;

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub mode: Mode,
    /// Replay's answer to a search never recorded.
    pub miss: MissPolicy,
    /// Replay the captures closest to this time instead of the first.
    pub at: Option<String>,
    /// Hosts whose HTTPS is terminated and recorded (a name matches itself and its subdomains); empty: all.
    pub intercept: Vec<String>,
    /// Connect to these addresses for these hosts (record, live).
    pub resolve: Vec<Resolve>,
    /// PEM certificates trusted for upstream hosts besides the system roots (record, live).
    pub upstream_roots: Vec<Vec<u8>>,
    pub guard: Guard,
    /// Per upstream request.
    pub timeout: Duration,
    /// Largest request or response body handled.
    pub max_body: u64,
    /// Requests handled at once; more are answered 429 with `Retry-After: 1`.
    pub max_concurrency: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            mode: Mode::Replay,
            miss: MissPolicy::Bm25,
            at: None,
            intercept: Vec::new(),
            resolve: Vec::new(),
            upstream_roots: Vec::new(),
            guard: Guard::default(),
            timeout: Duration::from_secs(60),
            max_body: 32 << 20,
            max_concurrency: 1024,
        }
    }
}

/// Where answers come from.
enum Tape {
    Replay(Box<Snapshot>),
    /// Taken out by [`ProxyState::finish`].
    Record(Box<Mutex<Option<SnapshotWriter>>>),
    Live,
}

/// What every connection's handler shares.
pub struct ProxyState {
    cfg: ProxyConfig,
    tape: Tape,
    upstream: Option<Upstream>,
    log: RunLog,
    slots: Semaphore,
    misses: AtomicU64,
}

impl ProxyState {
    /// Opens the snapshot for `cfg.mode` (replay: read-only; record: created when missing; live: none).
    pub fn open(cfg: ProxyConfig, snapshot: Option<&std::path::Path>) -> Result<Arc<ProxyState>> {
        if let Some(at) = &cfg.at {
            crate::snapshot::when::parse_at(at)?;
        }
        let need = || Error::Config(format!("--mode {:?} needs --snapshot DIR", cfg.mode).to_lowercase());
        let tape = match cfg.mode {
            Mode::Replay => Tape::Replay(Box::new(Snapshot::open(snapshot.ok_or_else(need)?)?)),
            Mode::Record => {
                let dir = snapshot.ok_or_else(need)?;
                let writer = SnapshotWriter::open_or_create(dir)?;
                Tape::Record(Box::new(Mutex::new(Some(writer))))
            }
            Mode::Live => Tape::Live,
        };
        let upstream = match cfg.mode {
            Mode::Replay => None,
            _ => Some(Upstream::new(
                cfg.guard.clone(),
                cfg.resolve.clone(),
                &cfg.upstream_roots,
                cfg.timeout,
                cfg.max_body,
            )?),
        };
        let slots = Semaphore::new(cfg.max_concurrency.max(1));
        Ok(Arc::new(ProxyState { cfg, tape, upstream, log: RunLog::default(), slots, misses: AtomicU64::new(0) }))
    }

    /// The run log: one entry per request answered (digest and counts by source).
    pub fn run_log(&self) -> &RunLog {
        &self.log
    }

    /// Requests replay could not answer from the snapshot.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Finishes the recording (record mode): index committed, manifest written.
    pub fn finish(&self) -> Result<()> {
        if let Tape::Record(writer) = &self.tape {
            if let Some(writer) = writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
                writer.finish()?;
            }
        }
        Ok(())
    }

    /// Whether HTTPS to `host` is terminated (and so recorded or replayed).
    pub fn intercepts(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.cfg.intercept.is_empty()
            || self.cfg.intercept.iter().any(|h| host == *h || host.ends_with(&format!(".{h}")))
    }

    /// Answers one request and logs it in the run digest.
    pub async fn answer(&self, req: &ProxyRequest) -> Answer {
        let answer = match self.answer_from_tape(req).await {
            Ok(answer) => answer,
            Err(e) => Answer::error(500, &e.to_string(), Source::Miss),
        };
        if answer.source == Source::Miss {
            self.misses.fetch_add(1, Ordering::Relaxed);
            eprintln!("webtape proxy: miss ({}): {}", answer.status, req.text());
        }
        self.log.add(&LogEntry::new(req.kind.name(), req.text(), answer.source, &answer.digest_bytes()));
        answer
    }

    async fn answer_from_tape(&self, req: &ProxyRequest) -> Result<Answer> {
        let at = self.cfg.at.as_deref();
        let writer = match &self.tape {
            Tape::Replay(snapshot) => {
                return match tape::recorded(snapshot.as_ref(), req, at)? {
                    Some(answer) => Ok(answer),
                    None => tape::miss(snapshot, req, self.cfg.miss),
                }
            }
            Tape::Record(writer) => Some(writer),
            Tape::Live => None,
        };
        // A recording answers what it already holds as its replay will.
        if let Some(writer) = writer {
            if let Some(answer) = self.with_writer(writer, |w| tape::recorded(w as &dyn Recorded, req, at))? {
                return Ok(answer);
            }
        }
        let upstream = self.upstream.as_ref().ok_or_else(|| Error::internal("replay asked for the upstream web"))?;
        let resp = match upstream.forward(&req.method, &req.url, &req.headers, &req.body).await {
            Ok(resp) => resp,
            Err(failed) => return Ok(Answer::error(failed.status, &failed.message, Source::Miss)),
        };
        if let Some(writer) = writer {
            self.with_writer(writer, |w| tape::record(w, req, &resp))?;
        }
        Ok(tape::answer_of(&resp))
    }

    fn with_writer<T>(
        &self,
        writer: &Mutex<Option<SnapshotWriter>>,
        f: impl FnOnce(&mut SnapshotWriter) -> Result<T>,
    ) -> Result<T> {
        let mut guard = writer.lock().unwrap_or_else(|p| p.into_inner());
        let writer = guard.as_mut().ok_or_else(|| Error::internal("the recording was already finished"))?;
        f(writer)
    }
}

/// The hudsucker handler: one clone per connection, all over one [`ProxyState`].
#[derive(Clone)]
pub struct ProxyHandler(pub Arc<ProxyState>);

impl HttpHandler for ProxyHandler {
    async fn handle_request(&mut self, _ctx: &HttpContext, req: Request<Body>) -> RequestOrResponse {
        if req.method() == Method::CONNECT {
            return self.connect(req).await;
        }
        let Ok(_permit) = self.0.slots.try_acquire() else {
            let mut busy = Answer::error(429, "busy: too many requests in flight; retry", Source::Miss);
            busy.headers.push(("retry-after".into(), "1".into()));
            return to_response(busy).into();
        };
        let answer = match self.read(req).await {
            Ok(request) => self.0.answer(&request).await,
            Err(answer) => answer,
        };
        to_response(answer).into()
    }

    async fn should_intercept_connect(&mut self, _ctx: &HttpContext, req: &Request<Body>) -> bool {
        req.uri().host().is_some_and(|host| self.0.intercepts(host))
    }
}

impl ProxyHandler {
    /// Reads a proxied request: absolute URL, headers, body up to the limit.
    async fn read(&self, req: Request<Body>) -> std::result::Result<ProxyRequest, Answer> {
        let (parts, body) = req.into_parts();
        let url = Url::parse(&parts.uri.to_string())
            .ok()
            .filter(|u| u.has_host() && matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                let message = format!("{} is not a proxy request (configure this address as HTTP(S)_PROXY)", parts.uri);
                Answer::error(400, &message, Source::Miss)
            })?;
        let limit = usize::try_from(self.0.cfg.max_body).unwrap_or(usize::MAX);
        let body = Limited::new(body, limit).collect().await.map_err(|e| {
            Answer::error(413, &format!("request body refused: {e} (limit {limit} bytes)"), Source::Miss)
        })?;
        let headers = parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        Ok(ProxyRequest::new(parts.method.as_str(), url, headers, body.to_bytes().to_vec()))
    }

    /// A CONNECT: intercepted hosts go on to TLS termination; others are tunnelled in record and live modes
    /// (after the guard) and refused in replay, which never opens a connection.
    async fn connect(&self, req: Request<Body>) -> RequestOrResponse {
        let host = req.uri().host().unwrap_or("").to_string();
        if self.0.intercepts(&host) {
            return req.into();
        }
        let Some(upstream) = &self.0.upstream else {
            let message = format!("{host} is not intercepted (--intercept), and replay opens no tunnels");
            return to_response(Answer::error(MISS_STATUS, &message, Source::Miss)).into();
        };
        let url = Url::parse(&format!("https://{}/", req.uri().authority().map_or(host.as_str(), |a| a.as_str())));
        match url {
            Ok(url) => match upstream.check(&url).await {
                Ok(()) => req.into(),
                Err(failed) => to_response(Answer::error(failed.status, &failed.message, Source::Miss)).into(),
            },
            Err(e) => to_response(Answer::error(400, &format!("bad CONNECT target: {e}"), Source::Miss)).into(),
        }
    }
}

/// The HTTP response of an answer. A recorded header that is not valid in HTTP any more is left out.
fn to_response(answer: Answer) -> Response<Body> {
    let mut resp = Response::new(Body::from(answer.body));
    *resp.status_mut() = hudsucker::hyper::StatusCode::from_u16(answer.status)
        .unwrap_or(hudsucker::hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &answer.headers {
        let name = hudsucker::hyper::header::HeaderName::from_bytes(name.as_bytes());
        let value = hudsucker::hyper::header::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            resp.headers_mut().append(name, value);
        }
    }
    resp
}

/// Serves the proxy on `listener` until `shutdown` resolves, with `ca` signing the intercepted hosts' certificates.
pub async fn serve(
    state: Arc<ProxyState>,
    ca: Arc<super::LocalCa>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    use hudsucker::hyper_util::client::legacy::connect::HttpConnector;
    // hudsucker's own client is never used for requests (the handler answers them all); it tunnels CONNECTs
    // to hosts outside --intercept.
    let proxy = hudsucker::Proxy::builder()
        .with_listener(listener)
        .with_ca(super::ca::CaHandle(ca))
        .with_http_connector(HttpConnector::new())
        .with_http_handler(ProxyHandler(state))
        .with_graceful_shutdown(shutdown)
        .build()
        .map_err(|e| Error::web("proxy", e.to_string()))?;
    proxy.start().await.map_err(|e| Error::web("proxy", e.to_string()))
}
