//! The sim web's search APIs, each in its real provider's request and response shape (Serper `POST /search`,
//! Tavily `POST /search` with `query`, SearXNG `GET /search?format=json`, Brave `GET /res/v1/web/search`), and a
//! deterministic OpenAI-compatible reading model (`POST /v1/chat/completions`) that extracts the sentences of
//! the prompt sharing the most words with its first line.
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::faults::{active, Fault};
use super::server::{base_url, SimState};

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// Checks the key in `header` (`Bearer` stripped) when the sim demands one.
fn authorised(s: &SimState, headers: &HeaderMap, name: &str) -> bool {
    let Some(key) = &s.api_key else { return true };
    let got = headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    got.strip_prefix("Bearer ").unwrap_or(got) == key
}

/// A search fault (429, 500 or slow) for this query, if one is due.
async fn search_fault(s: &SimState, q: &str) -> Option<Response> {
    match active(&s.faults, &s.attempts, &format!("search:{q}"))? {
        Fault::TooMany => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, s.faults.retry_after.to_string())],
                Json(json!({"message": "Too many requests"})),
            )
                .into_response(),
        ),
        Fault::Slow => {
            tokio::time::sleep(Duration::from_millis(s.faults.slow_ms)).await;
            None
        }
        Fault::ServerError | Fault::Truncated => Some(error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        _ => None,
    }
}

/// `(title, absolute url, snippet)` of results `offset..offset+num` for `q`.
fn hits(s: &SimState, headers: &HeaderMap, q: &str, num: usize, offset: usize) -> Vec<(String, String, String)> {
    let base = s.link_base.clone().unwrap_or_else(|| base_url(headers));
    let found = s.index.search(q, offset + num);
    found.into_iter().skip(offset).map(|h| (h.title, format!("{base}{}", h.path), h.snippet)).collect()
}

fn clamp(v: Option<&Value>, default: u64, max: u64) -> usize {
    v.and_then(Value::as_u64).unwrap_or(default).clamp(1, max) as usize
}

/// `POST /search`: Serper when the body has `q`, Tavily when it has `query`.
pub async fn serper_or_tavily(State(s): State<Arc<SimState>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "body is not valid JSON");
    };
    if let Some(q) = req.get("q").and_then(Value::as_str) {
        if !authorised(&s, &headers, "x-api-key") {
            return error(StatusCode::FORBIDDEN, "Unauthorized.");
        }
        if let Some(resp) = search_fault(&s, q).await {
            return resp;
        }
        let num = clamp(req.get("num"), 10, 100);
        let page = clamp(req.get("page"), 1, 100);
        let organic: Vec<Value> = hits(&s, &headers, q, num, (page - 1) * num)
            .into_iter()
            .enumerate()
            .map(|(i, (title, link, snippet))| json!({"title": title, "link": link, "snippet": snippet, "position": i + 1}))
            .collect();
        let params = json!({"q": q, "gl": req.get("gl").cloned().unwrap_or(json!("us")), "hl": req.get("hl").cloned().unwrap_or(json!("en")), "num": num, "page": page, "type": "search", "engine": "google"});
        let mut out = json!({"searchParameters": params, "organic": organic, "credits": 1});
        if s.side_data {
            serper_side(&mut out, &hits(&s, &headers, q, 3, 0));
        }
        return Json(out).into_response();
    }
    let Some(q) = req.get("query").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "missing `q` (Serper) or `query` (Tavily)");
    };
    if !authorised(&s, &headers, "authorization") {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized: missing or invalid API key.");
    }
    if let Some(resp) = search_fault(&s, q).await {
        return resp;
    }
    let num = clamp(req.get("max_results"), 5, 20);
    let results: Vec<Value> = hits(&s, &headers, q, num, 0)
        .into_iter()
        .enumerate()
        .map(|(i, (title, url, content))| json!({"title": title, "url": url, "content": content, "score": 1.0 / (i as f64 + 1.0), "raw_content": null}))
        .collect();
    let answer = s.side_data.then(|| hits(&s, &headers, q, 1, 0).into_iter().next().map(|(_, _, snippet)| snippet));
    Json(json!({"query": q, "follow_up_questions": null, "answer": answer.flatten(), "images": [], "results": results, "response_time": 0.01})).into_response()
}

/// `GET /search?q=..&format=json` (SearXNG).
pub async fn searxng(
    State(s): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    if p.get("format").map(String::as_str) != Some("json") {
        return error(StatusCode::FORBIDDEN, "only format=json is enabled on this instance");
    }
    let q = p.get("q").cloned().unwrap_or_default();
    if let Some(resp) = search_fault(&s, &q).await {
        return resp;
    }
    let page: usize = p.get("pageno").and_then(|n| n.parse().ok()).unwrap_or(1).max(1);
    let results: Vec<Value> = hits(&s, &headers, &q, 10, (page - 1) * 10)
        .into_iter()
        .enumerate()
        .map(|(i, (title, url, content))| json!({"url": url, "title": title, "content": content, "engine": "sim", "engines": ["sim"], "positions": [i + 1], "score": 1.0, "category": "general"}))
        .collect();
    let n = results.len();
    let mut out = json!({"query": q, "number_of_results": n, "results": results, "answers": [], "corrections": [], "infoboxes": [], "suggestions": [], "unresponsive_engines": []});
    if s.side_data {
        searxng_side(&mut out, &hits(&s, &headers, &q, 3, 0));
    }
    Json(out).into_response()
}

/// Serper's side keys from the top hits: the first as answer box and knowledge graph, the others as related
/// questions, all titles as related searches.
fn serper_side(out: &mut Value, top: &[(String, String, String)]) {
    let Some((title, link, snippet)) = top.first() else { return };
    out["answerBox"] = json!({"title": title, "snippet": snippet, "link": link});
    out["knowledgeGraph"] = json!({"title": title, "type": "Sim entity", "description": snippet, "descriptionSource": "sim", "descriptionLink": link, "attributes": {"Source": "sim web"}});
    out["peopleAlsoAsk"] = top[1..]
        .iter()
        .map(|(t, l, s)| json!({"question": format!("What is {t}?"), "snippet": s, "title": t, "link": l}))
        .collect();
    out["relatedSearches"] = top.iter().map(|(t, _, _)| json!({"query": t})).collect();
}

/// SearXNG's side fields from the top hits, and one engine that did not answer (a partial failure).
fn searxng_side(out: &mut Value, top: &[(String, String, String)]) {
    let Some((title, link, snippet)) = top.first() else { return };
    out["answers"] = json!([{"answer": snippet, "url": link, "engine": "sim"}]);
    out["infoboxes"] = json!([{"infobox": title, "id": link, "content": snippet, "engine": "sim", "urls": [{"title": title, "url": link}], "attributes": [{"label": "Source", "value": "sim web"}]}]);
    out["suggestions"] = top.iter().map(|(t, _, _)| json!(t)).collect();
    out["unresponsive_engines"] = json!([["sim-slow", "timeout"]]);
}

/// `GET /res/v1/web/search?q=..&count=..&offset=..` (Brave).
pub async fn brave(
    State(s): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    if !authorised(&s, &headers, "x-subscription-token") {
        return error(StatusCode::UNAUTHORIZED, "The provided subscription token is invalid.");
    }
    let q = p.get("q").cloned().unwrap_or_default();
    if let Some(resp) = search_fault(&s, &q).await {
        return resp;
    }
    let count: usize = p.get("count").and_then(|n| n.parse().ok()).unwrap_or(20).clamp(1, 20);
    let offset: usize = p.get("offset").and_then(|n| n.parse().ok()).unwrap_or(0);
    let results: Vec<Value> = hits(&s, &headers, &q, count, offset * count)
        .into_iter()
        .map(|(title, url, description)| json!({"type": "search_result", "title": title, "url": url, "description": description, "language": "en"}))
        .collect();
    Json(json!({"type": "search", "query": {"original": q}, "web": {"type": "search", "results": results}}))
        .into_response()
}

/// `POST /v1/chat/completions`: a deterministic extractive "reading model".
pub async fn chat_completion(State(s): State<Arc<SimState>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorised(&s, &headers, "authorization") {
        return error(StatusCode::UNAUTHORIZED, "Incorrect API key provided.");
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "body is not valid JSON");
    };
    let model = req.get("model").and_then(Value::as_str).unwrap_or("sim-reader").to_string();
    let prompt: String = req
        .get("messages")
        .and_then(Value::as_array)
        .map(|ms| ms.iter().filter_map(|m| m.get("content").and_then(Value::as_str)).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    let content = if model == "sim-judge" { judge_verdict(&prompt) } else { extract_relevant(&prompt) };
    let id = blake3::hash(prompt.as_bytes()).to_hex()[..16].to_string();
    Json(json!({
        "id": format!("simcmpl-{id}"), "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt.split_whitespace().count(), "completion_tokens": content.split_whitespace().count()}
    }))
    .into_response()
}

/// The sim's deterministic judge (`model: "sim-judge"`): correct when every word of some ground-truth answer is
/// in the predicted answer (lowercase, letters and digits), as a lenient human grader would accept
/// "Wobymville, Grosia" for "Wobymville".
pub fn judge_verdict(prompt: &str) -> String {
    let field = |name: &str| prompt.lines().find_map(|l| l.strip_prefix(name)).unwrap_or("").trim().to_string();
    let golds: Vec<String> = serde_json::from_str(&field("Ground-truth answers:")).unwrap_or_default();
    let bag = |s: &str| -> BTreeSet<String> {
        s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
    };
    let predicted = bag(&field("Predicted answer:"));
    let hit = golds.iter().map(|g| bag(g)).any(|g| !g.is_empty() && g.is_subset(&predicted));
    let verdict = if hit { "correct" } else { "incorrect" };
    format!("The prediction {} a ground-truth answer.\nJudgement: {verdict}", if hit { "contains" } else { "lacks" })
}

/// Words too common to tell relevant sentences apart.
const STOPWORDS: [&str; 24] = [
    "the", "was", "and", "who", "what", "where", "which", "when", "how", "for", "with", "from", "that", "this", "are",
    "were", "has", "had", "his", "her", "its", "did", "does", "into",
];

fn words(s: &str) -> BTreeSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 2)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// Up to three sentences of the prompt (after its first line) sharing the most words with the first line
/// (stopwords aside); sentences scoring under half the best are left out.
pub fn extract_relevant(prompt: &str) -> String {
    let (first, rest) = prompt.split_once('\n').unwrap_or((prompt, ""));
    let wanted = words(first);
    let mut scored: Vec<(usize, usize, &str)> = rest
        .split(['.', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, sentence)| (words(sentence).intersection(&wanted).count(), i, sentence))
        .filter(|(score, _, _)| *score > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let best = scored.first().map_or(0, |s| s.0);
    scored.retain(|s| s.0 * 2 >= best);
    scored.truncate(3);
    scored.sort_by_key(|(_, i, _)| *i);
    if scored.is_empty() {
        return "No relevant information.".to_string();
    }
    scored.iter().map(|(_, _, s)| format!("{s}.")).collect::<Vec<_>>().join(" ")
}
