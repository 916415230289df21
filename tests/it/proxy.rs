//! `webtape proxy`: unmodified Python clients (requests, httpx, openai) record a deep-research session through
//! the proxy against loopback HTTPS servers with their own certificates - the sim web, a Serper-shaped API and a
//! chat-completions endpoint under real-looking host names - then, with the servers gone, replay it: the same
//! bytes, statuses and headers, the same run digest, no credentials stored or needed, and the recording shared
//! with `webtape serve`.
use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use serde_json::Value;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;

use crate::common::{self, ok, s, tempdir, webtape, SimProc};

const KEY: &str = "sk-test-proxy-0123456789abcdef";
const HOSTS: [&str; 3] = ["google.serper.dev", "sim.test", "reader.test"];

/// A loopback HTTPS server in front of `target` (plain TCP after the handshake) with a certificate for `HOSTS`
/// from a CA of its own; stops when dropped.
struct TlsFront {
    addr: SocketAddr,
    ca_pem: String,
    _runtime: tokio::runtime::Runtime,
}

fn tls_front(target: SocketAddr) -> TlsFront {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "upstream test CA");
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(HOSTS.map(String::from).to_vec()).unwrap().signed_by(&leaf_key, &issuer).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let (Ok(mut tls), Ok(mut plain)) =
                    (acceptor.accept(tcp).await, tokio::net::TcpStream::connect(target).await)
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    TlsFront { addr, ca_pem, _runtime: runtime }
}

/// A `webtape proxy --port 0 ...` child; `stop` sends SIGTERM and returns the rest of its stdout.
struct ProxyProc {
    child: std::process::Child,
    url: String,
    rest: std::sync::mpsc::Receiver<String>,
}

impl ProxyProc {
    fn start(args: &[&str]) -> ProxyProc {
        let mut child =
            webtape().args(["proxy", "--port", "0"]).args(args).stdout(Stdio::piped()).spawn().expect("proxy starts");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line).expect("address line");
        let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{line:?}"));
        let url = url.to_string();
        let (tx, rest) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            let _ = tx.send(text);
        });
        ProxyProc { child, url, rest }
    }

    fn stop(mut self) -> String {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let status = self.child.wait().expect("wait");
        let rest = self.rest.recv().unwrap_or_default();
        assert!(status.success(), "proxy exited with {status}: {rest}");
        rest
    }
}

impl Drop for ProxyProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the Python clients through `proxy`, trusting `ca`, with `key` as every API key.
fn clients(proxy: &ProxyProc, ca: &Path, key: &str, queries: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/proxy_clients.py");
    let out = Command::new("python3")
        .arg(script)
        .args(queries)
        .env("HTTPS_PROXY", &proxy.url)
        .env("HTTP_PROXY", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("REQUESTS_CA_BUNDLE", ca)
        .env("SSL_CERT_FILE", ca)
        .env("SERPER_API_KEY", key)
        .env("OPENAI_API_KEY", key)
        .env("READER_BASE_URL", "https://reader.test/v1")
        .output()
        .expect("python3 runs (make test installs requests, httpx and openai)");
    assert!(out.status.success(), "proxy_clients.py failed:\n{}", common::stderr(&out));
    serde_json::from_slice(&out.stdout).expect("the clients print JSON")
}

/// The run digest from the proxy's summary line.
fn digest(summary: &str) -> String {
    let line = summary.lines().find(|l| l.starts_with("proxied ")).unwrap_or_else(|| panic!("{summary}"));
    line.rsplit(' ').next().unwrap().to_string()
}

/// A plain-HTTP proxy request (absolute-form) for `url`: `(status, body)`.
fn proxied_get(proxy: &ProxyProc, url: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(proxy.url.trim_start_matches("http://")).unwrap();
    write!(stream, "GET {url} HTTP/1.1\r\nHost: sim.test\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap();
    (status, raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

#[test]
fn python_clients_record_through_the_proxy_and_replay_byte_for_byte_without_the_servers() {
    let tmp = tempdir();
    let (snap, ca_dir) = (tmp.path().join("snap"), tmp.path().join("ca"));
    let ca = tmp.path().join("ca.pem");
    ok(&["proxy", "ca", "--ca-dir", s(&ca_dir), "--out", s(&ca)]);
    let sim = SimProc::start(&["--api-key", KEY, "--link-base", "https://sim.test"]);
    let front = tls_front(sim.addr().parse().unwrap());
    let upstream_ca = common::write_file(tmp.path(), "upstream-ca.pem", front.ca_pem.as_bytes());
    let resolve: Vec<String> = HOSTS.iter().map(|h| format!("{h}={}", front.addr)).collect();
    let mut record_args = vec!["--mode", "record", "--snapshot", s(&snap), "--ca-dir", s(&ca_dir)];
    record_args.extend(["--upstream-ca", s(&upstream_ca)]);
    let allow = front.addr.to_string();
    record_args.extend(["--allow-addr", &allow]);
    for r in &resolve {
        record_args.extend(["--resolve", r.as_str()]);
    }
    let questions = ok(&["sim", "questions", "--split", "train"]);
    let questions: Vec<String> = questions
        .lines()
        .take(2)
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["question"].as_str().unwrap().to_string())
        .collect();
    let queries: Vec<&str> = questions.iter().map(String::as_str).collect();

    let proxy = ProxyProc::start(&record_args);
    let recorded = clients(&proxy, &ca, KEY, &queries);
    let record_summary = proxy.stop();
    drop(front);
    drop(sim);

    eprintln!("record: {record_summary}");
    let calls = recorded["calls"].as_array().unwrap();
    assert!(calls.iter().all(|c| c["status"] == 200), "every call answered: {recorded:#}");
    assert!(recorded["links"].as_array().unwrap().iter().all(|l| l.as_str().unwrap().starts_with("https://sim.test/")));
    assert!(!recorded["reader_answer"].as_str().unwrap().is_empty());

    let proxy = ProxyProc::start(&["--snapshot", s(&snap), "--ca-dir", s(&ca_dir)]);
    let replayed = clients(&proxy, &ca, "a-different-key-replay-never-needs", &queries);
    let replay_summary = proxy.stop();

    eprintln!("replay: {replay_summary}");
    assert_eq!(replayed, recorded, "replay answers every client byte for byte: statuses, headers, bodies");
    assert_eq!(digest(&replay_summary), digest(&record_summary), "{record_summary}\n{replay_summary}");
    assert!(replay_summary.contains(&format!("{} exact, 0 bm25, 0 miss", calls.len())), "{replay_summary}");

    let proxy = ProxyProc::start(&["--snapshot", s(&snap), "--ca-dir", s(&ca_dir), "--miss", "strict"]);
    let (status, body) = proxied_get(&proxy, "http://sim.test/never-recorded");
    assert_eq!(status, 599, "a request never recorded is a 599: {body}");
    assert!(body.contains("not in snapshot"), "{body}");
    assert!(proxy.stop().contains("0 exact, 0 bm25, 1 miss"));

    let counts = common::info(&snap, "/manifest/counts");
    assert_eq!(counts["search_captures"], queries.len(), "{counts}");
    assert!(counts["page_captures"].as_u64().unwrap() >= 3, "result pages and robots.txt: {counts}");
    assert_eq!((counts["reader_outputs"].as_u64(), counts["http_captures"].as_u64()), (Some(1), Some(4)), "{counts}");
    assert_secret_absent(&snap);
    ok(&["snapshot", "verify", s(&snap)]);
    serve_answers_the_proxys_search(&snap, queries[0], &recorded);
}

/// No file of the snapshot holds the API key the clients sent.
fn assert_secret_absent(snap: &Path) {
    for entry in walk(snap) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "{} holds the API key", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `webtape serve` answers a search the proxy recorded from the same capture (one snapshot for both).
fn serve_answers_the_proxys_search(snap: &Path, query: &str, recorded: &Value) {
    let server = common::ServeProc::start(&["--snapshot", s(snap), "--miss", "strict"], &[]);
    let (status, head, body) = common::http_request(
        "POST",
        &format!("{}/search", server.url),
        &serde_json::to_vec(&serde_json::json!({"q": query})).unwrap(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(head.contains("x-webtape-source: exact"), "{head}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    let first = v["organic"][0]["link"].as_str().unwrap();
    assert_eq!(Some(first), recorded["links"][0].as_str(), "serve returns the results the proxy recorded");
}
