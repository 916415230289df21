//! Shared helpers: run the real `webtape` binary, run the Python reference scripts, write small WARC files.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `webtape` binary built for these tests.
pub fn webtape() -> Command {
    Command::new(env!("CARGO_BIN_EXE_webtape"))
}

/// Runs `webtape args...`, returning its output (whatever the exit status).
pub fn run(args: &[&str]) -> Output {
    webtape().args(args).output().expect("webtape binary runs")
}

/// Runs `webtape args...` and insists on success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "webtape {args:?} failed: {}\n{}", stderr(&out), stdout(&out));
    stdout(&out)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs one of the scripts in `tests/py` with `python3`; fails the test (never skips) when Python or warcio is
/// missing, pointing at `make test`, which installs them.
pub fn python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py").join(script);
    let out =
        Command::new("python3").arg(&path).args(args).output().expect("python3 is installed (make test installs it)");
    assert!(
        out.status.success(),
        "{script} {args:?} failed (run `make test`, which installs warcio and requests):\n{}",
        stderr(&out)
    );
    stdout(&out)
}

/// A fresh temporary folder.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `path` as &str.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// The manifest's value at a JSON pointer, via `snapshot info --json`.
pub fn info(dir: &Path, pointer: &str) -> serde_json::Value {
    let text = ok(&["snapshot", "info", s(dir), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text).expect("info --json is JSON");
    v.pointer(pointer).cloned().unwrap_or_else(|| panic!("no {pointer} in {text}"))
}

/// One uncompressed WARC/1.1 response record for `url` with an HTML `body`.
pub fn response_record(url: &str, date: &str, body: &[u8]) -> Vec<u8> {
    typed_response_record(url, date, "text/html; charset=utf-8", body)
}

/// One uncompressed WARC/1.1 response record whose HTTP Content-Type is `content_type`.
pub fn typed_response_record(url: &str, date: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut http = format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", body.len())
        .into_bytes();
    http.extend_from_slice(body);
    let mut rec = format!(
        "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{}>\r\nWARC-Date: {date}\r\nWARC-Target-URI: {url}\r\nContent-Type: application/http;msgtype=response\r\nContent-Length: {}\r\n\r\n",
        blake3::hash(url.as_bytes()).to_hex(),
        http.len()
    )
    .into_bytes();
    rec.extend_from_slice(&http);
    rec.extend_from_slice(b"\r\n\r\n");
    rec
}

/// A simple HTML page with a title and a paragraph.
pub fn page(title: &str, text: &str) -> Vec<u8> {
    format!("<html><head><title>{title}</title></head><body><main><p>{text}</p></main></body></html>").into_bytes()
}

/// Writes `records` to `dir/name`, returning the path.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}
