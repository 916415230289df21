//! Resume: a recording killed with SIGKILL halfway, then run again, ends with the same captures as an
//! uninterrupted recording - every search and page once, nothing lost, nothing twice.
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use webtape::snapshot::{SearchRequest, Snapshot};

use crate::common::*;

const KEY: &str = "resume-key-9d1e";

/// URLs of all page captures (one per line of the CDXJ written by export-warc), with repeats.
fn captured_urls(snap: &Path, tmp: &Path, name: &str) -> Vec<String> {
    let warc = tmp.join(format!("{name}.warc"));
    ok(&["snapshot", "export-warc", s(snap), s(&warc)]);
    let cdxj = std::fs::read_to_string(webtape::snapshot::cdxj_path(&warc)).unwrap();
    let mut urls: Vec<String> = cdxj
        .lines()
        .map(|l| {
            let json = &l[l.find('{').unwrap()..];
            serde_json::from_str::<serde_json::Value>(json).unwrap()["url"].as_str().unwrap().to_string()
        })
        .collect();
    urls.sort();
    urls
}

fn page_requests(sim: &SimProc) -> u64 {
    sim.requests()
        .iter()
        .filter(|(k, _)| k.starts_with("/wiki") || k.starts_with("/list"))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum()
}

#[test]
fn sigkill_then_rerun_equals_uninterrupted() {
    let sim = SimProc::start(&["--api-key", KEY]);
    let tmp = tempdir();
    let queries = sim_questions(tmp.path(), 60);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));

    // Slow the first run down (per-host rate) so it can be killed halfway.
    let mut child = webtape()
        .args(["record", "--provider", "serper", "--endpoint", &sim.url, "--queries", s(&queries), "--snapshot", s(&a)])
        .args([
            "--rate",
            "none",
            "--host-rate",
            "40/s",
            "--host-concurrency",
            "2",
            "--concurrency",
            "4",
            "--allow-private",
        ])
        .env("SERPER_API_KEY", KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while page_requests(&sim) < 60 {
        assert!(child.try_wait().unwrap().is_none(), "the slowed recording finished before it could be killed");
        assert!(start.elapsed() < Duration::from_secs(60), "recording made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = page_requests(&sim);

    let resumed = record(&sim, "serper", KEY, &queries, &a, &[]);
    assert!(resumed["resumed"].as_u64().unwrap() > 0, "the rerun skipped finished queries: {resumed}");
    assert!(resumed["pages_present"].as_u64().unwrap() > 0, "{resumed}");
    let fresh = record(&sim, "serper", KEY, &queries, &b, &[]);
    assert_eq!(fresh["resumed"], 0);

    let (urls_a, urls_b) = (captured_urls(&a, tmp.path(), "a"), captured_urls(&b, tmp.path(), "b"));
    assert_eq!(urls_a, urls_b, "same page captures");
    let unique: BTreeSet<_> = urls_a.iter().collect();
    assert_eq!(unique.len(), urls_a.len(), "no page recorded twice");
    assert!(urls_a.len() > 60, "{}", urls_a.len());

    let (snap_a, snap_b) = (Snapshot::open(&a).unwrap(), Snapshot::open(&b).unwrap());
    for q in webtape::data::read_questions(&queries).unwrap() {
        let req = SearchRequest::new(&q.question);
        let (ca, cb) = (snap_a.search_captures(&req).unwrap(), snap_b.search_captures(&req).unwrap());
        assert_eq!((ca.len(), cb.len()), (1, 1), "one search capture of {:?}", q.question);
        assert_eq!(ca[0].results, cb[0].results);
    }
    let counts = |s: &Snapshot| (s.manifest().counts.page_captures, s.manifest().counts.search_captures);
    assert_eq!(counts(&snap_a), counts(&snap_b));
    // The rerun fetched only what was missing: pages fetched in all = one uninterrupted run + the few in flight.
    let total = page_requests(&sim);
    let rerun = total - before - urls_b.len() as u64;
    assert!(before + rerun <= urls_a.len() as u64 + 8, "pages fetched twice: {before} + {rerun} vs {}", urls_a.len());
    assert!(ok(&["snapshot", "verify", s(&a)]).contains(": ok"));
}
