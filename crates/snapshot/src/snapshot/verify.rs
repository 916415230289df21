//! `snapshot verify`: re-reads everything and checks it - every blob against its blake3 digest, every record
//! decodes, every capture has its text, the index holds exactly the latest capture of each URL, and the
//! manifest's content digest matches. Reports damage by capture; never modifies the snapshot.
use std::collections::{BTreeMap, HashMap};

use super::digest::content_digest;
use super::handle::Snapshot;
use super::record::{self, HttpCapture, PageCapture, SearchCapture};
use super::store::{self, CF_BLOBS, CF_HTTP, CF_PAGES, CF_SEARCH, CF_TEXT};
use crate::error::Result;
use crate::progress;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is damaged, e.g. `capture https://example.com/ at 2024-01-01T00:00:00Z`.
    pub what: String,
    pub message: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub page_captures: u64,
    pub search_captures: u64,
    pub blobs: u64,
    pub indexed_pages: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, what: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { what: what.into(), message: message.into() });
    }
}

/// Verifies `snapshot` end to end.
pub fn verify(snapshot: &Snapshot) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let mut blob_results: HashMap<String, std::result::Result<(), String>> = HashMap::new();
    let latest = check_pages(snapshot, &mut report, &mut blob_results);
    check_searches(snapshot, &mut report, &mut blob_results);
    check_http(snapshot, &mut report, &mut blob_results);
    check_orphan_blobs(snapshot, &mut report, &mut blob_results);
    check_index(snapshot, &latest, &mut report)?;
    match content_digest(snapshot.store()) {
        Ok(d) if d == snapshot.manifest().content_digest => {}
        Ok(d) => report.problem(
            "manifest.json",
            format!("content digest {} does not match the data ({d}); a writer did not finish - run `webtape snapshot repair`", snapshot.manifest().content_digest),
        ),
        Err(e) => report.problem("content digest", e.to_string()),
    }
    Ok(report)
}

/// Checks page records, their blobs and texts; returns the latest capture key of each SURT.
fn check_pages(
    snap: &Snapshot,
    report: &mut VerifyReport,
    blobs: &mut HashMap<String, Result<(), String>>,
) -> BTreeMap<String, Vec<u8>> {
    let bar = progress::bar(snap.manifest().counts.page_captures, "verifying");
    let mut latest = BTreeMap::new();
    for item in snap.store().iter(CF_PAGES) {
        let (key, value) = match item {
            Ok(kv) => kv,
            Err(e) => {
                report.problem("pages column family", e.to_string());
                break;
            }
        };
        bar.inc(1);
        report.page_captures += 1;
        let name = format!("page capture {}", String::from_utf8_lossy(&key[..key.len().saturating_sub(9)]));
        let capture: PageCapture = match record::decode("page capture", &key, &value) {
            Ok(c) => c,
            Err(e) => {
                report.problem(name, e.to_string());
                continue;
            }
        };
        let name = format!("capture of {} at {}", capture.url, capture.captured_at);
        if let Some(digest) = &capture.body_digest {
            if let Err(message) = blobs.entry(digest.clone()).or_insert_with(|| check_blob(snap, digest)) {
                report.problem(&name, message.clone());
            }
        }
        match snap.store().get(CF_TEXT, &key) {
            Ok(Some(_)) => {}
            Ok(None) => report.problem(&name, "extracted text is missing"),
            Err(e) => report.problem(&name, format!("extracted text unreadable: {e}")),
        }
        if let Ok((surt, _)) = record::split_page_key(&key) {
            latest.insert(surt.to_string(), key.to_vec());
        }
    }
    bar.finish_and_clear();
    latest
}

fn check_searches(snap: &Snapshot, report: &mut VerifyReport, blobs: &mut HashMap<String, Result<(), String>>) {
    for item in snap.store().iter(CF_SEARCH) {
        let (key, value) = match item {
            Ok(kv) => kv,
            Err(e) => {
                report.problem("search column family", e.to_string());
                break;
            }
        };
        report.search_captures += 1;
        match record::decode::<SearchCapture>("search capture", &key, &value) {
            Err(e) => {
                report.problem(format!("search capture {}", hex::encode(&key[..32.min(key.len())])), e.to_string())
            }
            Ok(capture) => {
                if let Some(digest) = &capture.raw_digest {
                    if let Err(message) = blobs.entry(digest.clone()).or_insert_with(|| check_blob(snap, digest)) {
                        report.problem(
                            format!("search capture {} ({})", capture.request, capture.captured_at),
                            message.clone(),
                        );
                    }
                }
            }
        }
    }
}

/// The proxy's HTTP exchanges: each decodes and its body blob is intact.
fn check_http(snap: &Snapshot, report: &mut VerifyReport, blobs: &mut HashMap<String, Result<(), String>>) {
    for item in snap.store().iter(CF_HTTP) {
        let (key, value) = match item {
            Ok(kv) => kv,
            Err(e) => {
                report.problem("http column family", e.to_string());
                break;
            }
        };
        let capture = match record::decode::<HttpCapture>("http capture", &key, &value) {
            Ok(capture) => capture,
            Err(e) => {
                report.problem(format!("http capture {}", hex::encode(&key[..32.min(key.len())])), e.to_string());
                continue;
            }
        };
        if let Some(digest) = &capture.body_digest {
            if let Err(message) = blobs.entry(digest.clone()).or_insert_with(|| check_blob(snap, digest)) {
                let what = format!("http capture {} {} ({})", capture.method, capture.url, capture.captured_at);
                report.problem(what, message.clone());
            }
        }
    }
}

fn check_orphan_blobs(snap: &Snapshot, report: &mut VerifyReport, blobs: &mut HashMap<String, Result<(), String>>) {
    for item in snap.store().iter(CF_BLOBS) {
        let (key, value) = match item {
            Ok(kv) => kv,
            Err(e) => {
                report.problem("blobs column family", e.to_string());
                break;
            }
        };
        report.blobs += 1;
        let digest = hex::encode(&key);
        if !blobs.contains_key(&digest) {
            if let Err(message) = blob_matches(&digest, &value) {
                report.problem(format!("unreferenced blob {digest}"), message);
            }
        }
    }
}

fn check_blob(snap: &Snapshot, digest: &str) -> Result<(), String> {
    let key = store::digest_key(digest).map_err(|e| e.to_string())?;
    match snap.store().get(CF_BLOBS, &key) {
        Ok(Some(z)) => blob_matches(digest, &z),
        Ok(None) => Err(format!("blob {digest} is missing")),
        Err(e) => Err(format!("blob {digest} is unreadable: {e}")),
    }
}

fn blob_matches(digest: &str, z: &[u8]) -> Result<(), String> {
    let body = store::decompress_blob(digest, z).map_err(|e| e.to_string())?;
    let actual = blake3::hash(&body).to_hex();
    if actual.as_str() != digest {
        return Err(format!("blob {digest} is damaged: its content hashes to {actual}"));
    }
    Ok(())
}

fn check_index(snap: &Snapshot, latest: &BTreeMap<String, Vec<u8>>, report: &mut VerifyReport) -> Result<()> {
    let docs = match snap.index().documents() {
        Ok(d) => d,
        Err(e) => {
            report.problem("index", e.to_string());
            return Ok(());
        }
    };
    report.indexed_pages = docs.len() as u64;
    let missing = latest.iter().filter(|(s, k)| docs.get(*s) != Some(*k)).count();
    let extra = docs.keys().filter(|s| !latest.contains_key(*s)).count();
    if missing > 0 || extra > 0 {
        report.problem(
            "index",
            format!("{missing} URL(s) not indexed at their latest capture, {extra} indexed URL(s) not in the database; run `webtape snapshot repair`"),
        );
    }
    Ok(())
}
