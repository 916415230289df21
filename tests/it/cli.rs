//! The snapshot commands a user runs by hand: create, import a corpus, info, search, get, --help, and the
//! errors for unknown or too-new snapshots.
use crate::common::*;

#[test]
fn jsonl_corpus_import_search_and_get() {
    let tmp = tempdir();
    let corpus = concat!(
        "{\"id\": \"0\", \"contents\": \"\\\"Aaron Burr\\\"\\nAaron Burr was the third vice president.\"}\n",
        "{\"id\": 1, \"contents\": \"\\\"Rust (language)\\\"\\nRust has a borrow checker that checks references.\"}\n",
        "\n",
        "{\"id\": \"2\", \"contents\": \"\\\"Ferris\\\"\\nFerris is the unofficial mascot of Rust.\"}\n",
        "this line is not json\n",
        "{\"id\": \"3\"}\n",
    );
    let file = write_file(tmp.path(), "wiki.jsonl", corpus.as_bytes());
    let snap = tmp.path().join("wiki");
    let out = ok(&["snapshot", "import-jsonl", s(&snap), s(&file)]);
    assert!(out.starts_with("3 imported, 2 skipped"), "{out}");
    assert!(out.contains("bad JSON") && out.contains("no \"contents\" string"), "{out}");

    let hits = ok(&["snapshot", "search", s(&snap), "borrow checker", "-k", "2", "--json"]);
    let first: serde_json::Value = serde_json::from_str(hits.lines().next().unwrap()).unwrap();
    assert_eq!(first["title"], "Rust (language)");
    assert_eq!(first["url"], "https://corpus.invalid/wiki/1");
    // The body is the corpus `contents`, byte for byte.
    let raw = webtape().args(["snapshot", "get", s(&snap), "https://corpus.invalid/wiki/1", "--raw"]).output().unwrap();
    assert_eq!(raw.stdout, b"\"Rust (language)\"\nRust has a borrow checker that checks references.");
    assert_eq!(info(&snap, "/manifest/counts/urls"), 3);
    assert!(ok(&["snapshot", "info", s(&snap)]).contains("jsonl"));
}

#[test]
fn search_ranking_is_deterministic_with_ties() {
    let tmp = tempdir();
    // Ten pages whose text differs only in a word the query does not have: equal scores, so the order must come
    // from the page key alone (pages with identical text would be one result: near-duplicates are collapsed).
    const OTHER: [&str; 10] =
        ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];
    let records: Vec<u8> = (0..10)
        .map(|i| {
            response_record(
                &format!("https://tie.example/p{}", 9 - i),
                "2024-05-01T00:00:00Z",
                &page("Same", &format!("identical words here {}", OTHER[i])),
            )
        })
        .collect::<Vec<_>>()
        .concat();
    let snap = tmp.path().join("ties");
    ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "t.warc", &records))]);
    let first = ok(&["snapshot", "search", s(&snap), "identical words", "-k", "4", "--json"]);
    let urls: Vec<String> = first
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        urls,
        ["https://tie.example/p0", "https://tie.example/p1", "https://tie.example/p2", "https://tie.example/p3"]
    );
    assert_eq!(first, ok(&["snapshot", "search", s(&snap), "identical words", "-k", "4", "--json"]));
}

#[test]
fn get_picks_capture_by_time() {
    let tmp = tempdir();
    let records = [
        response_record("https://news.example/", "2024-01-01T00:00:00Z", &page("Old", "january news")),
        response_record("https://news.example/", "2024-06-01T00:00:00Z", &page("New", "june news")),
    ]
    .concat();
    let snap = tmp.path().join("news");
    ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "n.warc", &records))]);
    // Replay's one time rule: the first capture, or the closest to --at in real seconds.
    assert!(ok(&["snapshot", "get", s(&snap), "https://www.news.example/#top"]).contains("january news"));
    assert!(
        ok(&["snapshot", "get", s(&snap), "https://news.example/", "--at", "20240115000000"]).contains("january news")
    );
    let june = ok(&["snapshot", "get", s(&snap), "https://news.example/", "--at", "2024-05-20T00:00:00Z"]);
    assert!(june.contains("june news"), "{june}");
    let bad = run(&["snapshot", "get", s(&snap), "https://news.example/", "--at", "last week"]);
    assert!(!bad.status.success() && stderr(&bad).contains("--at \"last week\""), "{}", stderr(&bad));
    // The index holds the latest capture only.
    assert!(ok(&["snapshot", "search", s(&snap), "news"]).contains("New"));
    let missing = run(&["snapshot", "get", s(&snap), "https://news.example/other"]);
    assert!(!missing.status.success() && stderr(&missing).contains("not in snapshot"));
}

#[test]
fn unknown_and_newer_snapshots_are_clear_errors() {
    let tmp = tempdir();
    let out = run(&["snapshot", "info", s(&tmp.path().join("nope"))]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no snapshot at"), "{}", stderr(&out));

    let snap = tmp.path().join("future");
    ok(&["snapshot", "create", s(&snap)]);
    let again = run(&["snapshot", "create", s(&snap)]);
    assert!(!again.status.success() && stderr(&again).contains("already exists"));
    let manifest = snap.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("\"format_version\": 1", "\"format_version\": 99");
    std::fs::write(&manifest, text).unwrap();
    for args in [vec!["snapshot", "info", s(&snap)], vec!["snapshot", "search", s(&snap), "x"]] {
        let out = run(&args);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("format version 99 is not supported"), "{}", stderr(&out));
    }
}

#[test]
fn every_command_has_help() {
    for cmd in
        ["create", "import-warc", "import-jsonl", "info", "verify", "search", "get", "export-warc", "merge", "repair"]
    {
        let out = ok(&["snapshot", cmd, "--help"]);
        assert!(out.contains("Usage: webtape snapshot"), "{cmd}: {out}");
    }
}

#[test]
fn doctor_reports_the_build() {
    let out = ok(&["doctor"]);
    if cfg!(feature = "train") {
        assert!(out.contains("libtorch: loaded") && out.contains("trace = 29"), "{out}");
    } else {
        assert!(out.contains("not built in"), "{out}");
    }
}
