//! `webtape serve`: an axum app over an [`Environment`] that speaks the protocols existing trainers use
//! (`/retrieve` for Search-R1 / veRL, `/search` for Serper clients, `/browse`, `/tools/{name}` for the Python
//! package's veRL / SkyRL / TRL tools, `/mcp`), with a body size limit, a
//! concurrency limit answered by 429 + `Retry-After`, metrics, and graceful shutdown. Error → status mapping
//! lives only here.
pub mod auth;
mod episodes;
mod jina;
pub mod mcp;
pub mod metrics;
mod retrieve;
mod routes;
mod tools;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Semaphore;

use crate::env::Environment;
use crate::error::{Error, Result};
use metrics::{route_of, Metrics};

/// Server limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Requests handled at once; more are answered 429 with `Retry-After: 1`.
    pub max_concurrency: usize,
    /// Queries per `/retrieve` call.
    pub max_batch: usize,
    /// Results per `/retrieve` query when the request gives no `topk` / `top_k`.
    pub top_k: usize,
    /// Accept MCP requests whatever their `Host` (a server bound beyond loopback); else only localhost names,
    /// the SDK's guard against DNS rebinding.
    pub any_host: bool,
    /// The bearer token every request must present (`auth`); none: open (a loopback or replay-only server).
    pub token: Option<auth::Token>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 8 << 20,
            max_concurrency: 8192,
            max_batch: 4096,
            top_k: 3,
            any_host: false,
            token: None,
        }
    }
}

/// What the handlers share.
pub struct AppState {
    /// The environment answering tool calls.
    pub env: Environment,
    pub cfg: ServerConfig,
    pub metrics: Metrics,
    /// Digest parts saved under a client's token (`POST /digest {"mark"}`), to ask for the calls since.
    pub marks: std::sync::Mutex<std::collections::BTreeMap<String, crate::env::DigestParts>>,
    /// Episodes named by requests (`x-webtape-episode`): DeepResearcher's rules over HTTP.
    pub episodes: episodes::Episodes,
    slots: Semaphore,
}

impl AppState {
    pub fn new(env: Environment, cfg: ServerConfig) -> Arc<AppState> {
        let slots = Semaphore::new(cfg.max_concurrency.max(1));
        Arc::new(AppState {
            env,
            cfg,
            metrics: Metrics::default(),
            marks: Default::default(),
            episodes: Default::default(),
            slots,
        })
    }
}

/// The router over `state`.
pub fn app(state: Arc<AppState>) -> Router {
    use rmcp::transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    };
    let mcp_state = state.clone();
    let mut mcp_cfg = StreamableHttpServerConfig::default();
    if state.cfg.any_host {
        mcp_cfg = mcp_cfg.disable_allowed_hosts();
    }
    let mcp = StreamableHttpService::new(
        move || Ok(mcp::McpTools::new(mcp_state.clone())),
        LocalSessionManager::default().into(),
        mcp_cfg,
    );
    Router::new()
        .nest_service("/mcp", mcp)
        .route("/retrieve", post(retrieve::retrieve))
        .route("/search", post(routes::search).get(routes::search))
        .route("/browse", post(routes::browse))
        .route("/healthz", get(routes::healthz))
        .route("/health", get(routes::healthz))
        .route("/metrics", get(routes::metrics))
        .route("/r/{*url}", get(jina::reader))
        .route("/digest", get(routes::digest).post(routes::mark_digest))
        .route("/tools/{name}", post(tools::call))
        .route("/episodes/{id}", get(episodes::show).delete(episodes::close))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.cfg.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token))
        .layer(axum::middleware::from_fn_with_state(state.clone(), limit_and_count))
        .with_state(state)
}

/// Refuses requests beyond the concurrency limit (429 + Retry-After) and counts every answer.
async fn limit_and_count(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = route_of(req.uri().path());
    let start = Instant::now();
    let Ok(_permit) = state.slots.try_acquire() else {
        state.metrics.busy();
        let body = axum::Json(serde_json::json!({"error": "server busy: too many requests in flight; retry"}));
        let resp = (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], body).into_response();
        state.metrics.observe(route, resp.status().as_u16(), start.elapsed());
        return resp;
    };
    let resp = next.run(req).await;
    state.metrics.observe(route, resp.status().as_u16(), start.elapsed());
    resp
}

/// Serves `state` on `listener` until `shutdown` resolves; requests in flight finish first.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::web("server", e.to_string()))
}
