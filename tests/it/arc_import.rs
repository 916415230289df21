//! Legacy ARC v1 files import as pages with their HTTP status, the same URLs, statuses and bodies that warcio (the
//! reference reader) sees; records whose length is wrong but which are whole up to the next record are kept with
//! a warning, and so are bodies whose chunked encoding is broken (as warcio reads them).
use sha1::{Digest, Sha1};

use crate::common::*;

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

/// Every response record warcio reads from `file`: (uri, status, payload sha1).
fn warcio_responses(file: &std::path::Path) -> Vec<(String, String, String)> {
    python("read_warc.py", &[s(file)])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "response")
        .map(|v| {
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (field("uri"), field("status"), field("payload_sha1"))
        })
        .collect()
}

/// `snapshot get` of `url`: (status, raw body).
fn stored(snap: &std::path::Path, url: &str) -> (String, Vec<u8>) {
    let capture: serde_json::Value = serde_json::from_str(&ok(&["snapshot", "get", s(snap), url, "--json"])).unwrap();
    let status = capture.pointer("/capture/status").or(capture.get("status")).cloned().unwrap_or_default();
    let raw = webtape().args(["snapshot", "get", s(snap), url, "--raw"]).output().unwrap();
    assert!(raw.status.success(), "{url}: {}", stderr(&raw));
    (status.to_string(), raw.stdout)
}

fn arc_like_warcio(gz: bool) {
    let tmp = tempdir();
    let file = tmp.path().join(if gz { "old.arc.gz" } else { "old.arc" });
    let mut args = vec![s(&file)];
    if gz {
        args.push("--gz");
    }
    python("make_arc.py", &args);
    let snap = tmp.path().join("snap");
    let report = ok(&["snapshot", "import-warc", s(&snap), s(&file)]);
    assert!(report.starts_with("5 imported, 0 skipped"), "{report}");
    assert!(report.contains("1 warcinfo") && !report.contains("warning"), "{report}");
    let theirs = warcio_responses(&file);
    assert_eq!(theirs.len(), 5, "{theirs:?}");
    for (uri, status, sha1) in &theirs {
        let (our_status, body) = stored(&snap, uri);
        assert_eq!(&our_status, status, "{uri}");
        assert_eq!(&sha1_hex(&body), sha1, "{uri}: same payload as warcio");
    }
    assert!(ok(&["snapshot", "get", s(&snap), "http://arc.example/"]).contains("early web words"));
    assert!(ok(&["snapshot", "search", s(&snap), "early web"]).contains("http://arc.example/"));
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}

#[test]
fn plain_arc_imports_like_warcio() {
    arc_like_warcio(false);
}

#[test]
fn gzip_per_record_arc_imports_like_warcio() {
    arc_like_warcio(true);
}

#[test]
fn help_mentions_arc() {
    assert!(ok(&["snapshot", "import-warc", "--help"]).contains("ARC"));
}

/// An ARC record line and its HTTP block, with `declared` as the length (the real one when `None`).
fn arc_record(url: &str, body: &str, declared: Option<usize>) -> Vec<u8> {
    let block = format!("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n{body}");
    let len = declared.unwrap_or(block.len());
    format!("{url} 10.0.0.1 19970101000000 text/html {len}\n{block}\n").into_bytes()
}

#[test]
fn arc_record_with_a_wrong_length_is_kept_with_a_warning() {
    let tmp = tempdir();
    let version = "1 0 Alexa Internet\nURL IP-address Archive-date Content-type Archive-length\n";
    let mut bytes =
        format!("filedesc://x.arc 0.0.0.0 19970101000000 text/plain {}\n{version}\n", version.len()).into_bytes();
    bytes.extend(arc_record("http://a.example/short", "<p>length says less</p>", Some(30)));
    bytes.extend(arc_record("http://a.example/long", "<p>length says more</p>", Some(400)));
    bytes.extend(arc_record("http://a.example/fine", "<p>all good</p>", None));
    let snap = tmp.path().join("snap");
    let out = webtape()
        .args(["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "w.arc", &bytes))])
        .output()
        .unwrap();
    let report = stdout(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.starts_with("3 imported, 0 skipped, 2 kept with warnings (2 wrong length)"), "{report}");
    assert!(stderr(&out).contains("kept with a warning: "), "{}", stderr(&out));
    assert!(ok(&["snapshot", "get", s(&snap), "http://a.example/short"]).contains("length says less"));
    assert!(ok(&["snapshot", "get", s(&snap), "http://a.example/long"]).contains("length says more"));
    assert!(ok(&["snapshot", "get", s(&snap), "http://a.example/fine"]).contains("all good"));
}

/// `response_record` with its WARC Content-Length changed by `delta`.
fn misdeclared(url: &str, text: &str, delta: i64) -> Vec<u8> {
    let rec = String::from_utf8(response_record(url, "2024-01-01T00:00:00Z", &page("T", text))).unwrap();
    let at = rec.find("\r\nContent-Length: ").unwrap() + 18;
    let end = at + rec[at..].find("\r\n").unwrap();
    let n: i64 = rec[at..end].parse().unwrap();
    format!("{}{}{}", &rec[..at], n + delta, &rec[end..]).into_bytes()
}

#[test]
fn warc_record_with_a_wrong_content_length_is_kept_with_a_warning() {
    let tmp = tempdir();
    let good = |u: &str| response_record(u, "2024-01-01T00:00:00Z", &page("Good", "good record"));
    let plain = [
        good("https://w.example/0"),
        misdeclared("https://w.example/short", "declared too short", -20),
        good("https://w.example/1"),
        misdeclared("https://w.example/long", "declared too long", 300),
        good("https://w.example/2"),
        misdeclared("https://w.example/last", "last one declared short", -7),
    ]
    .concat();
    let gz: Vec<u8> = [misdeclared("https://g.example/long", "member declared long", 50), good("https://g.example/ok")]
        .iter()
        .flat_map(|r| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut e, r).unwrap();
            e.finish().unwrap()
        })
        .collect();
    let snap = tmp.path().join("snap");
    let report = ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "w.warc", &plain))]);
    assert!(report.starts_with("6 imported, 0 skipped, 3 kept with warnings (3 wrong length)"), "{report}");
    let report = ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "g.warc.gz", &gz))]);
    assert!(report.starts_with("2 imported, 0 skipped, 1 kept with warnings (1 wrong length)"), "{report}");
    for (url, words) in [
        ("https://w.example/short", "declared too short"),
        ("https://w.example/long", "declared too long"),
        ("https://w.example/last", "last one declared short"),
        ("https://g.example/long", "member declared long"),
        ("https://w.example/2", "good record"),
    ] {
        assert!(ok(&["snapshot", "get", s(&snap), url]).contains(words), "{url}");
    }
    // A plain file that ends inside a record is still a truncated record, skipped.
    let whole = good("https://t.example/cut");
    let cut = &whole[..whole.len() - 40];
    let out = ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "t.warc", cut))]);
    assert!(out.starts_with("0 imported, 1 skipped (1 truncated record)"), "{out}");
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}

#[test]
fn broken_chunked_body_keeps_the_rest_as_sent_like_warcio() {
    let tmp = tempdir();
    let mut records = Vec::new();
    for (path, chunked) in [("bad-size", "5\r\nhello\r\nzz\r\n world\r\n0\r\n\r\n"), ("cut", "40\r\nshort chunk")] {
        let http =
            format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}");
        let url = format!("https://c.example/{path}");
        let rec = String::from_utf8(response_record(&url, "2024-01-01T00:00:00Z", b"")).unwrap();
        let head = &rec[..rec.find("\r\n\r\n").unwrap()];
        let head =
            head.replace(&head[head.find("Content-Length").unwrap()..], &format!("Content-Length: {}", http.len()));
        records.extend(format!("{head}\r\n\r\n{http}\r\n\r\n").into_bytes());
    }
    let file = write_file(tmp.path(), "c.warc", &records);
    let snap = tmp.path().join("snap");
    let report = ok(&["snapshot", "import-warc", s(&snap), s(&file)]);
    assert!(report.starts_with("2 imported, 0 skipped, 2 kept with warnings (2 broken chunked encoding)"), "{report}");
    let theirs = warcio_responses(&file);
    assert_eq!(theirs.len(), 2);
    for (uri, _, sha1) in theirs {
        let (_, body) = stored(&snap, &uri);
        assert_eq!(sha1_hex(&body), sha1, "{uri}: {:?}", String::from_utf8_lossy(&body));
    }
}
