//! A WARC written by warcio (capturing a real loopback HTTP server) imports, exports, is accepted by warcio,
//! and re-imports to the same captures and content digest.
use std::collections::BTreeMap;

use crate::common::*;

fn roundtrip(plain: bool) {
    let tmp = tempdir();
    let input = tmp.path().join(if plain { "in.warc" } else { "in.warc.gz" });
    let mut args = vec![s(&input)];
    if plain {
        args.push("--plain");
    }
    let meta: serde_json::Value = serde_json::from_str(python("make_warc.py", &args).trim()).unwrap();
    let base = meta["base"].as_str().unwrap().to_string();

    let a = tmp.path().join("a");
    let report = ok(&["snapshot", "import-warc", s(&a), s(&input)]);
    // 11 page captures: 9 responses (one a 301, one a 404), 1 revisit, 1 resource; request records are passed over.
    assert!(report.starts_with("11 imported, 0 skipped"), "{report}");
    assert!(report.contains("9 request"), "{report}");
    assert_eq!(info(&a, "/manifest/counts/page_captures"), 11);

    // Decoded bodies and texts: charset, gzip, chunked, revisit, resource.
    let latin = ok(&["snapshot", "get", s(&a), &format!("{base}/latin1")]);
    assert!(latin.contains("Crème brûlée") && latin.contains("# Café page"), "{latin}");
    assert!(ok(&["snapshot", "get", s(&a), &format!("{base}/gz")]).contains("compressed words"));
    assert!(ok(&["snapshot", "get", s(&a), &format!("{base}/chunked")]).contains("sent in chunks"));
    let home = webtape().args(["snapshot", "get", s(&a), &format!("{base}/"), "--raw"]).output().unwrap().stdout;
    let revisit =
        webtape().args(["snapshot", "get", s(&a), &format!("{base}/?again=1"), "--raw"]).output().unwrap().stdout;
    assert!(home.starts_with(b"<html>") && home == revisit, "revisit resolves to the original payload");
    assert!(ok(&["snapshot", "get", s(&a), &format!("{base}/resource.txt")]).contains("a resource record"));
    let table = ok(&["snapshot", "get", s(&a), &format!("{base}/table")]);
    assert!(table.contains("alpha | beta") && !table.contains("tracking"), "{table}");

    // Search finds the page by its words, with a snippet.
    let hits = ok(&["snapshot", "search", s(&a), "borrow checker", "-k", "3"]);
    assert!(hits.contains("Loopback home") && hits.contains("**borrow**"), "{hits}");

    // Export; warcio reads it back with digest checking on; every page is there with the same payload.
    let out = tmp.path().join("out.warc.gz");
    ok(&["snapshot", "export-warc", s(&a), s(&out)]);
    let cdxj = std::fs::read_to_string(tmp.path().join("out.cdxj")).unwrap();
    assert_eq!(cdxj.lines().count(), 11, "{cdxj}");
    let ours = records_by_uri(&python("read_warc.py", &[s(&out)]));
    let theirs = records_by_uri(&python("read_warc.py", &[s(&input)]));
    for (uri, (status, sha1)) in &theirs {
        if uri.ends_with("/?again=1") {
            continue; // a revisit in the input, a full response in ours
        }
        assert_eq!(ours.get(uri), Some(&(status.clone(), sha1.clone())), "{uri}");
    }
    assert_eq!(ours.len(), 11);

    // Re-import: same captures, same digest; verify passes on both.
    let b = tmp.path().join("b");
    let report = ok(&["snapshot", "import-warc", s(&b), s(&out)]);
    assert!(report.starts_with("11 imported, 0 skipped"), "{report}");
    assert_eq!(info(&a, "/manifest/content_digest"), info(&b, "/manifest/content_digest"));
    assert!(ok(&["snapshot", "verify", s(&a)]).contains(": ok"));
    assert!(ok(&["snapshot", "verify", s(&b)]).contains(": ok"));

    // Exporting twice gives identical bytes (same file name: it is written into the warcinfo record and CDXJ).
    std::fs::create_dir(tmp.path().join("again")).unwrap();
    let again = tmp.path().join("again/out.warc.gz");
    ok(&["snapshot", "export-warc", s(&a), s(&again)]);
    let digest = |p: &std::path::Path| blake3::hash(&std::fs::read(p).unwrap()).to_hex().to_string();
    assert_eq!(digest(&out), digest(&again));
    assert_eq!(digest(&tmp.path().join("out.cdxj")), digest(&tmp.path().join("again/out.cdxj")));
}

/// uri → (status, payload sha1) of response/resource/revisit records.
fn records_by_uri(lines: &str) -> BTreeMap<String, (serde_json::Value, String)> {
    lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| matches!(v["type"].as_str(), Some("response" | "resource" | "revisit")))
        .map(|v| {
            (
                v["uri"].as_str().unwrap().to_string(),
                (v["status"].clone(), v["payload_sha1"].as_str().unwrap().to_string()),
            )
        })
        .collect()
}

#[test]
fn warcio_gzip_roundtrip() {
    roundtrip(false);
}

#[test]
fn warcio_plain_roundtrip() {
    roundtrip(true);
}

#[test]
fn merge_stores_shared_captures_once() {
    let tmp = tempdir();
    let one = [
        response_record("https://a.example/1", "2024-01-01T00:00:00Z", &page("One", "first shard")),
        response_record("https://a.example/shared", "2024-01-01T00:00:00Z", &page("Shared", "in both")),
    ]
    .concat();
    let two = [
        response_record("https://a.example/2", "2024-01-02T00:00:00Z", &page("Two", "second shard")),
        response_record("https://a.example/shared", "2024-01-01T00:00:00Z", &page("Shared", "in both")),
    ]
    .concat();
    let (a, b, ab, ba) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("ab"), tmp.path().join("ba"));
    ok(&["snapshot", "import-warc", s(&a), s(&write_file(tmp.path(), "1.warc", &one))]);
    ok(&["snapshot", "import-warc", s(&b), s(&write_file(tmp.path(), "2.warc", &two))]);
    let out = ok(&["snapshot", "merge", s(&a), s(&b), "--into", s(&ab)]);
    assert!(out.contains("3 page captures") && out.contains("1 duplicates"), "{out}");
    ok(&["snapshot", "merge", s(&b), s(&a), "--into", s(&ba)]);
    assert_eq!(
        info(&ab, "/manifest/content_digest"),
        info(&ba, "/manifest/content_digest"),
        "merge order does not matter"
    );
    assert_eq!(info(&ab, "/indexed_pages"), 3);
    assert!(ok(&["snapshot", "search", s(&ab), "second shard"]).contains("https://a.example/2"));
    assert!(ok(&["snapshot", "verify", s(&ab)]).contains(": ok"));
}
