//! Episodes over HTTP: requests naming an episode get DeepResearcher's rules (at most three queries a call,
//! browse only the episode's latest results) and are logged in it; requests without one are served as before.
use serde_json::{json, Value};

use crate::common::*;
use crate::serve::recorded;

/// POST with an `x-webtape-episode` header (when given); `(status, JSON answer)`.
fn post_in(url: &str, episode: Option<&str>, body: &Value) -> (u16, Value) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let body = body.to_string();
    let extra = episode.map(|e| format!("x-webtape-episode: {e}\r\n")).unwrap_or_default();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&raw[..split]).split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_slice(&raw[split + 4..]).unwrap())
}

fn ids(answer: &Value, i: usize) -> Vec<String> {
    let docs = answer["result"][i].as_array().unwrap().iter();
    docs.map(|d| d.get("document").unwrap_or(d)["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn episodes_get_deepresearchers_rules_and_their_own_log() {
    let tmp = tempdir();
    let (snap, questions) = recorded(tmp.path(), 2);
    let srv = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let (retrieve, browse) = (format!("{}/retrieve", srv.url), format!("{}/browse", srv.url));
    let five: Vec<String> = (0..5).map(|i| format!("{} {i}", questions[0].question)).collect();
    let body = json!({"queries": five, "topk": 3, "return_scores": true});
    let (_, plain) = post_in(&retrieve, None, &body);
    assert_eq!(plain["result"].as_array().unwrap().len(), 5, "no episode: every query answered");
    let (_, limited) = post_in(&retrieve, Some("e1"), &body);
    assert_eq!(limited["result"].as_array().unwrap().len(), 3, "an episode: at most three queries a call");

    let (_, first) = post_in(&retrieve, Some("e1"), &json!({"queries": [questions[0].question], "topk": 3}));
    let page = ids(&first, 0)[0].clone();
    let (status, _) = post_in(&browse, Some("e1"), &json!({"url": page}));
    assert_eq!(status, 200, "a URL of the episode's latest search");
    // A later search that finds nothing: the episode may browse none of the earlier results.
    let (_, none) = post_in(&retrieve, Some("e1"), &json!({"queries": ["qqzzxxvvkkjj"], "topk": 3}));
    assert!(ids(&none, 0).is_empty(), "{none}");
    let (status, v) = post_in(&browse, Some("e1"), &json!({"url": page}));
    assert_eq!(status, 404, "{v}");
    assert!(v["error"].as_str().unwrap().contains("not in the latest search results"), "{v}");
    let stale = page.clone();
    let (status, _) = post_in(&browse, None, &json!({"url": stale}));
    assert_eq!(status, 200, "without an episode, any recorded page");
    let (status, v) = post_in(&browse, None, &json!({"url": page, "episode": "fresh"}));
    assert_eq!(status, 404, "an episode named in the body, with no search yet: {v}");

    let (status, log) = http_get(&format!("{}/episodes/e1", srv.url));
    let log: Value = serde_json::from_slice(&log).unwrap();
    assert_eq!((status, log["calls"].as_u64()), (200, Some(3 + 1 + 1 + 2)), "{log}");
    assert!(log["digest"].as_str().unwrap().starts_with("blake3:"), "{log}");
    let (status, _, _) = http_request("DELETE", &format!("{}/episodes/e1", srv.url), b"");
    assert_eq!(status, 200);
    let (status, _) = http_get(&format!("{}/episodes/e1", srv.url));
    assert_eq!(status, 404, "closed");
}
