//! Several `webtape serve` processes on one snapshot folder at once (read-only), each answering part of a run's
//! calls in another order: `webtape digest combine` of their `GET /digest` parts gives the run digest one server
//! prints for all the calls; `POST /digest {"mark"}` + `GET /digest?since=` give one step's part.
use serde_json::{json, Value};

use crate::common::*;
use crate::serve::recorded;

fn call(url: &str, route: &str, body: &str) {
    let (status, resp) = post(&format!("{url}/{route}"), body);
    assert_eq!(status, 200, "{route} {body}: {}", String::from_utf8_lossy(&resp));
}

fn digest_json(url: &str, query: &str) -> Value {
    let (status, body) = http_get(&format!("{url}/digest{query}"));
    json_200(status, &body, "GET /digest")
}

#[test]
fn replicas_digest_like_one_server() {
    let tmp = tempdir();
    let (snap, questions) = recorded(tmp.path(), 3);
    let mut calls: Vec<(&str, String)> = Vec::new();
    for q in &questions {
        calls.push(("search", json!({"q": q.question}).to_string()));
        calls.push(("retrieve", json!({"queries": [format!("facts about {}", q.answers[0])], "topk": 2}).to_string()));
    }
    let one = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let (_, body) = post(&format!("{}/search", one.url), &calls[0].1);
    let link = serde_json::from_slice::<Value>(&body).unwrap()["organic"][0]["link"].as_str().unwrap().to_string();
    calls.push(("browse", json!({"url": link}).to_string()));
    let one = {
        drop(one);
        ServeProc::start(&["--snapshot", s(&snap)], &[])
    };
    for (route, body) in &calls {
        call(&one.url, route, body);
    }
    let whole = digest_json(&one.url, "");
    let (_, printed) = one.stop();
    assert!(printed.contains(whole["digest"].as_str().unwrap()), "GET /digest is the digest serve prints: {printed}");

    // Two replicas on the same folder at the same time, the calls split between them and reversed.
    let (a, b) = (ServeProc::start(&["--snapshot", s(&snap)], &[]), ServeProc::start(&["--snapshot", s(&snap)], &[]));
    for (i, (route, body)) in calls.iter().rev().enumerate() {
        call(if i % 2 == 0 { &a.url } else { &b.url }, route, body);
    }
    let (pa, pb) = (digest_json(&a.url, ""), digest_json(&b.url, ""));
    assert_ne!(pa["digest"], whole["digest"]);
    let fa = write_file(tmp.path(), "a.json", pa.to_string().as_bytes());
    let fb = write_file(tmp.path(), "b.json", pb.to_string().as_bytes());
    let out = ok(&["digest", "combine", s(&fa), s(&fb)]);
    assert_eq!(out.trim(), format!("{} calls; run digest {}", calls.len(), whole["digest"].as_str().unwrap()));

    // One step's part: mark, call, ask since the mark == a fresh server that saw only that call.
    let (status, marked) = post(&format!("{}/digest", a.url), r#"{"mark": "step-7"}"#);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&marked));
    call(&a.url, calls[0].0, &calls[0].1);
    let step = digest_json(&a.url, "?since=step-7");
    let fresh = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    call(&fresh.url, calls[0].0, &calls[0].1);
    assert_eq!(step, digest_json(&fresh.url, ""), "the calls since a mark");
    let (status, body) = http_get(&format!("{}/digest?since=no-such-step", a.url));
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));

    let bad = write_file(tmp.path(), "bad.json", br#"{"format": "something else"}"#);
    let refused = run(&["digest", "combine", s(&fa), s(&bad)]);
    assert!(!refused.status.success() && stderr(&refused).contains("bad.json"), "{}", stderr(&refused));
}
