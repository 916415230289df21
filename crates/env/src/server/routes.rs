//! Request handlers: `/search` (Serper), `/browse`, `/healthz`, `/metrics` (`/retrieve`: see `retrieve`).
//! Bodies are validated field by field so an error names the bad field; tool failures (a page not recorded,
//! a recorded provider error) are answers, internal failures are 500s.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::episodes::{episode_id, EpisodeHeader};
use super::AppState;
use crate::env::Source;
use crate::snapshot::SearchRequest;

/// A JSON error answer.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        use crate::Error as E;
        // Exhaustive on purpose: a new error variant must decide what HTTP status it is.
        let status = match &e {
            E::InvalidRequest(m) => return ApiError(StatusCode::BAD_REQUEST, m.clone()),
            E::InvalidUrl { .. } | E::BadInput { .. } | E::Config(_) => StatusCode::BAD_REQUEST,
            E::Blocked { .. } => StatusCode::FORBIDDEN,
            E::NotFound(_) | E::NoSnapshot(_) => StatusCode::NOT_FOUND,
            E::SnapshotExists(_) => StatusCode::CONFLICT,
            E::Web { .. } => StatusCode::BAD_GATEWAY,
            E::Io { .. }
            | E::Db { .. }
            | E::Index { .. }
            | E::FormatVersion { .. }
            | E::Corrupt { .. }
            | E::Json { .. }
            | E::Internal(_)
            | E::Torch(_)
            | E::Checkpoint { .. }
            | E::Tokenizer(_)
            | E::Template(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

pub(super) fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// The JSON object in `body`, or a 400/413 that says what is wrong.
pub(super) fn object(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ApiError> {
    let body = body.map_err(|_| {
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {} bytes", state.cfg.max_body_bytes),
        )
    })?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("request body must be a JSON object")),
        Err(e) => Err(bad(format!("request body is not valid JSON: {e}"))),
    }
}

pub(super) fn opt_uint(map: &Map<String, Value>, name: &str, min: u64, max: u64) -> Result<Option<u64>, ApiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad(format!("`{name}` must be an integer from {min} to {max}, got {v}"))),
        },
    }
}

/// `POST /search` (JSON body) or `GET /search?q=..` (query string), answered in Serper's shape.
pub async fn search(
    State(state): State<Arc<AppState>>,
    RawQuery(qs): RawQuery,
    episode_header: EpisodeHeader,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|_| {
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {} bytes", state.cfg.max_body_bytes),
        )
    })?;
    let req = if body.is_empty() {
        SearchRequest::from_query_string(qs.as_deref().unwrap_or(""))?
    } else {
        SearchRequest::from_json(&body)?
    };
    if req.page > 1 {
        return Err(bad("`page` > 1 is not served (recordings hold the first result page)"));
    }
    let queries = std::slice::from_ref(&req.q);
    let mut held = state.episodes.hold(episode_id(&episode_header, None)?).await?;
    let result = state.env.search(held.as_deref_mut(), queries, Some(req.num as usize)).await?.remove(0);
    let organic: Vec<Value> = result
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| json!({"title": item.title, "link": item.url, "snippet": item.snippet, "position": i + 1}))
        .collect();
    let params = json!({"q": req.q, "num": req.num, "gl": req.gl, "hl": req.hl, "page": req.page, "type": "search"});
    let mut out = json!({"searchParameters": params, "organic": organic});
    // The provider's answer box, knowledge graph, related questions and searches, where it returned them.
    for (key, value) in result.extras {
        out[key.as_str()] = value;
    }
    if let Some(e) = result.error {
        out["error"] = json!(e);
    }
    Ok(([("x-webtape-source", result.source.as_str())], Json(out)).into_response())
}

/// `POST /browse`: `{"url", "question"?, "page"?}` → `{"url", "title", "page", "pages_total", "content", "status"}`.
pub async fn browse(
    State(state): State<Arc<AppState>>,
    episode_header: EpisodeHeader,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let map = object(&state, body)?;
    let episode = episode_id(&episode_header, Some(&map))?;
    let url = match map.get("url") {
        Some(Value::String(u)) => u.clone(),
        Some(other) => return Err(bad(format!("`url` must be a string, got {other}"))),
        None => return Err(bad("`url` is missing")),
    };
    let parsed = url::Url::parse(&url).map_err(|e| bad(format!("`url` {url:?} is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(format!("`url` must be http or https, got {:?}", parsed.scheme())));
    }
    let question = match map.get("question") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(q)) => q.clone(),
        Some(other) => return Err(bad(format!("`question` must be a string, got {other}"))),
    };
    let page = opt_uint(&map, "page", 1, 1_000_000)?.unwrap_or(1) as usize;
    let urls = std::slice::from_ref(&url);
    let mut held = state.episodes.hold(episode).await?;
    let r = state.env.browse(held.as_deref_mut(), urls, &question, Some(page)).await?.remove(0);
    if let Some(error) = r.error {
        let status = if r.source == Source::Miss { StatusCode::NOT_FOUND } else { StatusCode::BAD_GATEWAY };
        let body = json!({"error": error, "url": url, "status": r.status, "pages_total": r.pages_total});
        return Ok((status, [("x-webtape-source", r.source.as_str())], Json(body)).into_response());
    }
    let content = r.chunks.first().map(|c| c.summary.clone()).unwrap_or_default();
    let out = json!({"url": r.url, "title": r.title, "page": page, "pages_total": r.pages_total, "content": content, "status": r.status});
    Ok(([("x-webtape-source", r.source.as_str())], Json(out)).into_response())
}

pub async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    // `date`: the "today" of replayed prompts (the snapshot's first capture); null for live answers.
    let date = state.env.snapshot_date();
    let snapshot = state.env.manifest().map(|m| {
        json!({"name": m.name, "format": m.format, "format_version": m.format_version, "first_capture": m.first_capture,
               "last_capture": m.last_capture, "content_digest": m.content_digest, "counts": m.counts})
    });
    let rules = state.env.config();
    Json(json!({"status": "ok", "mode": state.env.mode(), "date": date, "snapshot": snapshot, "miss": rules.miss,
                "rules": rules, "top_k": state.cfg.top_k, "calls": state.env.run_log().entries()}))
    .into_response()
}

/// Most marks a server keeps (a client marking every step of a long run stays far below).
const MAX_MARKS: usize = 100_000;

/// `GET /digest[?since=TOKEN]`: the run digest's parts (all calls, or those since `POST /digest {"mark": TOKEN}`);
/// `webtape digest combine` adds up the parts of several servers.
pub async fn digest(
    State(state): State<Arc<AppState>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = state.env.run_log().parts();
    let parts = match q.get("since") {
        None => now,
        Some(token) => {
            let marks = state.marks.lock().unwrap_or_else(|p| p.into_inner());
            let earlier = marks.get(token).ok_or_else(|| {
                ApiError(StatusCode::NOT_FOUND, format!("no mark {token:?}: POST /digest {{\"mark\": ..}} first"))
            })?;
            now.since(earlier)
        }
    };
    Ok(Json(parts.to_json()).into_response())
}

/// `POST /digest {"mark": TOKEN}`: remembers the parts now under TOKEN (e.g. a training step's id) and returns them.
pub async fn mark_digest(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let map = object(&state, body)?;
    let token = match map.get("mark") {
        Some(Value::String(t)) if !t.is_empty() && t.len() <= 256 => t.clone(),
        Some(other) => return Err(bad(format!("`mark` must be a string of 1 to 256 characters, got {other}"))),
        None => return Err(bad("`mark` is missing")),
    };
    let now = state.env.run_log().parts();
    let mut marks = state.marks.lock().unwrap_or_else(|p| p.into_inner());
    if marks.len() >= MAX_MARKS && !marks.contains_key(&token) {
        return Err(bad(format!("this server already keeps {MAX_MARKS} marks; reuse a token")));
    }
    marks.insert(token.clone(), now);
    let mut out = now.to_json();
    out["mark"] = json!(token);
    Ok(Json(out).into_response())
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(&state.env);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

pub async fn not_found(uri: axum::http::Uri, method: axum::http::Method) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no route {method} {}", uri.path()))
}

pub async fn method_not_allowed(uri: axum::http::Uri, method: axum::http::Method) -> ApiError {
    ApiError(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not allowed on {}", uri.path()))
}
