//! What providers return beside the organic results (Serper's answer box, knowledge graph, related questions
//! and searches; Tavily's answer; SearXNG's answers, infoboxes, suggestions) is recorded and served back from
//! the Serper-shaped `/search`; SearXNG's unresponsive engines count as partial failures; and a client of
//! `serve` (`train --env URL`) learns the snapshot's date and where each answer came from.
use serde_json::{json, Value};

use crate::common::*;

const KEY: &str = "side-key-3141";

/// Records the first two sim questions with `provider` from a sim web started with `sim_args`, then serves the
/// snapshot and asks `/search` for the first question: the recorder's JSON summary and the served answer.
fn record_and_serve(provider: &str, sim_args: &[&str]) -> (Value, Value, String) {
    let tmp = tempdir();
    let sim = SimProc::start(&[&["--api-key", KEY][..], sim_args].concat());
    let queries = sim_questions(tmp.path(), 2);
    let snap = tmp.path().join("snap");
    let summary = record(&sim, provider, KEY, &queries, &snap, &["--pages-per-query", "1"]);
    drop(sim);
    let question = webtape::data::read_questions(&queries).unwrap().remove(0).question;
    let server = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let body = json!({"q": question}).to_string();
    let (status, head, resp) = http_request("POST", &format!("{}/search", server.url), body.as_bytes());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    (summary, serde_json::from_slice(&resp).unwrap(), head.to_lowercase())
}

#[test]
fn serper_side_keys_are_recorded_and_served_back() {
    let (summary, v, head) = record_and_serve("serper", &["--side-data"]);
    assert!(head.contains("x-webtape-source: exact"), "{head}");
    let top = &v["organic"][0];
    assert_eq!(v["answerBox"]["link"], top["link"], "{v}");
    assert_eq!(v["answerBox"]["snippet"], top["snippet"]);
    assert_eq!(v["knowledgeGraph"]["title"], top["title"]);
    assert_eq!(v["knowledgeGraph"]["attributes"]["Source"], "sim web");
    assert!(v["peopleAlsoAsk"][0]["question"].as_str().unwrap().starts_with("What is "), "{v}");
    assert_eq!(v["relatedSearches"][0]["query"], top["title"]);
    assert_eq!(summary["searches_partial"], 0);

    // The same web without side data: nothing is invented.
    let (_, plain, _) = record_and_serve("serper", &[]);
    for key in ["answerBox", "knowledgeGraph", "peopleAlsoAsk", "relatedSearches"] {
        assert!(plain.get(key).is_none(), "{key} in {plain}");
    }
}

#[test]
fn tavily_answer_is_served_as_an_answer_box() {
    let (_, v, _) = record_and_serve("tavily", &["--side-data"]);
    assert_eq!(v["answerBox"]["answer"], v["organic"][0]["snippet"], "{v}");
}

#[test]
fn searxng_side_fields_are_served_and_unresponsive_engines_are_partial_failures() {
    let (summary, v, _) = record_and_serve("searxng", &["--side-data"]);
    let top = &v["organic"][0];
    assert_eq!(v["answerBox"]["link"], top["link"], "{v}");
    assert_eq!(v["knowledgeGraph"]["descriptionLink"], top["link"]);
    assert_eq!(v["knowledgeGraph"]["attributes"]["Source"], "sim web");
    assert_eq!(v["relatedSearches"][0]["query"], top["title"]);
    // Every search of the recording came back with one engine missing: partial, not failed.
    let searches = summary["searches"].as_u64().unwrap();
    assert!(searches > 0);
    assert_eq!(summary["searches_partial"].as_u64(), Some(searches), "{summary}");
    assert!(summary["partial_example"].as_str().unwrap().contains("sim-slow (timeout)"), "{summary}");
    assert!(summary["search_failures"].as_object().unwrap().is_empty(), "{summary}");
}

#[test]
fn record_prints_partial_failures() {
    let tmp = tempdir();
    let sim = SimProc::start(&["--side-data"]);
    let queries = sim_questions(tmp.path(), 1);
    let out = webtape()
        .args(["record", "--provider", "searxng", "--endpoint", &sim.url, "--queries", s(&queries)])
        .args(["--snapshot", s(&tmp.path().join("snap")), "--pages-per-query", "0", "--rate", "none"])
        .env_remove("SEARXNG_URL")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("answered in part (latest: 1 engine(s) did not answer: sim-slow (timeout))"), "{text}");
}
