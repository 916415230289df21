//! `snapshot import-warc`: WARC response, resource and revisit records become page captures (revisits resolved
//! to the payload they refer to); request, metadata and warcinfo records are passed over. Malformed records
//! are skipped and counted; every good record is kept. ARC records arrive as the WARC records they stand for;
//! records kept despite a wrong length or a broken chunked body are counted as warnings. Extraction runs in
//! parallel, writes stay in file order.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::http;
use super::prepared::{PreparedPage, PutOutcome};
use super::record::PageCapture;
use super::report::ImportReport;
use super::warc_read::{read_warc_file, RawRecord, WarcItem};
use super::writer::SnapshotWriter;
use crate::error::Result;
use crate::progress;

/// Content type of the metadata records webtape writes for captures without a payload (failed fetches).
pub const CAPTURE_JSON_TYPE: &str = "application/vnd.webtape.capture+json";
const BATCH_RECORDS: usize = 256;
const BATCH_BYTES: usize = 64 << 20;

/// What one WARC record turns into.
enum Converted {
    Page { page: Box<PreparedPage>, payload_digest: Option<String>, warnings: Vec<String> },
    Revisit { capture: Box<PageCapture>, payload_digest: Option<String>, refers_to: Option<(String, String)> },
    Ignored(String),
    Skipped(String),
}

/// Resolves revisit records to payloads seen earlier in this import (or already in the snapshot).
#[derive(Default)]
struct Resolver {
    by_payload_digest: HashMap<String, String>,
    by_target: HashMap<(String, String), String>,
}

/// Imports the WARC files at `paths` into `writer`, in order.
pub fn import_warc(writer: &mut SnapshotWriter, paths: &[PathBuf]) -> Result<ImportReport> {
    let total: u64 = paths.iter().map(|p| std::fs::metadata(p).map_or(0, |m| m.len())).sum();
    let bar = progress::bytes_bar(total, "importing");
    let mut report = ImportReport::default();
    let mut resolver = Resolver::default();
    let mut done_bytes = 0u64;
    for path in paths {
        report.files += 1;
        let name = path.display().to_string();
        let result = import_file(writer, path, &mut report, &mut resolver, &|pos| bar.set_position(done_bytes + pos));
        if let Err(e) = result {
            report.failed_files.push((name, e.to_string()));
        }
        done_bytes += std::fs::metadata(path).map_or(0, |m| m.len());
        bar.set_position(done_bytes);
    }
    writer.commit()?;
    bar.finish_and_clear();
    Ok(report)
}

fn import_file(
    writer: &mut SnapshotWriter,
    path: &Path,
    report: &mut ImportReport,
    resolver: &mut Resolver,
    on_progress: &(dyn Fn(u64) + Sync),
) -> Result<()> {
    let name = path.display().to_string();
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<WarcItem>, u64)>(2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Vec::new();
            let mut bytes = 0usize;
            let result = read_warc_file(path, |item, pos| {
                bytes += match &item {
                    WarcItem::Record(r) => r.block.len(),
                    WarcItem::Skipped { .. } => 0,
                };
                batch.push(item);
                if batch.len() >= BATCH_RECORDS || bytes >= BATCH_BYTES {
                    bytes = 0;
                    // A closed channel means the writer side failed; it reports its own error.
                    let _ = tx.send((std::mem::take(&mut batch), pos));
                }
                Ok(())
            });
            let _ = tx.send((batch, u64::MAX));
            result
        });
        let mut outcome = Ok(());
        for (items, pos) in rx {
            if outcome.is_ok() {
                outcome = write_batch(writer, &name, items, report, resolver);
                if pos != u64::MAX {
                    on_progress(pos);
                }
            }
        }
        let read_result =
            reader.join().unwrap_or_else(|_| Err(crate::error::Error::bad_input(&name, "reader thread panicked")));
        outcome.and(read_result)
    })
}

fn write_batch(
    writer: &mut SnapshotWriter,
    name: &str,
    items: Vec<WarcItem>,
    report: &mut ImportReport,
    resolver: &mut Resolver,
) -> Result<()> {
    let converted: Vec<(u64, Converted)> = items
        .into_par_iter()
        .map(|item| match item {
            WarcItem::Record(r) => (r.offset, convert(&r)),
            WarcItem::Skipped { offset, reason } => (offset, Converted::Skipped(reason)),
        })
        .collect();
    for (offset, c) in converted {
        match c {
            Converted::Page { page, payload_digest, warnings } => {
                report.records += 1;
                for w in &warnings {
                    report.warn(name, offset, w);
                }
                resolver.remember(&page, payload_digest);
                report.count(writer.put_prepared(*page, "warc")?);
            }
            Converted::Revisit { capture, payload_digest, refers_to } => {
                report.records += 1;
                match resolver.resolve(writer, payload_digest.as_deref(), refers_to.as_ref())? {
                    Some(body) => {
                        report.count(writer.put_prepared(PreparedPage::new(*capture, Some(&body), None)?, "warc")?)
                    }
                    None => report.skip(
                        name,
                        offset,
                        "revisit record whose original payload is not in this import or snapshot",
                    ),
                }
            }
            Converted::Ignored(kind) => {
                report.records += 1;
                *report.ignored.entry(kind).or_default() += 1;
            }
            Converted::Skipped(reason) => report.skip(name, offset, &reason),
        }
    }
    Ok(())
}

fn convert(r: &RawRecord) -> Converted {
    match convert_inner(r) {
        Ok(Converted::Page { page, payload_digest, mut warnings }) => {
            warnings.extend(r.warning.clone());
            Converted::Page { page, payload_digest, warnings }
        }
        Ok(c) => c,
        Err(reason) => Converted::Skipped(reason),
    }
}

fn convert_inner(r: &RawRecord) -> std::result::Result<Converted, String> {
    let kind = r.header("WARC-Type").unwrap_or("(none)").to_ascii_lowercase();
    let is_capture_json = kind == "metadata" && r.header("Content-Type") == Some(CAPTURE_JSON_TYPE);
    if !matches!(kind.as_str(), "response" | "resource" | "revisit") && !is_capture_json {
        return Ok(Converted::Ignored(kind));
    }
    let target = r.header("WARC-Target-URI").ok_or("record has no WARC-Target-URI")?;
    let url = target.trim().trim_start_matches('<').trim_end_matches('>').to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Ok(Converted::Ignored(format!("{kind} (non-HTTP target)")));
    }
    let captured_at = normalize_date(r.header("WARC-Date").ok_or("record has no WARC-Date")?)?;
    if is_capture_json {
        let mut capture: PageCapture =
            serde_json::from_slice(&r.block).map_err(|e| format!("webtape capture record: {e}"))?;
        capture.url = url;
        let page = PreparedPage::new(capture, None, None).map_err(|e| e.to_string())?;
        return Ok(Converted::Page { page: Box::new(page), payload_digest: None, warnings: Vec::new() });
    }
    let mut capture = PageCapture {
        final_url: url.clone(),
        url,
        redirects: Vec::new(),
        status: None,
        headers: Vec::new(),
        content_type: None,
        body_digest: None,
        body_len: 0,
        truncated: r.header("WARC-Truncated").is_some(),
        captured_at,
        fetch_error: None,
        doc_id: None,
    };
    let payload_digest = r.header("WARC-Payload-Digest").map(str::to_string);
    let is_http = r.header("Content-Type").is_some_and(|t| t.to_ascii_lowercase().starts_with("application/http"))
        || r.block.starts_with(b"HTTP/");
    if kind == "revisit" {
        if is_http {
            let (status, headers, _) = http::parse_head(&r.block)?;
            capture.status = Some(status);
            capture.content_type = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.clone());
            capture.headers = headers.into_iter().filter(|(k, _)| http::KEPT_HEADERS.contains(&k.as_str())).collect();
        }
        let refers_to = r.header("WARC-Refers-To-Target-URI").zip(r.header("WARC-Refers-To-Date"));
        let refers_to = refers_to.map(|(u, d)| (u.trim_matches(|c| c == '<' || c == '>').to_string(), d.to_string()));
        return Ok(Converted::Revisit { capture: Box::new(capture), payload_digest, refers_to });
    }
    let mut warnings = Vec::new();
    let body = if kind == "response" && is_http {
        let response = http::parse_response(&r.block)?;
        warnings.extend(response.note.clone());
        capture.status = Some(response.status);
        capture.content_type = response.header("content-type").map(str::to_string);
        capture.headers = response.kept_headers();
        capture.truncated |= response.truncated;
        response.body
    } else {
        capture.content_type = r.header("Content-Type").map(str::to_string);
        r.block.clone()
    };
    let page = PreparedPage::new(capture, Some(&body), None).map_err(|e| e.to_string())?;
    Ok(Converted::Page { page: Box::new(page), payload_digest, warnings })
}

/// WARC-Date in RFC 3339 UTC, fractional seconds kept only when present.
pub fn normalize_date(date: &str) -> std::result::Result<String, String> {
    let t = chrono::DateTime::parse_from_rfc3339(date.trim()).map_err(|e| format!("bad WARC-Date {date:?}: {e}"))?;
    Ok(t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

impl Resolver {
    fn remember(&mut self, page: &PreparedPage, payload_digest: Option<String>) {
        let Some(digest) = &page.capture.body_digest else { return };
        if let Some(p) = payload_digest {
            self.by_payload_digest.insert(p, digest.clone());
        }
        let key = (page.surt.clone(), super::record::timestamp14(&page.capture.captured_at).unwrap_or_default());
        self.by_target.insert(key, digest.clone());
    }

    fn resolve(
        &self,
        writer: &SnapshotWriter,
        payload_digest: Option<&str>,
        refers_to: Option<&(String, String)>,
    ) -> Result<Option<Vec<u8>>> {
        let mut digest = payload_digest.and_then(|p| self.by_payload_digest.get(p).cloned());
        if digest.is_none() {
            if let Some((uri, date)) = refers_to {
                let ts = normalize_date(date).ok().and_then(|d| super::record::timestamp14(&d).ok());
                let surt = super::canon::surt_key(uri).ok();
                if let (Some(surt), Some(ts)) = (surt, ts) {
                    digest = self.by_target.get(&(surt, ts.clone())).cloned();
                    if digest.is_none() {
                        digest = earlier_capture_digest(writer, uri, &ts)?;
                    }
                }
            }
        }
        match digest {
            Some(d) => writer.blob(&d),
            None => Ok(None),
        }
    }
}

fn earlier_capture_digest(writer: &SnapshotWriter, uri: &str, ts14: &str) -> Result<Option<String>> {
    let captures = writer.page_captures(uri)?;
    let mut by_time: BTreeMap<String, String> = BTreeMap::new();
    for (_, c) in captures {
        if let (Ok(t), Some(d)) = (super::record::timestamp14(&c.captured_at), c.body_digest) {
            by_time.insert(t, d);
        }
    }
    Ok(by_time.get(ts14).cloned())
}

impl ImportReport {
    fn count(&mut self, outcome: PutOutcome) {
        match outcome {
            PutOutcome::Added => self.imported += 1,
            PutOutcome::Duplicate => self.duplicates += 1,
        }
    }
}
