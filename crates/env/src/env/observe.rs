//! Observation text for the policy, in DeepResearcher's JSON shapes: search →
//! `[{"search_query", "web_page_info_list": [{"title", "url", "quick_summary"}]}]`, browse →
//! `[{"url", "information": [{"page_number", "page_summary"}]}]`. Failures add an `"error"` field. Keys keep
//! this order and the JSON is compact, so the same results always give the same bytes.
use serde_json::{json, Value};

use super::{BrowseResult, QueryResult};

/// The observation for one search call.
pub fn search_observation(results: &[QueryResult]) -> String {
    let list: Vec<Value> = results
        .iter()
        .map(|r| {
            let pages: Vec<Value> =
                r.items.iter().map(|i| json!({"title": i.title, "url": i.url, "quick_summary": i.snippet})).collect();
            let mut v = json!({"search_query": r.query, "web_page_info_list": pages});
            if let Some(e) = &r.error {
                v["error"] = json!(e);
            }
            v
        })
        .collect();
    Value::Array(list).to_string()
}

/// The observation for one browse call.
pub fn browse_observation(results: &[BrowseResult]) -> String {
    let list: Vec<Value> = results
        .iter()
        .map(|r| {
            let info: Vec<Value> =
                r.chunks.iter().map(|c| json!({"page_number": c.page_number, "page_summary": c.summary})).collect();
            let mut v = json!({"url": r.url, "information": info});
            if let Some(e) = &r.error {
                v["error"] = json!(e);
            }
            v
        })
        .collect();
    Value::Array(list).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{PageChunk, SearchItem, Source};

    #[test]
    fn shapes() {
        let q = QueryResult {
            query: "q".into(),
            items: vec![SearchItem { title: "T".into(), url: "u".into(), snippet: "s".into(), score: 1.0 }],
            source: Source::Exact,
            error: None,
            extras: Default::default(),
        };
        assert_eq!(
            search_observation(&[q]),
            r#"[{"search_query":"q","web_page_info_list":[{"title":"T","url":"u","quick_summary":"s"}]}]"#
        );
        let b = BrowseResult {
            url: "u".into(),
            title: "T".into(),
            status: Some(200),
            pages_total: 1,
            chunks: vec![PageChunk { page_number: 1, summary: "x".into() }],
            source: Source::Exact,
            error: None,
        };
        assert_eq!(browse_observation(&[b]), r#"[{"url":"u","information":[{"page_number":1,"page_summary":"x"}]}]"#);
    }
}
