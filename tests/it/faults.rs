//! Fault injection: the sim web misbehaves (429 with Retry-After, 500, slow, truncated bodies, redirect loops,
//! huge pages, lying charsets) and the recorder finishes, retries as configured, and records failures as failures.
use webtape::snapshot::Snapshot;

use crate::common::*;

const KEY: &str = "fault-key-0042";

/// Pages (not search calls) the sim saw more than once, with their counts.
fn retried_pages(sim: &SimProc) -> Vec<(String, u64)> {
    let stats = sim.requests();
    stats
        .iter()
        .filter(|(k, _)| k.starts_with('/') && k.as_str() != "/robots.txt" && k.as_str() != "/__sim/stats")
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, n)| *n > 1)
        .collect()
}

#[test]
fn transient_faults_are_retried_until_they_clear() {
    let faults = ["--faults", "too-many,server-error,truncated,slow", "--fault-rate", "0.3", "--slow-ms", "2500"];
    let sim = SimProc::start(&[&["--api-key", KEY][..], &faults[..]].concat());
    let tmp = tempdir();
    let queries = sim_questions(tmp.path(), 20);
    let snap = tmp.path().join("snap");
    let args = ["--timeout", "1", "--retries", "2", "--backoff-ms", "20", "--pages-per-query", "3"];
    let summary = record(&sim, "serper", KEY, &queries, &snap, &args);
    assert_eq!(summary["recorded"], 20, "{summary}");
    assert_eq!(summary["page_failures"], serde_json::json!({}), "every transient fault cleared: {summary}");
    assert_eq!(summary["search_failures"], serde_json::json!({}), "{summary}");
    // Faulty paths were asked exactly twice (one fault, one success): retries happened, and no more than needed.
    let retried = retried_pages(&sim);
    assert!(retried.len() >= 3, "some pages were faulty: {retried:?}");
    assert!(retried.iter().all(|(_, n)| *n == 2), "{retried:?}");
    let snapshot = Snapshot::open(&snap).unwrap();
    for (path, _) in &retried {
        let page = snapshot.get_page(&format!("{}{path}", sim.url), None).unwrap().expect("recorded");
        assert_eq!(page.capture.status, Some(200), "{path}");
        let (_, served) = http_get(&format!("{}{path}", sim.url));
        assert_eq!(snapshot.body(&page.capture).unwrap().unwrap(), served, "{path}: the complete body was kept");
    }
}

#[test]
fn persistent_faults_are_recorded_as_failures() {
    let faults = ["--faults", "too-many,server-error,truncated", "--fault-rate", "0.3", "--fault-transient", "100"];
    let sim = SimProc::start(&[&["--api-key", KEY][..], &faults[..]].concat());
    let tmp = tempdir();
    let queries = sim_questions(tmp.path(), 20);
    let snap = tmp.path().join("snap");
    let args = ["--retries", "1", "--backoff-ms", "10", "--max-backoff", "0.05", "--pages-per-query", "3"];
    let summary = record(&sim, "serper", KEY, &queries, &snap, &args);
    let failures = summary["page_failures"].as_object().unwrap().clone();
    assert!(!failures.is_empty(), "{summary}");
    let snapshot = Snapshot::open(&snap).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (path, n) in retried_pages(&sim) {
        assert_eq!(n, 2, "{path}: one retry as configured");
        let page = snapshot.get_page(&format!("{}{path}", sim.url), None).unwrap().expect("failure recorded");
        match page.capture.status {
            Some(429) | Some(500) => assert!(page.capture.fetch_error.is_none()),
            _ => assert!(page.capture.fetch_error.as_deref().unwrap().contains("incomplete"), "{:?}", page.capture),
        }
        seen.insert(page.capture.status);
    }
    assert!(seen.len() >= 2, "several kinds of failure recorded: {seen:?}");
    let failed: u64 = failures.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(failed as usize, retried_pages(&sim).len(), "each faulty page is one recorded failure: {summary}");
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));
}

#[test]
fn permanent_faults_redirect_loop_huge_page_wrong_charset() {
    let faults = ["--faults", "redirect-loop,huge,wrong-charset", "--fault-rate", "0.5"];
    let sim = SimProc::start(&[&["--api-key", KEY][..], &faults[..]].concat());
    let tmp = tempdir();
    let queries = sim_questions(tmp.path(), 10);
    let snap = tmp.path().join("snap");
    let args = ["--max-body", "1M", "--pages-per-query", "3"];
    let summary = record(&sim, "serper", KEY, &queries, &snap, &args);
    assert_eq!(summary["recorded"], 10, "{summary}");
    let snapshot = Snapshot::open(&snap).unwrap();
    let (mut loops, mut huge, mut charset) = (0, 0, 0);
    for path in sim.requests().keys().filter(|k| k.starts_with('/') && k.as_str() != "/robots.txt") {
        let url = format!("{}{path}", sim.url);
        let Some(page) = snapshot.get_page(&url, None).unwrap() else { continue };
        let c = &page.capture;
        if c.fetch_error.as_deref().is_some_and(|e| e.contains("redirect loop")) {
            assert_eq!(c.status, Some(302));
            assert!(!c.redirects.is_empty());
            loops += 1;
        } else if c.truncated {
            assert_eq!(c.body_len, 1 << 20, "cut at --max-body");
            huge += 1;
        } else if std::str::from_utf8(&snapshot.body(c).unwrap().unwrap()).is_err() {
            let (_, served) = http_get(&url);
            assert_eq!(snapshot.body(c).unwrap().unwrap(), served, "raw bytes kept as served");
            assert!(!page.text.text.is_empty(), "text still extracted");
            charset += 1;
        }
    }
    assert!(loops > 0 && huge > 0 && charset > 0, "loops {loops}, huge {huge}, charset {charset}");
    assert_eq!(summary["truncated"], huge, "{summary}");
}
