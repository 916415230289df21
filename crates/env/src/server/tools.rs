//! Tool calls by name: `POST /tools/{name}` with `{"arguments": {..}, "episode"?}` (or the `x-webtape-episode`
//! header) answers `{"observation": TEXT}`, the exact text the in-process environment gives a rollout (DeepResearcher's
//! observation JSON), with the episode's rules applied. The Python package's veRL, SkyRL and TRL tools call it, and
//! `/mcp` answers its tool calls with the same [`run_tool`]. Owns argument checking for tool calls, not the tools.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::episodes::{episode_id, EpisodeHeader};
use super::routes::{bad, object, ApiError};
use super::AppState;
use crate::env::{observe, Episode};

/// Why a tool call got no observation.
#[derive(Debug)]
pub enum ToolFailure {
    /// The call itself is wrong (unknown tool, missing or mistyped argument): the message says what.
    BadCall(String),
    /// The environment failed (storage, network): not the caller's fault.
    Internal(String),
}

impl ToolFailure {
    pub fn message(&self) -> &str {
        match self {
            ToolFailure::BadCall(m) | ToolFailure::Internal(m) => m,
        }
    }
}

/// The strings of argument `name`: one string or a list of them.
fn strings(args: &Map<String, Value>, name: &str) -> Result<Vec<String>, ToolFailure> {
    let wrong = |m: String| ToolFailure::BadCall(m);
    match args.get(name) {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| wrong(format!("`{name}` must hold strings, got {v}")))
            })
            .collect(),
        Some(other) => Err(wrong(format!("`{name}` must be a list of strings, got {other}"))),
        None => Err(wrong(format!("`{name}` is missing"))),
    }
}

/// Runs tool `name` (`web_search`, `browse_webpage`, `fetch`) on `args`; the observation text. With an episode, the
/// environment applies its rules (query and URL limits, browse only the latest results) and logs the call in it.
pub async fn run_tool(
    state: &AppState,
    episode: Option<&mut Episode>,
    name: &str,
    args: &Map<String, Value>,
) -> Result<String, ToolFailure> {
    let env = &state.env;
    let limits = env.config();
    let internal = |e: crate::Error| ToolFailure::Internal(e.to_string());
    match name {
        "web_search" => {
            let queries: Vec<String> = strings(args, "query")?.into_iter().take(limits.max_queries).collect();
            let results = env.search(episode, &queries, None).await.map_err(internal)?;
            Ok(observe::search_observation(&results))
        }
        "browse_webpage" => {
            let urls: Vec<String> = strings(args, "url_list")?.into_iter().take(limits.max_urls).collect();
            let question = args.get("question").and_then(Value::as_str).unwrap_or("");
            let pages = env.browse(episode, &urls, question, None).await.map_err(internal)?;
            Ok(observe::browse_observation(&pages))
        }
        "fetch" => fetch(state, args).await,
        other => Err(ToolFailure::BadCall(format!("unknown tool {other:?} (web_search, browse_webpage, fetch)"))),
    }
}

/// `fetch`: one URL as text, `max_length` characters from `start_index` (like the reference MCP fetch server).
async fn fetch(state: &AppState, args: &Map<String, Value>) -> Result<String, ToolFailure> {
    let url =
        args.get("url").and_then(Value::as_str).ok_or(ToolFailure::BadCall("`url` (a string) is missing".into()))?;
    let count = |k: &str, d: u64| {
        args.get(k).map_or(Ok(d), |v| v.as_u64().ok_or(ToolFailure::BadCall(format!("`{k}` must be a count"))))
    };
    let (max, start) = (count("max_length", 5000)? as usize, count("start_index", 0)? as usize);
    let page = state.env.read_page(url).await.map_err(|e| ToolFailure::Internal(e.to_string()))?;
    if let Some(error) = page.error {
        return Err(ToolFailure::BadCall(format!("{url}: {error}")));
    }
    let text: String = page.chunks.into_iter().map(|c| c.summary).collect();
    let chars: Vec<char> = text.chars().collect();
    let piece: String = chars.iter().skip(start).take(max.max(1)).collect();
    let tail = if start + max < chars.len() {
        format!("\n\n<content cut: call fetch with start_index {}>", start + max)
    } else {
        String::new()
    };
    Ok(format!("Contents of {url}:\n{piece}{tail}"))
}

/// `POST /tools/{name}`: `{"arguments": {..}, "episode"?}` → `{"observation": TEXT}`; a wrong call is a 400 naming
/// what is wrong, an environment failure a 500.
pub async fn call(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    episode_header: EpisodeHeader,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let map = object(&state, body)?;
    let episode = episode_id(&episode_header, Some(&map))?;
    let empty = Map::new();
    let args = match map.get("arguments") {
        Some(Value::Object(a)) => a,
        None | Some(Value::Null) => &empty,
        Some(other) => return Err(bad(format!("`arguments` must be a JSON object, got {other}"))),
    };
    let mut held = state.episodes.hold(episode).await?;
    match run_tool(&state, held.as_deref_mut(), &name, args).await {
        Ok(text) => Ok(Json(json!({ "observation": text })).into_response()),
        Err(ToolFailure::BadCall(m)) => Err(bad(m)),
        Err(ToolFailure::Internal(m)) => Err(ApiError(StatusCode::INTERNAL_SERVER_ERROR, m)),
    }
}
