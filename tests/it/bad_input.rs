//! Bad input gets a clear error or a counted skip - never a panic, never a lost good record.
use std::io::Write;

use crate::common::*;

fn gz_members(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(r).unwrap();
        out.extend(enc.finish().unwrap());
    }
    out
}

fn three_pages() -> Vec<Vec<u8>> {
    (0..3)
        .map(|i| {
            response_record(
                &format!("https://good.example/{i}"),
                "2024-01-01T00:00:00Z",
                &page(&format!("Good {i}"), "kept"),
            )
        })
        .collect()
}

#[test]
fn truncated_gzip_keeps_earlier_records() {
    let tmp = tempdir();
    let mut bytes = gz_members(&three_pages());
    bytes.truncate(bytes.len() - 40);
    let snap = tmp.path().join("s");
    let out = ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "t.warc.gz", &bytes))]);
    assert!(out.starts_with("2 imported, 1 skipped (1 damaged gzip member)"), "{out}");
}

#[test]
fn damaged_gzip_member_in_the_middle_is_skipped() {
    let tmp = tempdir();
    let members: Vec<Vec<u8>> = three_pages().iter().map(|r| gz_members(std::slice::from_ref(r))).collect();
    let mut middle = members[1].clone();
    let n = middle.len();
    for b in &mut middle[12..n - 10] {
        *b ^= 0x5a;
    }
    let bytes = [members[0].clone(), middle, members[2].clone()].concat();
    let snap = tmp.path().join("s");
    let out = ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "m.warc.gz", &bytes))]);
    assert!(out.starts_with("2 imported, 1 skipped"), "{out}");
    assert!(ok(&["snapshot", "get", s(&snap), "https://good.example/2"]).contains("Good 2"));
}

#[test]
fn bad_warc_headers_are_skipped_and_counted() {
    let tmp = tempdir();
    let pages = three_pages();
    let bytes = [
        pages[0].clone(),
        b"WARC/1.1\r\nthis is not a header line\r\n\r\n".to_vec(),
        b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 99999\r\n\r\nshort".to_vec(),
        b"\r\n\r\n".to_vec(),
        pages[1].clone(),
        b"random garbage between records\r\n".to_vec(),
        pages[2].clone(),
        b"WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: https://x.example/\r\nWARC-Date: not-a-date\r\nContent-Length: 2\r\n\r\nab\r\n\r\n".to_vec(),
    ]
    .concat();
    let snap = tmp.path().join("s");
    let out = ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "b.warc", &bytes))]);
    assert!(out.starts_with("3 imported, "), "{out}");
    assert!(out.contains("bad WARC-Date"), "{out}");
    for i in 0..3 {
        assert!(ok(&["snapshot", "get", s(&snap), &format!("https://good.example/{i}")]).contains("kept"));
    }
}

#[test]
fn non_utf8_html_is_decoded() {
    let tmp = tempdir();
    // windows-1252 bytes declared in a meta tag, and invalid UTF-8 with no declaration at all.
    let declared = b"<html><head><meta charset=\"windows-1252\"><title>Na\xefve</title></head><body><p>smart \x93quotes\x94</p></body></html>";
    let undeclared = b"<html><head><title>Bytes</title></head><body><p>caf\xe9 \xff\xfe</p></body></html>";
    // Content-Type without a charset, so the meta tag / sniffing decides.
    let raw = [
        typed_response_record("https://enc.example/declared", "2024-01-01T00:00:00Z", "text/html", declared),
        typed_response_record("https://enc.example/undeclared", "2024-01-01T00:00:00Z", "text/html", undeclared),
    ]
    .concat();
    let snap = tmp.path().join("s");
    ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "e.warc", &raw))]);
    let text = ok(&["snapshot", "get", s(&snap), "https://enc.example/declared"]);
    assert!(text.contains("Naïve") && text.contains("smart \u{201c}quotes\u{201d}"), "{text}");
    assert!(ok(&["snapshot", "get", s(&snap), "https://enc.example/undeclared"]).contains("caf"));
}

#[test]
fn fifty_megabyte_page_imports() {
    let tmp = tempdir();
    let mut body = b"<html><head><title>Huge</title></head><body>".to_vec();
    let para = b"<p>lots and lots of words in a very large page</p>\n";
    while body.len() < 50 << 20 {
        body.extend_from_slice(para);
    }
    body.extend_from_slice(b"</body></html>");
    let records =
        [response_record("https://big.example/", "2024-01-01T00:00:00Z", &body), three_pages()[0].clone()].concat();
    let snap = tmp.path().join("s");
    let out = ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "big.warc", &records))]);
    assert!(out.starts_with("2 imported, 0 skipped"), "{out}");
    let raw = webtape().args(["snapshot", "get", s(&snap), "https://big.example/", "--raw"]).output().unwrap();
    assert_eq!(raw.stdout.len(), body.len(), "the body is stored whole");
    assert!(ok(&["snapshot", "search", s(&snap), "lots of words"]).contains("Huge"));
}

#[test]
fn empty_and_missing_files_are_clear_errors() {
    let tmp = tempdir();
    let snap = tmp.path().join("s");
    let empty = write_file(tmp.path(), "empty.warc", b"");
    let good = write_file(tmp.path(), "good.warc", &three_pages().concat());
    let out = run(&["snapshot", "import-warc", s(&snap), s(&empty), s(&good), s(&tmp.path().join("missing.warc"))]);
    assert!(!out.status.success(), "a file that could not be read makes the exit status non-zero");
    let text = stdout(&out);
    assert!(text.starts_with("3 imported"), "the good file is still imported: {text}");
    assert!(text.contains("empty.warc: the file is empty"), "{text}");
    assert!(text.contains("missing.warc"), "{text}");
    let jsonl = run(&["snapshot", "import-jsonl", s(&snap), s(&write_file(tmp.path(), "e.jsonl", b""))]);
    assert!(!jsonl.status.success() && stdout(&jsonl).contains("the file is empty"));
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}

#[test]
fn not_a_warc_at_all() {
    let tmp = tempdir();
    let snap = tmp.path().join("s");
    let out =
        ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "x.warc", b"<html>just a page</html>\n"))]);
    assert!(out.starts_with("0 imported, 1 skipped (1 N bytes that are not a WARC record)"), "{out}");
}
