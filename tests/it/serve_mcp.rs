//! `webtape serve`'s `/mcp` route with the official Python MCP SDK as the client: the tools are listed and
//! called over streamable HTTP, answers come from the snapshot, failures are tool errors the caller can read,
//! and the calls count in the run digest like every route's.
use serde_json::Value;

use crate::common::*;
use crate::serve::recorded;

#[test]
fn official_mcp_client_lists_and_calls_the_tools() {
    let tmp = tempdir();
    let (snap, questions) = recorded(tmp.path(), 2);
    let srv = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let out = python("mcp_client.py", &[&format!("{}/mcp", srv.url), &questions[0].question]);
    let v: Value = serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["tools"], serde_json::json!(["browse_webpage", "fetch", "web_search"]), "{v}");
    assert_eq!(v["search_error"], false);
    let search: Value = serde_json::from_str(v["search"].as_str().unwrap()).unwrap();
    assert_eq!(
        search[0]["search_query"].as_str(),
        Some(questions[0].question.as_str()),
        "DeepResearcher's shape: {search}"
    );
    let url = v["first_url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{v}");
    assert!(v["browse"].as_str().unwrap().contains("\"page_summary\""), "{v}");
    let fetched = v["fetch"].as_str().unwrap();
    assert!(fetched.starts_with(&format!("Contents of {url}:\n")), "{fetched}");
    assert!(fetched.ends_with("<content cut: call fetch with start_index 200>"), "{fetched}");
    assert_ne!(v["fetch_rest"], v["fetch"], "start_index reads on");
    assert_eq!(v["missing_error"], true, "{v}");
    assert!(v["missing"].as_str().unwrap().contains("not in snapshot"), "{v}");
    assert_eq!(v["unknown_error"], true, "an unknown tool is an error the caller reads");
    let (_, digest) = http_get(&format!("{}/digest", srv.url));
    let digest: Value = serde_json::from_slice(&digest).unwrap();
    assert!(digest["entries"].as_u64().unwrap() >= 5, "MCP calls are logged: {digest}");
}
