//! `webtape serve` end to end: deterministic replay across processes, record-then-replay with the sim web
//! stopped, and bad input answered with JSON 4xx while the server keeps serving.
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::common::*;

const KEY: &str = "serve-key-5511";

/// A snapshot recorded from the sim web (which is stopped again), and the questions it was recorded with.
pub fn recorded(tmp: &std::path::Path, n: usize) -> (PathBuf, Vec<webtape::data::Question>) {
    let sim = SimProc::start(&["--api-key", KEY]);
    let queries = sim_questions(tmp, n);
    let snap = tmp.join("snap");
    record(&sim, "serper", KEY, &queries, &snap, &["--pages-per-query", "3"]);
    (snap, webtape::data::read_questions(&queries).unwrap())
}

/// A fixed sequence of tool calls: recorded searches, unrecorded ones (BM25 fallback), browses of result URLs.
fn session(url: &str, questions: &[webtape::data::Question]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for q in questions {
        let body =
            json!({"queries": [q.question, format!("facts about {}", q.answers[0])], "topk": 3, "return_scores": true});
        let (status, resp) = post(&format!("{url}/retrieve"), &body.to_string());
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
        out.push(resp);
        let (status, resp) = post(&format!("{url}/search"), &json!({"q": q.question}).to_string());
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&resp).unwrap();
        out.push(resp);
        for hit in v["organic"].as_array().unwrap().iter().take(2) {
            let b = json!({"url": hit["link"], "question": q.question});
            let (status, resp) = post(&format!("{url}/browse"), &b.to_string());
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
            out.push(resp);
        }
    }
    out
}

fn digest_of(summary: &str) -> String {
    let line = summary.lines().find(|l| l.contains("run digest")).unwrap_or_else(|| panic!("no digest in {summary:?}"));
    line.rsplit(' ').next().unwrap().to_string()
}

fn metric(url: &str, name: &str) -> f64 {
    let (_, body) = http_get(&format!("{url}/metrics"));
    let text = String::from_utf8(body).unwrap();
    let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in metrics"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_snapshot_recorded_with_num_5_replays_exactly_with_search_num_5() {
    let tmp = tempdir();
    let sim = SimProc::start(&["--api-key", KEY]);
    let queries = sim_questions(tmp.path(), 3);
    let snap = tmp.path().join("snap");
    record(&sim, "serper", KEY, &queries, &snap, &["--pages-per-query", "1", "--num", "5"]);
    drop(sim);
    let questions = webtape::data::read_questions(&queries).unwrap();
    let ask = |url: &str| {
        for q in &questions {
            let (status, _) = post(&format!("{url}/search"), &json!({"q": q.question}).to_string());
            assert_eq!(status, 200);
        }
    };
    let default = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    ask(&default.url);
    assert_eq!(metric(&default.url, "webtape_answers_total{source=\"exact\"}"), 0.0, "num 10 is another key");
    let five = ServeProc::start(&["--snapshot", s(&snap), "--search-num", "5", "--miss", "strict"], &[]);
    ask(&five.url);
    assert_eq!(metric(&five.url, "webtape_answers_total{source=\"exact\"}"), 3.0);
    assert_eq!(metric(&five.url, "webtape_answers_total{source=\"miss\"}"), 0.0);
}

#[test]
fn replay_is_byte_identical_across_processes() {
    let tmp = tempdir();
    let (snap, questions) = recorded(tmp.path(), 8);
    // Two servers share the snapshot folder at once (read-only).
    let a = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let b = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let (ra, rb) = (session(&a.url, &questions), session(&b.url, &questions));
    assert_eq!(ra, rb, "responses differ between two replay servers");
    assert!(metric(&a.url, "webtape_answers_total{source=\"bm25\"}") >= 8.0, "BM25 fallbacks were exercised");
    assert!(metric(&a.url, "webtape_answers_total{source=\"exact\"}") >= 16.0);
    let (ok_a, out_a) = a.stop();
    let (ok_b, out_b) = b.stop();
    assert!(ok_a && ok_b, "clean exit on SIGTERM");
    assert_eq!(digest_of(&out_a), digest_of(&out_b));
    // A different sequence gives a different digest.
    let c = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    session(&c.url, &questions[..4]);
    assert_ne!(digest_of(&c.stop().1), digest_of(&out_a));
}

#[test]
fn record_then_replay_with_the_web_gone() {
    let tmp = tempdir();
    let sim = SimProc::start(&["--api-key", KEY]);
    let questions: Vec<_> = webtape::data::read_questions(&sim_questions(tmp.path(), 6)).unwrap();
    let snap = tmp.path().join("rec");
    let reader = format!("{}/v1", sim.url);
    let rec = ServeProc::start(
        &[
            "--mode",
            "record",
            "--snapshot",
            s(&snap),
            "--provider",
            "serper",
            "--endpoint",
            &sim.url,
            "--allow-private",
        ]
        .iter()
        .copied()
        .chain(["--rate", "none", "--host-rate", "none", "--reader-endpoint", &reader, "--reader-model", "sim-reader"])
        .collect::<Vec<_>>(),
        &[("SERPER_API_KEY", KEY), ("WEBTAPE_READER_API_KEY", KEY)],
    );
    let live = session(&rec.url, &questions);
    let (ok_rec, _) = rec.stop();
    assert!(ok_rec);
    drop(sim); // the web is gone
    let rep = ServeProc::start(&["--snapshot", s(&snap), "--miss", "strict", "--reader-model", "sim-reader"], &[]);
    // The unrecorded retrieve queries were recorded too (record mode records every search it makes).
    let replayed = session(&rep.url, &questions);
    assert_eq!(live.len(), replayed.len());
    for (l, r) in live.iter().zip(&replayed) {
        assert_eq!(String::from_utf8_lossy(l), String::from_utf8_lossy(r));
    }
    assert_eq!(metric(&rep.url, "webtape_answers_total{source=\"miss\"}"), 0.0, "zero misses");
    assert_eq!(metric(&rep.url, "webtape_answers_total{source=\"bm25\"}"), 0.0);
    assert_eq!(metric(&rep.url, "webtape_exact_share"), 1.0);
    // Browse answers are the reading model's extracts (recorded, then replayed), not raw page text.
    let browsed: Value = serde_json::from_slice(&live[2]).unwrap();
    let content = browsed["content"].as_str().unwrap();
    assert!(!content.is_empty() && content.len() < 1500 && !content.contains("\n\n"), "reader output: {browsed}");
    assert!(metric(&rep.url, "webtape_answers_total{source=\"exact\"}") >= 12.0 + 12.0 + 12.0);
}

#[test]
fn a_recording_on_a_faulty_web_answers_repeats_itself_and_replays_with_its_digest() {
    let tmp = tempdir();
    let faults = ["--faults", "too-many,server-error,slow", "--fault-rate", "0.5", "--slow-ms", "200"];
    let sim = SimProc::start(&[&["--api-key", KEY, "--retry-after", "1"], &faults[..]].concat());
    let questions: Vec<_> = webtape::data::read_questions(&sim_questions(tmp.path(), 3)).unwrap();
    let snap = tmp.path().join("rec");
    let args = ["--mode", "record", "--snapshot", s(&snap), "--provider", "serper", "--endpoint", &sim.url];
    let rec = ServeProc::start(
        &[&args[..], &["--allow-private", "--rate", "none", "--host-rate", "none"]].concat(),
        &[("SERPER_API_KEY", KEY)],
    );
    let first = session(&rec.url, &questions);
    let seen = sim.requests();
    let retried = seen.values().filter(|n| n.as_u64() > Some(1)).count();
    assert!(retried > 0, "the faulty web made the recorder retry: {seen:?}");
    let again = session(&rec.url, &questions);
    assert_eq!(first, again, "a repeated call gets what the recording holds");
    assert_eq!(sim.requests(), seen, "and never reaches the live web again");
    let (ok, recorded) = rec.stop();
    assert!(ok);
    drop(sim);
    let rep = ServeProc::start(&["--snapshot", s(&snap), "--miss", "strict"], &[]);
    let replayed = [session(&rep.url, &questions), session(&rep.url, &questions)].concat();
    assert_eq!([first, again].concat(), replayed, "the replay answers byte for byte as the recording run did");
    let (_, out) = rep.stop();
    assert_eq!(digest_of(&recorded), digest_of(&out), "live answers digest like their replay");
}

#[test]
fn real_clients_verl_and_serper_style() {
    let tmp = tempdir();
    let (snap, questions) = recorded(tmp.path(), 3);
    let srv = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let q = &questions[0];
    let out = python("verl_like_client.py", &[&format!("{}/retrieve", srv.url), &q.question, &questions[1].question]);
    assert!(out.contains("Doc 1 (Title: "), "{out}");
    assert_eq!(out.matches("Doc 1 (Title: ").count(), 2, "one block per query: {out}");
    let out = python("serper_like_client.py", &[&srv.url, &q.question]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["organic_count"].as_u64().unwrap() > 0, "{out}");
    assert!(v["first_link"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{out}");
}

fn retrieve(url: &str, body: Value) -> Value {
    let (status, resp) = post(&format!("{url}/retrieve"), &body.to_string());
    json_200(status, &resp, &body.to_string())
}

#[test]
fn retrieve_speaks_every_client_dialect() {
    let tmp = tempdir();
    let (snap, questions) = recorded(tmp.path(), 2);
    let srv = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let (u, q) = (srv.url.as_str(), questions[0].question.as_str());
    // skyrl-gym: one `query` string, no topk: --top-k's default (3), in Search-R1's and the flat shape.
    let v = retrieve(u, json!({"query": q}));
    assert_eq!(v["result"][0].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["results"].as_array().unwrap().len(), 3, "{v}");
    assert!(v["results"][0]["content"].as_str().unwrap().starts_with('"'), "{v}");
    // rLLM: `query` + `top_k` (+ its retriever_type, ignored), read from `results`.
    let v = retrieve(u, json!({"query": q, "top_k": 2, "retriever_type": "hybrid"}));
    let scores: Vec<f64> = v["results"].as_array().unwrap().iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert_eq!(scores, [1.0, 0.5], "{v}");
    // Search-R1 with no searches this turn, and its largest batches.
    assert_eq!(retrieve(u, json!({"queries": []})), json!({"result": []}));
    let v = retrieve(u, json!({"queries": vec![q; 2560], "topk": 1}));
    assert_eq!(v["result"].as_array().unwrap().len(), 2560);
    // A recorded query and an unrecorded one (BM25 fallback) score on one scale, 1/rank; the header says which.
    let unrecorded = format!("facts about {}", questions[0].answers[0]);
    let body = json!({"queries": [q, unrecorded], "topk": 3, "return_scores": true}).to_string();
    let (status, head, resp) = http_request("POST", &format!("{u}/retrieve"), body.as_bytes());
    assert!(status == 200 && head.to_lowercase().contains("x-webtape-source: exact,bm25"), "{head}");
    let v: Value = serde_json::from_slice(&resp).unwrap();
    for list in v["result"].as_array().unwrap() {
        let scores: Vec<f64> = list.as_array().unwrap().iter().map(|d| d["score"].as_f64().unwrap()).collect();
        assert_eq!(scores, [1.0, 0.5, 1.0 / 3.0], "{v}");
    }
    // rLLM checks `GET /health`; /healthz says what is served.
    let (status, body) = http_get(&format!("{u}/health"));
    let health: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert!(health["snapshot"]["content_digest"].as_str().unwrap().starts_with("blake3:"), "{health}");
    assert_eq!((health["miss"].as_str(), health["top_k"].as_u64()), (Some("bm25"), Some(3)), "{health}");
    drop(srv);
    let srv = ServeProc::start(&["--snapshot", s(&snap), "--top-k", "2"], &[]);
    assert_eq!(retrieve(&srv.url, json!({"query": q}))["results"].as_array().unwrap().len(), 2, "--top-k");
}

#[test]
fn bad_input_is_a_json_4xx_and_the_server_keeps_serving() {
    let tmp = tempdir();
    let (snap, _) = recorded(tmp.path(), 2);
    let srv = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let u = &srv.url;
    let too_many = json!({"queries": vec!["q"; 5000]}).to_string();
    let huge = format!("{{\"queries\": [\"{}\"]}}", "x".repeat(10 << 20));
    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        ("POST", format!("{u}/retrieve"), "{not json".into(), 400, "not valid JSON"),
        ("POST", format!("{u}/retrieve"), "[1,2]".into(), 400, "JSON object"),
        ("POST", format!("{u}/retrieve"), r#"{"queries": "one"}"#.into(), 400, "`queries` must be a list"),
        ("POST", format!("{u}/retrieve"), r#"{"queries": [1]}"#.into(), 400, "`queries[0]` must be a string"),
        ("POST", format!("{u}/retrieve"), r#"{"queries": ["a"], "topk": "3"}"#.into(), 400, "`topk`"),
        ("POST", format!("{u}/retrieve"), r#"{"queries": ["a"], "return_scores": 1}"#.into(), 400, "`return_scores`"),
        ("POST", format!("{u}/retrieve"), r#"{}"#.into(), 400, "`query` (a string) is missing"),
        ("POST", format!("{u}/retrieve"), too_many, 400, "limit is 4096"),
        ("POST", format!("{u}/retrieve"), huge, 413, "larger than"),
        ("POST", format!("{u}/search"), r#"{"q": 5}"#.into(), 400, "`q`"),
        ("POST", format!("{u}/search"), r#"{"num": 5}"#.into(), 400, "`q` is missing"),
        ("POST", format!("{u}/browse"), r#"{"url": "not a url"}"#.into(), 400, "`url`"),
        ("POST", format!("{u}/browse"), r#"{"url": "file:///etc/passwd"}"#.into(), 400, "http or https"),
        ("POST", format!("{u}/browse"), r#"{"url": 7}"#.into(), 400, "`url` must be a string"),
        ("POST", format!("{u}/browse"), r#"{"url": "https://never.example/"}"#.into(), 404, "not in snapshot"),
        ("POST", format!("{u}/browse"), r#"{"url": "https://x.example/", "page": 0}"#.into(), 400, "`page`"),
        ("GET", format!("{u}/no/such/route"), String::new(), 404, "no route"),
        ("DELETE", format!("{u}/retrieve"), String::new(), 405, "not allowed"),
    ];
    for (method, url, body, want, needle) in cases {
        let (status, _, resp) = http_request(method, &url, body.as_bytes());
        let v: Value = serde_json::from_slice(&resp).unwrap_or_else(|e| panic!("{method} {url}: not JSON ({e})"));
        assert_eq!(status, want, "{method} {url} {}: {v}", &body[..body.len().min(60)]);
        assert!(v["error"].as_str().unwrap().contains(needle), "{v} lacks {needle:?}");
    }
    let (status, _) = http_get(&format!("{u}/healthz"));
    assert_eq!(status, 200, "still serving");
    assert!(metric(u, "webtape_requests_total{route=\"retrieve\",status=\"4xx\"}") >= 9.0);
}

#[test]
fn busy_server_says_429_and_sigterm_finishes_in_flight_work() {
    let tmp = tempdir();
    let sim = SimProc::start(&[
        "--api-key",
        KEY,
        "--faults",
        "slow",
        "--fault-rate",
        "1",
        "--fault-transient",
        "1000",
        "--slow-ms",
        "1500",
    ]);
    let snap = tmp.path().join("rec");
    let srv = ServeProc::start(
        &[
            "--mode",
            "record",
            "--snapshot",
            s(&snap),
            "--provider",
            "serper",
            "--endpoint",
            &sim.url,
            "--allow-private",
            "--rate",
            "none",
            "--max-concurrency",
            "1",
        ],
        &[("SERPER_API_KEY", KEY)],
    );
    let url = srv.url.clone();
    let slow = std::thread::spawn(move || post(&format!("{url}/search"), r#"{"q": "slow question"}"#));
    std::thread::sleep(std::time::Duration::from_millis(400));
    let (status, head, body) = http_request("POST", &format!("{}/search", srv.url), br#"{"q": "second"}"#);
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&body));
    assert!(head.to_ascii_lowercase().contains("retry-after: 1"), "{head}");
    let (ok_exit, summary) = srv.stop(); // SIGTERM while the slow search is in flight
    let (status, body) = slow.join().unwrap();
    assert_eq!(status, 200, "in-flight request finished: {}", String::from_utf8_lossy(&body));
    assert!(ok_exit, "{summary}");
    // Record mode flushed: the search made during shutdown is in the snapshot.
    let snapshot = webtape::snapshot::Snapshot::open(&snap).unwrap();
    assert_eq!(snapshot.search_captures(&webtape::snapshot::SearchRequest::new("slow question")).unwrap().len(), 1);
}
