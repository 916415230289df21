//! BM25 ranking versions end to end. `tests/fixtures/ranking-v1/` holds a snapshot made by webtape before ranking
//! v2 (a 24-page JSONL corpus from the sim web, imported) and the answers that webtape gave to `queries.txt` over
//! HTTP; `tests/fixtures/ranking-v2/` the same corpus imported by webtape before ranking v3 (commit 0662479) and
//! its answers; `tests/fixtures/ranking-v3/` HTML pages (`pages.warc`, written by its `pages.py`: English prose,
//! its Spanish and Japanese translations, a source listing, an error-code page) imported by webtape before ranking
//! v4 (commit 69f6193) and its answers to its own `queries.txt`. An old snapshot keeps answering byte for byte as
//! it did, through serve and `snapshot repair`, until `snapshot reindex` moves it to v4; a new snapshot ranks by
//! v4 from the start.
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ranking-v1")
}

fn fixture_v2() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ranking-v2")
}

fn fixture_v3() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ranking-v3")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn queries(fixture: &Path) -> Vec<String> {
    std::fs::read_to_string(fixture.join("queries.txt")).unwrap().lines().map(str::to_string).collect()
}

/// What `snap` answers to the v1 fixture's queries (which the v2 fixture shares).
fn answers(snap: &Path) -> Value {
    answers_to(snap, &queries(&fixture()))
}

/// What `snap` answers to `q`: one /retrieve with all of them (top 3, scores) and /search for the first three,
/// as the fixtures' `answers-v*.json` hold them.
fn answers_to(snap: &Path, q: &[String]) -> Value {
    let server = ServeProc::start(&["--snapshot", s(snap), "--miss", "bm25", "--bind", "127.0.0.1"], &[]);
    let body = json!({"queries": q, "topk": 3, "return_scores": true}).to_string();
    let (status, retrieve) = post(&format!("{}/retrieve", server.url), &body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&retrieve));
    let search: Vec<Value> = q[..3]
        .iter()
        .map(|q| {
            let (status, body) = post(&format!("{}/search", server.url), &json!({"q": q}).to_string());
            assert_eq!(status, 200);
            Value::String(String::from_utf8(body).unwrap())
        })
        .collect();
    json!({"retrieve": String::from_utf8(retrieve).unwrap(), "search": search})
}

/// The first page /retrieve gives for each of the four "reverse" questions (they describe a person and name
/// the organisation they worked for, whose own page v1 ranks first).
fn first_ids(answers: &Value) -> Vec<String> {
    let retrieve: Value = serde_json::from_str(answers["retrieve"].as_str().unwrap()).unwrap();
    retrieve["result"].as_array().unwrap()[..4]
        .iter()
        .map(|docs| docs[0]["document"]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect()
}

const PEOPLE: [&str; 4] = ["d00691", "d01160", "d00222", "d00932"];

#[test]
fn an_old_snapshot_answers_as_recorded_until_reindexed() {
    let tmp = tempdir();
    let snap = tmp.path().join("old");
    copy_dir(&fixture().join("snapshot"), &snap);
    let recorded: Value = serde_json::from_slice(&std::fs::read(fixture().join("answers-v1.json")).unwrap()).unwrap();
    assert_ne!(first_ids(&recorded), PEOPLE, "v1 put the organisations first");

    assert_eq!(answers(&snap), recorded, "an old snapshot answers byte for byte as it did");
    assert_eq!(info(&snap, "/ranking"), "v1");
    let shown = ok(&["snapshot", "info", s(&snap)]);
    assert!(shown.contains("ranking       v1") && shown.contains("snapshot reindex"), "{shown}");

    // Repair rebuilds the index in its own ranking: replays stay as recorded.
    let repaired = ok(&["snapshot", "repair", s(&snap)]);
    assert!(repaired.contains("ranks by v1") && repaired.contains("snapshot reindex"), "{repaired}");
    assert_eq!(answers(&snap), recorded, "repair keeps ranking v1");

    let out = ok(&["snapshot", "reindex", s(&snap)]);
    assert!(out.contains("24 pages, ranking v1 -> v4") && out.contains("now follow ranking v4"), "{out}");
    assert_eq!(info(&snap, "/ranking"), "v4");
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
    let upgraded = answers(&snap);
    assert_eq!(first_ids(&upgraded), PEOPLE, "v2 on rank the page the question describes first");

    // A snapshot made now from the same pages ranks by v4 from the start, with the same answers.
    let fresh = tmp.path().join("new");
    let corpus = fixture().join("corpus.jsonl");
    ok(&["snapshot", "import-jsonl", s(&fresh), s(&corpus), "--url-base", "https://corpus.invalid/sim/"]);
    assert_eq!(info(&fresh, "/ranking"), "v4");
    assert_eq!(answers(&fresh), upgraded);
}

#[test]
fn a_v2_snapshot_answers_as_recorded_until_reindexed() {
    let tmp = tempdir();
    let snap = tmp.path().join("v2");
    copy_dir(&fixture_v2().join("snapshot"), &snap);
    let recorded: Value =
        serde_json::from_slice(&std::fs::read(fixture_v2().join("answers-v2.json")).unwrap()).unwrap();
    assert_eq!(answers(&snap), recorded, "a v2 snapshot answers byte for byte as it did");
    assert_eq!(info(&snap, "/ranking"), "v2");
    let repaired = ok(&["snapshot", "repair", s(&snap)]);
    assert!(repaired.contains("ranks by v2") && repaired.contains("snapshot reindex"), "{repaired}");
    assert_eq!(answers(&snap), recorded, "repair keeps ranking v2");

    let out = ok(&["snapshot", "reindex", s(&snap)]);
    assert!(out.contains("24 pages, ranking v2 -> v4"), "{out}");
    assert_eq!(info(&snap, "/ranking"), "v4");
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
    assert_eq!(first_ids(&answers(&snap)), PEOPLE, "v4 keeps v2's scores for these pages");
}

/// The first URL /retrieve gives for each query.
fn first_urls(answers: &Value) -> Vec<String> {
    let retrieve: Value = serde_json::from_str(answers["retrieve"].as_str().unwrap()).unwrap();
    let first = |docs: &Value| docs[0]["document"]["id"].as_str().unwrap_or("-").replace("https://docs.invalid/", "");
    retrieve["result"].as_array().unwrap().iter().map(first).collect()
}

#[test]
fn a_v3_snapshot_answers_as_recorded_until_reindexed_and_v4_weighs_what_pages_are() {
    let tmp = tempdir();
    let snap = tmp.path().join("v3");
    copy_dir(&fixture_v3().join("snapshot"), &snap);
    let q = queries(&fixture_v3());
    let recorded: Value =
        serde_json::from_slice(&std::fs::read(fixture_v3().join("answers-v3.json")).unwrap()).unwrap();
    assert_eq!(answers_to(&snap, &q), recorded, "a v3 snapshot answers byte for byte as it did");
    assert_eq!(info(&snap, "/ranking"), "v3");
    let repaired = ok(&["snapshot", "repair", s(&snap)]);
    assert!(repaired.contains("ranks by v3") && repaired.contains("snapshot reindex"), "{repaired}");
    assert_eq!(answers_to(&snap, &q), recorded, "repair keeps ranking v3");
    let v3 = first_urls(&recorded);
    assert_eq!(
        v3[..3],
        ["src/borrowck.rs.html", "bindings.html", "es/book/lifetimes.html"],
        "v3: the listing, common words"
    );

    // The fixture's text records predate declared languages: reindex reads them from the stored bodies.
    let out = ok(&["snapshot", "reindex", s(&snap)]);
    assert!(out.contains("17 pages, ranking v3 -> v4"), "{out}");
    assert_eq!(info(&snap, "/ranking"), "v4");
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
    let upgraded = answers_to(&snap, &q);
    let v4 = first_urls(&upgraded);
    assert_eq!(v4[0], "book/lifetimes.html", "English prose before its listing and translations");
    assert_eq!(v4[1], "error_codes/E0597.html", "the page titled by the query's identifier");
    assert_eq!(v4[2], "es/book/lifetimes.html", "a query with letters outside ASCII weighs no language down");

    // Imported now from the same pages: ranking v4 from the start, and the same answers as the reindexed one.
    let fresh = tmp.path().join("new");
    ok(&["snapshot", "import-warc", s(&fresh), s(&fixture_v3().join("pages.warc"))]);
    assert_eq!(info(&fresh, "/ranking"), "v4");
    assert_eq!(answers_to(&fresh, &q), upgraded);
}
