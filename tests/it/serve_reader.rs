//! `GET /r/{url}` answers like Jina Reader from the snapshot: plain text by default, JSON on request, the target's
//! query string kept, a page the snapshot lacks a JSON 404.
use std::io::{Read, Write};

use serde_json::Value;

use crate::common::*;
use crate::serve::recorded;

/// GET with an `Accept` header; `(status, head, body)`.
fn get_accept(url: &str, accept: &str) -> (u16, String, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    assert!(host.starts_with("127.0.0.1:"));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

#[test]
fn jina_reader_route_serves_recorded_pages() {
    let tmp = tempdir();
    let (snap, questions) = recorded(tmp.path(), 2);
    let srv = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    let (_, body) = post(&format!("{}/search", srv.url), &serde_json::json!({"q": questions[0].question}).to_string());
    let hit: Value = serde_json::from_slice(&body).unwrap();
    let page = hit["organic"][0]["link"].as_str().unwrap().to_string();
    let title = hit["organic"][0]["title"].as_str().unwrap().to_string();

    let (status, head, body) = get_accept(&format!("{}/r/{page}", srv.url), "*/*");
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(head.contains("content-type: text/plain") && head.contains("x-webtape-source: exact"), "{head}");
    assert!(text.starts_with(&format!("Title: {title}")), "{text}");
    assert!(text.contains(&format!("\n\nURL Source: {page}\n\nMarkdown Content:\n")), "{text}");
    let content = text.split_once("Markdown Content:\n").unwrap().1.trim_end().to_string();
    assert!(content.len() > 100, "the whole page: {content}");

    let (status, _, body) = get_accept(&format!("{}/r/{page}", srv.url), "application/json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, v["code"].as_u64(), v["data"]["url"].as_str()), (200, Some(200), Some(page.as_str())));
    assert_eq!(v["data"]["content"].as_str().unwrap().trim_end(), content, "JSON and text carry the same page");

    let encoded: String = url::form_urlencoded::byte_serialize(page.as_bytes()).collect();
    let (status, _, again) = get_accept(&format!("{}/r/{encoded}", srv.url), "*/*");
    assert_eq!((status, String::from_utf8(again).unwrap()), (200, text), "a percent-encoded target reads the same");

    let (status, _, body) = get_accept(&format!("{}/r/https://never.example/a?b=1", srv.url), "*/*");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 404, "{v}");
    assert!(v["error"].as_str().unwrap().contains("not in snapshot"), "{v}");
    let (status, _, _) = get_accept(&format!("{}/r/file:///etc/passwd", srv.url), "*/*");
    assert_eq!(status, 400);
}
