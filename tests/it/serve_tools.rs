//! `POST /tools/{name}`: a trainer's tool call by name, answered with the very observation text the in-process
//! environment gives a rollout (byte for byte), with the episode's rules (browse only the latest results).
use serde_json::{json, Value};
use webtape::env::{observe, EnvConfig, Environment, Episode};

use crate::common::*;
use crate::serve::recorded;

fn call(url: &str, tool: &str, body: Value) -> (u16, Value) {
    let (status, answer) = post(&format!("{url}/tools/{tool}"), &body.to_string());
    (status, serde_json::from_slice(&answer).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&answer))))
}

#[test]
fn tool_calls_answer_the_in_process_observations_under_episode_rules() {
    let tmp = tempdir();
    let (snap, questions) = recorded(tmp.path(), 2);
    // `--top-k 10`: DeepResearcher's ten results a query (the recipe's setting).
    let srv = ServeProc::start(&["--snapshot", s(&snap), "--top-k", "10"], &[]);
    let question = questions[0].question.clone();
    let queries = vec![question.clone(), "facts about nothing in particular".to_string()];

    // The in-process environment under the server's rules, one episode: what a rollout of our trainer would see.
    let (_, health) = http_get(&format!("{}/healthz", srv.url));
    let health: Value = serde_json::from_slice(&health).unwrap();
    let rules: EnvConfig = serde_json::from_value(health["rules"].clone()).unwrap();
    assert_eq!((rules.top_k, rules.max_queries), (10, 3));
    let env = Environment::replay(&snap, rules, None).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut ep = Episode::default();
    let found = rt.block_on(env.search(Some(&mut ep), &queries, None)).unwrap();
    let want_search = observe::search_observation(&found);
    let first_url = found[0].items[0].url.clone();
    let urls = vec![first_url.clone()];
    let pages = rt.block_on(env.browse(Some(&mut ep), &urls, &question, None)).unwrap();
    let want_browse = observe::browse_observation(&pages);

    let (status, v) = call(&srv.url, "web_search", json!({"arguments": {"query": queries}, "episode": "t1"}));
    assert_eq!((status, v["observation"].as_str()), (200, Some(want_search.as_str())), "{v}");
    let args = json!({"url_list": [first_url], "question": question});
    let (status, v) = call(&srv.url, "browse_webpage", json!({"arguments": args, "episode": "t1"}));
    assert_eq!((status, v["observation"].as_str()), (200, Some(want_browse.as_str())), "{v}");
    assert!(want_browse.contains("page_summary") && !want_browse.contains("\"error\""), "{want_browse}");

    // Another episode never searched: the same URL is refused (an observation, not an HTTP error).
    let (status, v) =
        call(&srv.url, "browse_webpage", json!({"arguments": {"url_list": [first_url]}, "episode": "t2"}));
    assert_eq!(status, 200);
    assert!(v["observation"].as_str().unwrap().contains("not in the latest search results"), "{v}");

    // Wrong calls name what is wrong.
    let (status, v) = call(&srv.url, "web_search", json!({"arguments": {"q": "x"}}));
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("`query` is missing"), "{v}");
    let (status, v) = call(&srv.url, "nope", json!({"arguments": {}}));
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("unknown tool"), "{v}");
    let (status, _) = call(&srv.url, "web_search", json!({"arguments": [1]}));
    assert_eq!(status, 400);

    let (status, log) = http_get(&format!("{}/episodes/t1", srv.url));
    let log: Value = serde_json::from_slice(&log).unwrap();
    assert_eq!((status, log["calls"].as_u64()), (200, Some(3)), "two queries and one page: {log}");
    let (_, metrics) = http_get(&format!("{}/metrics", srv.url));
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("webtape_requests_total{route=\"tools\",status=\"2xx\"} 3"), "{metrics}");
    assert!(metrics.contains("webtape_requests_total{route=\"tools\",status=\"4xx\"} 3"), "{metrics}");
}
