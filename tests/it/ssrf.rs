//! The SSRF guard through the public fetcher API and the CLI: every refused address class gets a clear message,
//! also when a public-looking hop redirects there, and a refused fetch is recorded as a failure.
use std::net::SocketAddr;

use webtape::web::{FetchConfig, Fetched, Fetcher, Guard};

use crate::common::*;

fn fetch(guard: Guard, url: &str) -> Fetched {
    let cfg = FetchConfig {
        guard,
        retry: webtape::web::RetryPolicy { retries: 0, ..Default::default() },
        ..Default::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { Fetcher::new(cfg).unwrap().fetch(url).await.unwrap() })
}

fn refused(guard: Guard, url: &str, class: &str) -> Fetched {
    let f = fetch(guard, url);
    let error = f.capture.fetch_error.clone().unwrap_or_default();
    assert_eq!(f.failure.as_deref(), Some("blocked"), "{url}: {error}");
    assert!(error.contains(class) && error.contains("--allow-private"), "{url}: {error}");
    assert!(f.body.is_none() && f.capture.status.is_none() || !f.capture.redirects.is_empty());
    f
}

#[test]
fn every_refused_class_has_a_clear_message() {
    let sim = SimProc::start(&[]);
    let port = sim.addr().rsplit(':').next().unwrap().to_string();
    let on = Guard::new(false);
    refused(on.clone(), &format!("{}/", sim.url), "loopback");
    refused(on.clone(), &format!("http://localhost:{port}/"), "loopback");
    refused(on.clone(), "http://10.1.2.3/", "private");
    refused(on.clone(), "http://192.168.0.1/admin", "private");
    refused(on.clone(), "http://[fd00::5]/", "private");
    refused(on.clone(), "http://169.254.169.254/latest/meta-data/", "cloud metadata");
    refused(on.clone(), "http://[fe80::1]/", "link-local");
    refused(on.clone(), "http://169.254.3.3/", "link-local");
    refused(on.clone(), "http://239.1.2.3/", "multicast");
    refused(on.clone(), "http://0.0.0.0/", "unspecified");
    refused(on.clone(), "ftp://example.com/file", "scheme \"ftp\"");
    refused(on, "file:///etc/passwd", "scheme \"file\"");
    // The sim itself saw none of these requests.
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn refused_behind_a_redirect() {
    let sim = SimProc::start(&[]);
    let addr: SocketAddr = sim.addr().parse().unwrap();
    // Allow the sim's own address only, as if it were a public site with an open redirect.
    let guard = Guard { allow_private: false, allow_addrs: vec![addr], ..Guard::default() };
    let ok_page = fetch(guard.clone(), &format!("{}/redirect?to=/robots.txt", sim.url));
    assert_eq!(ok_page.capture.status, Some(200), "{:?}", ok_page.capture);
    assert_eq!(ok_page.capture.redirects, vec![format!("{}/robots.txt", sim.url)]);
    for (target, class) in [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        (&*format!("http://127.0.0.2:{}/", addr.port()), "loopback"),
        ("http://10.0.0.8/", "private"),
        ("gopher://internal/", "scheme"),
    ] {
        let f = refused(guard.clone(), &format!("{}/redirect?to={target}", sim.url), class);
        assert_eq!(f.capture.status, Some(302), "the first hop was fetched");
        assert_eq!(f.capture.redirects.len(), 1, "{:?}", f.capture);
    }
    // With --allow-private (Guard::new(true)) the loopback page is fetched.
    let allowed = fetch(Guard::new(true), &format!("{}/", sim.url));
    assert_eq!(allowed.capture.status, Some(200));
}

#[test]
fn recorder_records_refused_pages_as_failures() {
    let sim = SimProc::start(&["--api-key", "ssrf-key-1234"]);
    let tmp = tempdir();
    let queries = sim_questions(tmp.path(), 3);
    let snap = tmp.path().join("snap");
    // No --allow-private: the provider endpoint is trusted (the user chose it), the result pages on loopback are not.
    let mut cmd = webtape();
    cmd.args(["record", "--provider", "serper", "--endpoint", &sim.url, "--queries", s(&queries)])
        .args(["--snapshot", s(&snap), "--json", "--pages-per-query", "2"])
        .env("SERPER_API_KEY", "ssrf-key-1234");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["page_failures"]["blocked"], summary["pages"], "{summary}");
    assert!(summary["pages"].as_u64().unwrap() >= 3);
    let snapshot = webtape::snapshot::Snapshot::open(&snap).unwrap();
    let q = &webtape::data::read_questions(&queries).unwrap()[0];
    let capture = &snapshot.search_captures(&webtape::snapshot::SearchRequest::new(&q.question)).unwrap()[0];
    let page = snapshot.get_page(&capture.results[0].url, None).unwrap().unwrap();
    assert!(page.capture.fetch_error.unwrap().contains("loopback"));
}
