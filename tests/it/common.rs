//! Shared helpers: run the real `webtape` binary, run the Python reference scripts, write small WARC files.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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
        "{script} {args:?} failed (run `make test`, which installs warcio, requests, pyarrow, torch and transformers):\n{}",
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

/// A `webtape sim serve --port 0` child process; killed when dropped.
pub struct SimProc {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl SimProc {
    /// Starts the sim web with extra `args` and waits for its address line.
    pub fn start(args: &[&str]) -> SimProc {
        use std::io::BufRead;
        let mut child = webtape()
            .args(["sim", "serve", "--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sim serve starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).expect("address line");
        let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("sim prints its URL").to_string();
        SimProc { child, url }
    }

    /// `ip:port` of the server.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// Requests the sim has seen per path (`/__sim/stats`).
    pub fn requests(&self) -> serde_json::Map<String, serde_json::Value> {
        let (status, body) = http_get(&format!("{}/__sim/stats", self.url));
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("stats JSON");
        v["requests"].as_object().cloned().unwrap_or_default()
    }
}

impl Drop for SimProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET over a std TCP socket (loopback only): `(status, body)`.
pub fn http_get(url: &str) -> (u16, Vec<u8>) {
    http_get_with(url, "")
}

/// [`http_get`] with extra header lines (each ending in `\r\n`).
pub fn http_get_with(url: &str, headers: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    assert!(host.starts_with("127.0.0.1:"), "tests only talk to loopback: {url}");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n").expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "expected a sized body");
    (status, raw[split + 4..].to_vec())
}

/// The first `n` train questions of the default sim world, written as JSONL in `dir`.
pub fn sim_questions(dir: &Path, n: usize) -> PathBuf {
    let all = ok(&["sim", "questions", "--split", "train"]);
    let lines: Vec<&str> = all.lines().take(n).collect();
    assert_eq!(lines.len(), n, "the sim world has at least {n} train questions");
    write_file(dir, "questions.jsonl", (lines.join("\n") + "\n").as_bytes())
}

/// Runs `webtape record` against `sim` with `provider` and extra args, returning the JSON summary.
pub fn record(
    sim: &SimProc,
    provider: &str,
    key: &str,
    queries: &Path,
    snap: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let mut cmd = webtape();
    cmd.args([
        "record",
        "--provider",
        provider,
        "--endpoint",
        &sim.url,
        "--queries",
        s(queries),
        "--snapshot",
        s(snap),
    ])
    .args(["--rate", "none", "--host-rate", "none", "--host-concurrency", "0", "--json", "--allow-private"])
    .args(extra)
    .env_remove("SEARXNG_URL");
    for var in ["SERPER_API_KEY", "BRAVE_API_KEY", "TAVILY_API_KEY"] {
        cmd.env(var, key);
    }
    let out = cmd.output().expect("webtape record runs");
    assert!(out.status.success(), "record failed: {}\n{}", stderr(&out), stdout(&out));
    let text = stdout(&out);
    serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("summary JSON: {e}: {text}"))
}

/// A plain HTTP/1.1 request with a body over a std TCP socket (loopback only): `(status, headers, body)`.
/// A server that answers before reading the whole body (413) is fine: write errors are ignored.
pub fn http_request(method: &str, url: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    assert!(host.starts_with("127.0.0.1:"), "tests only talk to loopback: {url}");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body));
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, head, raw[split + 4..].to_vec())
}

/// POSTs JSON; `(status, body)`.
pub fn post(url: &str, body: &str) -> (u16, Vec<u8>) {
    let (status, _, body) = http_request("POST", url, body.as_bytes());
    (status, body)
}

/// A `webtape serve --port 0 ...` child process; SIGTERMed (then killed) when dropped.
pub struct ServeProc {
    pub child: std::process::Child,
    pub url: String,
    rest: Option<std::sync::mpsc::Receiver<String>>,
}

impl ServeProc {
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> ServeProc {
        use std::io::BufRead;
        let mut cmd = webtape();
        cmd.args(["serve", "--port", "0"]).args(args).stdout(std::process::Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("serve starts");
        let mut line = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
        out.read_line(&mut line).expect("address line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        // Keep reading stdout in the background so the final summary line is not lost to a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut rest);
            let _ = tx.send(rest);
        });
        ServeProc { child, url, rest: Some(rx) }
    }

    /// Sends SIGTERM, waits for exit, returns (success, the rest of stdout).
    pub fn stop(mut self) -> (bool, String) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let status = self.child.wait().expect("wait");
        let rest = self.rest.take().map(|rx| rx.recv().unwrap_or_default());
        (status.success(), rest.unwrap_or_default())
    }
}

impl Drop for ServeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The folder `tests/py/make_tiny_models.py` filled (once per test run): `qwen2/`, `qwen3/`, `llama/`,
/// `tokenizer/`, `chat.json`.
pub fn tiny_models() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempdir();
        python("make_tiny_models.py", &[dir.path().to_str().expect("utf-8 temp path")]);
        dir
    })
    .path()
}

/// The tiny checkpoint folder of `arch` ("qwen2", "qwen3" or "llama").
pub fn tiny(arch: &str) -> PathBuf {
    tiny_models().join(arch)
}

/// Reads a JSON file.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("valid JSON")
}

/// `value` as a list of token-id lists.
pub fn id_lists(value: &serde_json::Value) -> Vec<Vec<u32>> {
    serde_json::from_value(value.clone()).expect("lists of token ids")
}

/// `value` as `[seq][pos][vocab]` floats.
pub fn logit_lists(value: &serde_json::Value) -> Vec<Vec<Vec<f32>>> {
    serde_json::from_value(value.clone()).expect("nested float lists")
}

/// Largest absolute difference between two equally shaped nested lists.
pub fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "positions");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "vocab");
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

/// The JSON body of a 200 answer (panics naming `what` and the body otherwise).
pub fn json_200(status: u16, body: &[u8], what: &str) -> serde_json::Value {
    assert_eq!(status, 200, "{what}: {}", String::from_utf8_lossy(body));
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e})"))
}
