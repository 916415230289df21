//! The recorder end to end against the sim web (a real HTTP server on loopback speaking each provider's schema):
//! every provider shape, byte-exact raw responses, no key in the snapshot, question file formats.
use std::path::Path;

use webtape::snapshot::{SearchRequest, Snapshot};

use crate::common::*;

const KEY: &str = "test-key-5f2c9a81";

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn check_provider(provider: &str) {
    let sim = SimProc::start(&["--api-key", KEY]);
    let tmp = tempdir();
    let queries = sim_questions(tmp.path(), 12);
    let snap = tmp.path().join("snap");
    let summary = record(&sim, provider, KEY, &queries, &snap, &["--pages-per-query", "3", "--num", "5"]);
    assert_eq!(summary["recorded"], 12, "{summary}");
    assert_eq!(summary["search_failures"], serde_json::json!({}), "{summary}");
    assert_eq!(summary["page_failures"], serde_json::json!({}), "{summary}");

    let snapshot = Snapshot::open(&snap).unwrap();
    let questions = webtape::data::read_questions(&queries).unwrap();
    let mut pages = 0;
    for q in &questions {
        let mut req = SearchRequest::new(&q.question);
        req.num = 5;
        let captures = snapshot.search_captures(&req).unwrap();
        assert_eq!(captures.len(), 1, "{provider}: one capture of {:?}", q.question);
        let capture = &captures[0];
        assert_eq!(capture.provider, provider);
        assert!(!capture.results.is_empty(), "{provider}: results for {:?}", q.question);
        // The raw response is stored byte for byte: the same call made by Python `requests` gets the same bytes.
        let raw = snapshot.search_raw(capture).unwrap().expect("raw response stored");
        // The provider got the query as written (case kept); only the key is lowercased.
        let again = python("provider_call.py", &[provider, &sim.url, KEY, q.question.trim(), "5"]);
        assert_eq!(hex::encode(&raw), again.trim(), "{provider}: raw response differs");
        for result in capture.results.iter().take(3) {
            let page = snapshot.get_page(&result.url, None).unwrap().expect("every top result page recorded");
            assert_eq!(page.capture.status, Some(200));
            let (_, served) = http_get(&result.url);
            assert_eq!(snapshot.body(&page.capture).unwrap().unwrap(), served, "page bytes as served");
            assert!(!page.text.text.is_empty(), "text extracted");
            pages += 1;
        }
    }
    assert!(pages >= 12, "{pages}");
    assert_eq!(snapshot.indexed_pages(), snapshot.manifest().counts.urls);
    drop(snapshot);
    // The key is nowhere: not in any file of the snapshot, not in any decoded record or raw response.
    for file in files(&snap) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, KEY.as_bytes()), "key found in {}", file.display());
    }
    let warc = tmp.path().join("all.warc");
    ok(&["snapshot", "export-warc", s(&snap), s(&warc)]);
    assert!(!contains(&std::fs::read(&warc).unwrap(), KEY.as_bytes()));
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}

#[test]
fn records_serper() {
    check_provider("serper");
}

#[test]
fn records_searxng() {
    check_provider("searxng");
}

#[test]
fn records_brave() {
    check_provider("brave");
}

#[test]
fn records_tavily() {
    check_provider("tavily");
}

#[test]
fn wrong_key_is_a_recorded_failure_without_the_key() {
    let sim = SimProc::start(&["--api-key", KEY]);
    let tmp = tempdir();
    let queries = sim_questions(tmp.path(), 3);
    let snap = tmp.path().join("snap");
    let summary = record(&sim, "serper", "wrong-key-77aa31", &queries, &snap, &["--retries", "0"]);
    assert_eq!(summary["search_failures"]["http 403"], 3, "{summary}");
    let snapshot = Snapshot::open(&snap).unwrap();
    let q = &webtape::data::read_questions(&queries).unwrap()[0];
    let capture = &snapshot.search_captures(&SearchRequest::new(&q.question)).unwrap()[0];
    let error = capture.error.as_deref().unwrap();
    assert!(error.contains("HTTP 403") && !error.contains("wrong-key-77aa31"), "{error}");
}

#[test]
fn missing_key_and_bad_files_are_clear_errors() {
    let tmp = tempdir();
    let queries = write_file(tmp.path(), "q.txt", b"who wrote it?\n");
    let out = webtape()
        .args(["record", "--provider", "brave", "--queries", s(&queries), "--snapshot", s(&tmp.path().join("x"))])
        .env_remove("BRAVE_API_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("BRAVE_API_KEY is not set"), "{}", stderr(&out));
    let out = run(&["record", "--provider", "serper", "--queries", "/nonexistent/q.jsonl", "--snapshot", "x"]);
    assert!(stderr(&out).contains("/nonexistent/q.jsonl"), "{}", stderr(&out));
}

#[test]
fn reads_parquet_question_files() {
    let tmp = tempdir();
    let path = tmp.path().join("train.parquet");
    python("make_parquet.py", &[s(&path)]);
    let qs = webtape::data::read_questions(&path).unwrap();
    assert_eq!(qs.len(), 2);
    assert_eq!(qs[0].question, "Who founded the Hanseatic city of Lübeck?");
    assert_eq!(qs[0].answers, vec!["Henry the Lion".to_string()]);
    assert_eq!(qs[1].question, "What is the capital of Australia?");
    assert_eq!(qs[1].answers, vec!["Canberra".to_string()]);
    assert_eq!(qs[1].data_source.as_deref(), Some("nq"));
}

/// `--resolve HOST=IP:PORT`: a sim web whose results link to a host name with no DNS entry is recorded from its
/// loopback port, under the host name; the guard still checks the given address.
#[test]
fn resolve_fetches_a_named_host_from_the_given_address() {
    let sim = SimProc::start(&["--api-key", KEY, "--link-base", "http://wiki.sim"]);
    let tmp = tempdir();
    let queries = sim_questions(tmp.path(), 3);
    let resolve = format!("wiki.sim={}", sim.addr());
    let (snap, refused) = (tmp.path().join("snap"), tmp.path().join("refused"));
    let summary = record(&sim, "serper", KEY, &queries, &snap, &["--pages-per-query", "2", "--resolve", &resolve]);
    assert_eq!(summary["recorded"], 3, "{summary}");
    assert_eq!(summary["page_failures"], serde_json::json!({}), "{summary}");
    let snapshot = Snapshot::open(&snap).unwrap();
    let q = &webtape::data::read_questions(&queries).unwrap()[0];
    let capture = &snapshot.search_captures(&SearchRequest::new(&q.question)).unwrap()[0];
    let url = &capture.results[0].url;
    assert!(url.starts_with("http://wiki.sim/"), "{url}");
    let page = snapshot.get_page(url, None).unwrap().expect("page recorded under its host name");
    assert_eq!(page.capture.status, Some(200));
    drop(snapshot);
    // Without --allow-private the loopback address given for the name is refused like any other.
    let mut cmd = webtape();
    cmd.args(["record", "--provider", "serper", "--endpoint", &sim.url, "--queries", s(&queries)])
        .args(["--snapshot", s(&refused), "--json", "--rate", "none", "--resolve", &resolve, "--retries", "0"])
        .env("SERPER_API_KEY", KEY);
    let out = cmd.output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(summary["page_failures"]["blocked"], summary["pages"], "{summary} {}", stderr(&out));
    let snapshot = Snapshot::open(&refused).unwrap();
    let page = snapshot.get_page(url, None).unwrap().expect("the refusal is recorded");
    let error = page.capture.fetch_error.unwrap_or_default();
    assert!(error.contains("wiki.sim is set to 127.0.0.1 (a loopback address)"), "{error}");
    let out =
        run(&["record", "--provider", "serper", "--queries", s(&queries), "--snapshot", "x", "--resolve", "wiki.sim"]);
    assert!(stderr(&out).contains("expected HOST=IP:PORT"), "{}", stderr(&out));
}
