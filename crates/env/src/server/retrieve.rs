//! `POST /retrieve` in every dialect the search-agent trainers send, answered in the one it was asked in:
//! Search-R1 / veRL (`{"queries": [..], "topk", "return_scores"}` → `{"result": [[{"document": {"id",
//! "contents"}, "score"}]]}`), a single `query` string (skyrl-gym, rLLM: `{"query", "top_k"}` → `{"results":
//! [{"id", "content", "score"}]}` beside Search-R1's `result`). Scores are on one scale for every answer: 1/rank.
//! Where each query's answer came from is the `x-webtape-source` header (one value per query, comma-separated),
//! not a body field: a recording run and its replay answer with the same bytes.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::routes::{bad, object, opt_uint, ApiError};
use super::AppState;
use crate::env::QueryResult;

/// What a `/retrieve` body asks.
#[derive(Debug, PartialEq)]
struct Ask {
    queries: Vec<String>,
    /// A single `query` string (answered with `results` too).
    single: bool,
    topk: Option<usize>,
    scores: bool,
}

fn parse(map: &Map<String, Value>, max_batch: usize) -> Result<Ask, ApiError> {
    let (queries, single) = match (map.get("queries"), map.get("query")) {
        (Some(Value::Array(items)), _) => {
            let list = items
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    q.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(format!("`queries[{i}]` must be a string, got {q}")))
                })
                .collect::<Result<Vec<String>, ApiError>>()?;
            (list, false)
        }
        (Some(other), _) => return Err(bad(format!("`queries` must be a list of strings, got {other}"))),
        (None, Some(Value::String(q))) => (vec![q.clone()], true),
        (None, Some(other)) => return Err(bad(format!("`query` must be a string, got {other}"))),
        (None, None) => return Err(bad("`queries` (a list of strings) or `query` (a string) is missing")),
    };
    if queries.len() > max_batch {
        return Err(bad(format!("`queries` has {} entries; the limit is {max_batch} per call", queries.len())));
    }
    let topk = opt_uint(map, "topk", 1, 100)?;
    let top_k = opt_uint(map, "top_k", 1, 100)?;
    if let (Some(a), Some(b)) = (topk, top_k) {
        if a != b {
            return Err(bad(format!("`topk` ({a}) and `top_k` ({b}) disagree; send one")));
        }
    }
    let scores = match map.get("return_scores") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(bad(format!("`return_scores` must be true or false, got {v}"))),
    };
    Ok(Ask { queries, single, topk: topk.or(top_k).map(|k| k as usize), scores })
}

/// The handler (see the module doc). `queries: []` is answered `{"result": []}`.
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    episode_header: super::episodes::EpisodeHeader,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let map = object(&state, body)?;
    let episode = super::episodes::episode_id(&episode_header, Some(&map))?;
    let ask = parse(&map, state.cfg.max_batch)?;
    if ask.queries.is_empty() {
        return Ok(Json(json!({ "result": [] })).into_response());
    }
    let k = ask.topk.unwrap_or(state.cfg.top_k).max(1);
    // In an episode, DeepResearcher's rules: at most `max_queries` queries are answered (one list each).
    let mut held = state.episodes.hold(episode).await?;
    let results = state.env.search(held.as_deref_mut(), &ask.queries, Some(k)).await?;
    let result: Vec<Vec<Value>> = results.iter().map(|r| search_r1_docs(r, ask.scores)).collect();
    let mut out = json!({ "result": result });
    if ask.single {
        out["results"] = Value::Array(flat_docs(&results[0]));
    }
    let source = match results.as_slice() {
        [one] => axum::http::HeaderValue::from_static(one.source.as_str()),
        many => {
            let names: Vec<&str> = many.iter().map(|r| r.source.as_str()).collect();
            axum::http::HeaderValue::from_str(&names.join(","))
                .map_err(|e| ApiError(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        }
    };
    Ok(([("x-webtape-source", source)], Json(out)).into_response())
}

/// Search-R1's shape: `{"document": {"id", "contents": "\"Title\"\nsnippet"}, "score"}` (or the bare document
/// without scores).
fn search_r1_docs(r: &QueryResult, scores: bool) -> Vec<Value> {
    ranked(r)
        .map(|(score, i)| {
            let doc = json!({"id": i.url, "contents": contents(i)});
            if scores {
                json!({"document": doc, "score": score})
            } else {
                doc
            }
        })
        .collect()
}

/// Each result with its score on the one scale: 1/rank.
fn ranked(r: &QueryResult) -> impl Iterator<Item = (f64, &crate::env::SearchItem)> {
    r.items.iter().enumerate().map(|(rank, i)| (1.0 / (rank as f64 + 1.0), i))
}

/// Search-R1's document text: `"Title"\nsnippet`.
fn contents(i: &crate::env::SearchItem) -> String {
    format!("\"{}\"\n{}", i.title, i.snippet)
}

/// rLLM's flat shape: `{"id", "title", "content", "score"}`.
fn flat_docs(r: &QueryResult) -> Vec<Value> {
    ranked(r).map(|(score, i)| json!({"id": i.url, "title": i.title, "content": contents(i), "score": score})).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(body: Value) -> Result<Ask, String> {
        parse(body.as_object().unwrap(), 4).map_err(|e| e.1)
    }

    #[test]
    fn every_dialect_parses() {
        let r1 = ask(json!({"queries": ["a", "b"], "topk": 3, "return_scores": true})).unwrap();
        assert_eq!(r1, Ask { queries: vec!["a".into(), "b".into()], single: false, topk: Some(3), scores: true });
        let skyrl = ask(json!({"query": "a"})).unwrap();
        assert_eq!(skyrl, Ask { queries: vec!["a".into()], single: true, topk: None, scores: false });
        let rllm = ask(json!({"query": "a", "top_k": 5, "retriever_type": "hybrid"})).unwrap();
        assert_eq!(rllm.topk, Some(5));
        assert!(ask(json!({"queries": []})).unwrap().queries.is_empty());
    }

    #[test]
    fn bad_bodies_name_the_field() {
        for (body, want) in [
            (json!({}), "`query` (a string) is missing"),
            (json!({"query": 3}), "`query` must be a string"),
            (json!({"queries": "a"}), "`queries` must be a list"),
            (json!({"queries": ["a"], "topk": 3, "top_k": 4}), "disagree"),
            (json!({"queries": ["a", "b", "c", "d", "e"]}), "limit is 4"),
            (json!({"query": "a", "top_k": 0}), "`top_k`"),
        ] {
            let err = ask(body.clone()).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
    }
}
