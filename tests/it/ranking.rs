//! BM25 ranking versions end to end. `tests/fixtures/ranking-v1/` holds a snapshot made by webtape before ranking
//! v2 (a 24-page JSONL corpus from the sim web, imported) and the answers that webtape gave to `queries.txt` over
//! HTTP; `tests/fixtures/ranking-v2/` the same corpus imported by webtape before ranking v3 (commit 0662479) and
//! its answers. An old snapshot keeps answering byte for byte as it did, through serve and `snapshot repair`,
//! until `snapshot reindex` moves it to v3; a new snapshot ranks by v3 from the start.
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ranking-v1")
}

fn fixture_v2() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ranking-v2")
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

fn queries() -> Vec<String> {
    std::fs::read_to_string(fixture().join("queries.txt")).unwrap().lines().map(str::to_string).collect()
}

/// What `snap` answers to the fixture's queries: one /retrieve with all of them (top 3, scores) and /search for
/// the first three, as the fixture's `answers-v1.json` holds them.
fn answers(snap: &Path) -> Value {
    let server = ServeProc::start(&["--snapshot", s(snap), "--miss", "bm25", "--bind", "127.0.0.1"], &[]);
    let q = queries();
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
    assert!(out.contains("24 pages, ranking v1 -> v3") && out.contains("now follow ranking v3"), "{out}");
    assert_eq!(info(&snap, "/ranking"), "v3");
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
    let upgraded = answers(&snap);
    assert_eq!(first_ids(&upgraded), PEOPLE, "v2 and v3 rank the page the question describes first");

    // A snapshot made now from the same pages ranks by v3 from the start, with the same answers.
    let fresh = tmp.path().join("new");
    let corpus = fixture().join("corpus.jsonl");
    ok(&["snapshot", "import-jsonl", s(&fresh), s(&corpus), "--url-base", "https://corpus.invalid/sim/"]);
    assert_eq!(info(&fresh, "/ranking"), "v3");
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
    assert!(out.contains("24 pages, ranking v2 -> v3"), "{out}");
    assert_eq!(info(&snap, "/ranking"), "v3");
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
    assert_eq!(first_ids(&answers(&snap)), PEOPLE, "v3 keeps v2's scores");
}
