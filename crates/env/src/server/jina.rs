//! `GET /r/{url}`: a recorded page the way Jina Reader (`r.jina.ai`) serves a live one, for agent stacks that
//! read pages through it (ASearcher, WebSailor, Tongyi DeepResearch, MiroThinker): plain text `Title:`,
//! `URL Source:`, `Markdown Content:` by default, or `{"code": 200, "status": 20000, "data": {"title", "url",
//! "content", "description"}}` with `Accept: application/json`. The target URL's own query string is kept.
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::routes::ApiError;
use super::AppState;

/// The target URL from the path after `/r/` (as is, or percent-encoded) and the request's query string.
fn target(path: &str, query: Option<&str>) -> Result<String, ApiError> {
    let decoded;
    let raw = if path.starts_with("http://") || path.starts_with("https://") {
        path
    } else {
        decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned();
        decoded.as_str()
    };
    let url = match query {
        Some(q) if !q.is_empty() => format!("{raw}?{q}"),
        _ => raw.to_string(),
    };
    match url::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url),
        _ => Err(ApiError(StatusCode::BAD_REQUEST, format!("`/r/` needs an http(s) URL after it, got {url:?}"))),
    }
}

/// The handler (see the module doc). A page the snapshot lacks is a 404 JSON error, as Jina answers with a
/// JSON error for a page it cannot read.
pub async fn reader(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let url = target(&path, query.as_deref())?;
    let r = state.env.read_page(&url).await?;
    let source = [("x-webtape-source", r.source.as_str())];
    if let Some(error) = r.error {
        let body = json!({"code": 404, "status": 40400, "data": null, "message": error, "error": error});
        return Ok((StatusCode::NOT_FOUND, source, Json(body)).into_response());
    }
    let content = r.chunks.into_iter().next().map(|c| c.summary).unwrap_or_default();
    let wants_json =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"));
    if wants_json {
        let data = json!({"title": r.title, "description": "", "url": url, "content": content});
        return Ok((source, Json(json!({"code": 200, "status": 20000, "data": data}))).into_response());
    }
    let text = format!("Title: {}\n\nURL Source: {url}\n\nMarkdown Content:\n{content}\n", r.title);
    Ok((source, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_their_query_and_may_be_encoded() {
        assert_eq!(target("https://a.example/x", Some("q=1&b=2")).unwrap(), "https://a.example/x?q=1&b=2");
        assert_eq!(target("https%3A%2F%2Fa.example%2Fx", None).unwrap(), "https://a.example/x");
        assert!(target("file:///etc/passwd", None).unwrap_err().1.contains("http(s) URL"));
        assert!(target("not a url", None).is_err());
    }
}
