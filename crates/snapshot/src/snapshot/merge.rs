//! `snapshot merge`: copies the captures of several snapshots into a new one. Capture keys are content
//! addressed, so a capture present in two sources is stored once and the result does not depend on how the
//! sources were recorded (sharded recording, then merge).
use std::path::{Path, PathBuf};

use super::handle::Snapshot;
use super::manifest::Manifest;
use super::prepared::{PreparedPage, PutOutcome};
use super::record::{self, HttpCapture, PageCapture, SearchCapture};
use super::store::{CF_BLOBS, CF_HTTP, CF_PAGES, CF_READER, CF_SEARCH};
use super::writer::SnapshotWriter;
use crate::error::{Error, Result};
use crate::progress;

/// What a merge copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    pub page_captures: u64,
    pub search_captures: u64,
    pub reader_outputs: u64,
    pub http_captures: u64,
    /// Captures present in more than one source, stored once.
    pub duplicates: u64,
}

/// Merges `sources` into a new snapshot at `into`.
pub fn merge(sources: &[PathBuf], into: &Path) -> Result<(MergeReport, Manifest)> {
    if sources.is_empty() {
        return Err(Error::Config("merge needs at least one source snapshot".into()));
    }
    let snapshots = sources.iter().map(|s| Snapshot::open(s)).collect::<Result<Vec<_>>>()?;
    let mut writer = SnapshotWriter::create(into)?;
    let mut report = MergeReport::default();
    for snap in &snapshots {
        copy_pages(snap, &mut writer, &mut report)?;
        copy_searches(snap, &mut writer, &mut report)?;
        copy_http(snap, &mut writer, &mut report)?;
        for item in snap.store().iter(CF_READER) {
            let (key, value) = item?;
            let added = writer.put_reader_raw(&key, &value)?;
            tally(&mut report, added, |r| &mut r.reader_outputs);
        }
        writer.add_providers(&snap.manifest().providers);
    }
    let manifest = writer.finish()?;
    Ok((report, manifest))
}

fn copy_pages(snap: &Snapshot, writer: &mut SnapshotWriter, report: &mut MergeReport) -> Result<()> {
    let bar = progress::bar(snap.manifest().counts.page_captures, "merging");
    for item in snap.store().iter(CF_PAGES) {
        let (key, value) = item?;
        bar.inc(1);
        let capture: PageCapture = record::decode("page capture", &key, &value)?;
        let (surt, _) = record::split_page_key(&key)?;
        let text = snap.text(&key)?.unwrap_or_default();
        let blob = raw_blob(snap, capture.body_digest.as_deref(), capture.body_len)?;
        let page =
            PreparedPage { surt: surt.to_string(), key: key.to_vec(), encoded: value.to_vec(), capture, blob, text };
        let added = writer.put_prepared(page, "merge")?;
        tally(report, added, |r| &mut r.page_captures);
    }
    bar.finish_and_clear();
    Ok(())
}

fn copy_searches(snap: &Snapshot, writer: &mut SnapshotWriter, report: &mut MergeReport) -> Result<()> {
    for item in snap.store().iter(CF_SEARCH) {
        let (key, value) = item?;
        let capture: SearchCapture = record::decode("search capture", &key, &value)?;
        let blob = raw_blob(snap, capture.raw_digest.as_deref(), 0)?;
        let added = writer.put_search_raw(&key, &value, &capture, blob)?;
        tally(report, added, |r| &mut r.search_captures);
    }
    Ok(())
}

fn copy_http(snap: &Snapshot, writer: &mut SnapshotWriter, report: &mut MergeReport) -> Result<()> {
    for item in snap.store().iter(CF_HTTP) {
        let (key, value) = item?;
        let capture: HttpCapture = record::decode("http capture", &key, &value)?;
        let blob = raw_blob(snap, capture.body_digest.as_deref(), capture.body_len)?;
        let added = writer.put_http_raw(&key, &value, &capture, blob)?;
        tally(report, added, |r| &mut r.http_captures);
    }
    Ok(())
}

/// The still-compressed blob for `digest` (copied without recompressing).
fn raw_blob(snap: &Snapshot, digest: Option<&str>, raw_len: u64) -> Result<Option<(String, Vec<u8>, u64)>> {
    let Some(digest) = digest else { return Ok(None) };
    let key = super::store::digest_key(digest)?;
    let z = snap.store().get(CF_BLOBS, &key)?.ok_or_else(|| Error::Corrupt {
        what: format!("snapshot {}", snap.dir().display()),
        message: format!("blob {digest} is missing (run `webtape snapshot verify`)"),
    })?;
    let len = if raw_len > 0 { raw_len } else { super::store::decompress_blob(digest, &z)?.len() as u64 };
    Ok(Some((digest.to_string(), z, len)))
}

fn tally(report: &mut MergeReport, outcome: PutOutcome, field: impl Fn(&mut MergeReport) -> &mut u64) {
    match outcome {
        PutOutcome::Added => *field(report) += 1,
        PutOutcome::Duplicate => report.duplicates += 1,
    }
}
