//! Episodes over HTTP: a request naming an episode (header `x-webtape-episode`, or an `episode` field in a JSON
//! body) gets DeepResearcher's rules as the in-process environment applies them (at most `max_queries` queries a
//! call, browse only URLs from that episode's latest search) and is logged in the episode; `GET /episodes/{id}`
//! shows the log and its digest, `DELETE /episodes/{id}` forgets it. Requests without one behave as before.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::routes::{bad, ApiError};
use super::AppState;
use crate::env::{Episode, RunLog};

/// Most episodes open at once (a client that never closes its episodes is told, not left to grow memory).
const MAX_OPEN: usize = 200_000;

/// The open episodes by id.
#[derive(Default)]
pub struct Episodes {
    open: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Episode>>>>,
}

impl Episodes {
    /// The episode `id`, opened on first use.
    fn get(&self, id: &str) -> Result<Arc<tokio::sync::Mutex<Episode>>, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ep) = open.get(id) {
            return Ok(ep.clone());
        }
        if open.len() >= MAX_OPEN {
            return Err(ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{MAX_OPEN} episodes are open: DELETE /episodes/{{id}} when an episode ends"),
            ));
        }
        let ep = Arc::new(tokio::sync::Mutex::new(Episode::default()));
        open.insert(id.to_string(), ep.clone());
        Ok(ep)
    }

    /// The named episode held for one call (opened on first use), or none: pass `guard.as_deref_mut()` to the
    /// environment.
    pub async fn hold(&self, id: Option<String>) -> Result<Option<tokio::sync::OwnedMutexGuard<Episode>>, ApiError> {
        match id {
            Some(id) => Ok(Some(self.get(&id)?.lock_owned().await)),
            None => Ok(None),
        }
    }

    fn find(&self, id: &str) -> Option<Arc<tokio::sync::Mutex<Episode>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    fn remove(&self, id: &str) -> bool {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).remove(id).is_some()
    }
}

/// The `x-webtape-episode` header of a request, read without copying the other headers (an extractor: `HeaderMap`
/// would clone them all on every call).
pub struct EpisodeHeader(pub Option<Result<String, ()>>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for EpisodeHeader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get("x-webtape-episode").map(|h| h.to_str().map(str::to_string).map_err(|_| ()));
        Ok(EpisodeHeader(value))
    }
}

/// The episode a request names, if any: the `x-webtape-episode` header, else the body's `episode` field.
pub fn episode_id(header: &EpisodeHeader, body: Option<&Map<String, Value>>) -> Result<Option<String>, ApiError> {
    let named = match &header.0 {
        Some(Err(())) => return Err(bad("`x-webtape-episode` must be text")),
        Some(Ok(h)) => Some(h.clone()),
        None => match body.and_then(|b| b.get("episode")) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(bad(format!("`episode` must be a string, got {other}"))),
        },
    };
    match named {
        Some(id) if id.is_empty() || id.len() > 256 => Err(bad("an episode id has 1 to 256 characters")),
        other => Ok(other),
    }
}

/// `GET /episodes/{id}`: the episode's calls (tool, request, source, answer digest) and their digest.
pub async fn show(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let ep = state.episodes.find(&id).ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no episode {id:?}")))?;
    let ep = ep.lock().await;
    let log = RunLog::default();
    for entry in &ep.log {
        log.add(entry);
    }
    let body = json!({"id": id, "calls": ep.log.len(), "digest": log.digest(), "log": ep.log,
                      "allowed_urls": ep.allowed_urls});
    Ok(Json(body).into_response())
}

/// `DELETE /episodes/{id}`: forgets the episode (404 when there is none).
pub async fn close(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    match state.episodes.remove(&id) {
        true => Ok(Json(json!({"closed": id})).into_response()),
        false => Err(ApiError(StatusCode::NOT_FOUND, format!("no episode {id:?}"))),
    }
}
