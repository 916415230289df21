//! `snapshot export-warc`: every page capture as a WARC 1.1 record (one gzip member per record when the name
//! ends in `.gz`) plus a sorted CDXJ index beside it. Headers are written in a fixed order and record ids are
//! derived from capture keys, so exporting the same snapshot twice gives identical bytes. (The `warc` crate's
//! writer emits headers in hash-map order and one gzip stream per file, which other tools reject; we write the
//! records ourselves.)
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use super::handle::Snapshot;
use super::http;
use super::record::{self, PageCapture};
use super::store::CF_PAGES;
use super::warc_import::CAPTURE_JSON_TYPE;
use crate::error::{Error, Result};
use crate::progress;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub warc: PathBuf,
    pub cdxj: PathBuf,
    pub records: u64,
    pub bytes: u64,
}

/// Exports every page capture of `snapshot` to `out` (and `<stem>.cdxj`).
pub fn export_warc(snapshot: &Snapshot, out: &Path) -> Result<ExportReport> {
    let gzip = out.extension().is_some_and(|e| e == "gz");
    let cdxj_path = cdxj_path(out);
    let tmp = out.with_extension("partial");
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut sink = RecordSink { out: BufWriter::new(file), gzip, offset: 0, path: tmp.clone() };
    let mut cdxj = Vec::new();
    let filename = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    sink.write_record(&warcinfo_record(snapshot, &filename))?;
    let bar = progress::bar(snapshot.manifest().counts.page_captures, "exporting");
    let mut records = 1u64;
    for item in snapshot.store().iter(CF_PAGES) {
        let (key, value) = item?;
        let capture: PageCapture = record::decode("page capture", &key, &value)?;
        let body = snapshot.body(&capture)?;
        let (header, block, is_page) = capture_record(&key, &capture, body.as_deref());
        let offset = sink.offset;
        let length = sink.write_record(&(header, block))?;
        records += 1;
        bar.inc(1);
        if is_page {
            cdxj.push(cdxj_line(&key, &capture, body.as_deref().unwrap_or(&[]), offset, length, &filename)?);
        }
    }
    bar.finish_and_clear();
    let bytes = sink.offset;
    sink.out.into_inner().map_err(|e| Error::io(&tmp, e.into_error()))?.sync_all().map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    cdxj.sort();
    std::fs::write(&cdxj_path, cdxj.concat()).map_err(|e| Error::io(&cdxj_path, e))?;
    Ok(ExportReport { warc: out.to_path_buf(), cdxj: cdxj_path, records, bytes })
}

/// `out.warc.gz` → `out.cdxj`.
pub fn cdxj_path(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.trim_end_matches(".gz").trim_end_matches(".warc");
    out.with_file_name(format!("{stem}.cdxj"))
}

struct RecordSink {
    out: BufWriter<File>,
    gzip: bool,
    offset: u64,
    path: PathBuf,
}

impl RecordSink {
    /// Writes one record; returns its length on disk.
    fn write_record(&mut self, (header, block): &(Vec<(String, String)>, Vec<u8>)) -> Result<u64> {
        let mut raw = Vec::with_capacity(block.len() + 512);
        raw.extend_from_slice(b"WARC/1.1\r\n");
        for (k, v) in header {
            raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", block.len()).as_bytes());
        raw.extend_from_slice(block);
        raw.extend_from_slice(b"\r\n\r\n");
        let bytes = if self.gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            enc.write_all(&raw).and_then(|_| enc.finish()).map_err(|e| Error::io(&self.path, e))?
        } else {
            raw
        };
        self.out.write_all(&bytes).map_err(|e| Error::io(&self.path, e))?;
        self.offset += bytes.len() as u64;
        Ok(bytes.len() as u64)
    }
}

fn warcinfo_record(snapshot: &Snapshot, filename: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let m = snapshot.manifest();
    let block = format!(
        "software: webtape/{}\r\nformat: WARC File Format 1.1\r\nsnapshot: {}\r\ncontent-digest: {}\r\n",
        env!("CARGO_PKG_VERSION"),
        m.name,
        m.content_digest
    )
    .into_bytes();
    let header = vec![
        ("WARC-Type".into(), "warcinfo".into()),
        ("WARC-Record-ID".into(), record_id(m.content_digest.as_bytes())),
        ("WARC-Date".into(), m.updated_at.clone()),
        ("WARC-Filename".into(), filename.into()),
        ("Content-Type".into(), "application/warc-fields".into()),
    ];
    (header, block)
}

/// The WARC header and block for one capture; `true` when it is a page (response/resource) for the CDXJ.
fn capture_record(key: &[u8], c: &PageCapture, body: Option<&[u8]>) -> (Vec<(String, String)>, Vec<u8>, bool) {
    let mut header = vec![
        ("WARC-Type".to_string(), String::new()),
        ("WARC-Record-ID".to_string(), record_id(key)),
        ("WARC-Date".to_string(), c.captured_at.clone()),
        ("WARC-Target-URI".to_string(), c.url.clone()),
    ];
    let (kind, content_type, block) = match (body, c.status, &c.fetch_error) {
        (Some(body), Some(status), None) => {
            ("response", "application/http;msgtype=response".to_string(), http_message(c, status, body))
        }
        (Some(body), None, None) => {
            ("resource", c.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()), body.to_vec())
        }
        _ => ("metadata", CAPTURE_JSON_TYPE.to_string(), record::encode(c)),
    };
    header[0].1 = kind.into();
    header.push(("Content-Type".into(), content_type));
    if kind != "metadata" {
        header.push(("WARC-Payload-Digest".into(), sha1_label(body.unwrap_or(&[]))));
        header.push(("WARC-Block-Digest".into(), sha1_label(&block)));
    }
    if c.truncated {
        header.push(("WARC-Truncated".into(), "length".into()));
    }
    (header, block, kind != "metadata")
}

fn http_message(c: &PageCapture, status: u16, body: &[u8]) -> Vec<u8> {
    let mut msg = format!("HTTP/1.1 {status} {}\r\n", http::reason_phrase(status)).into_bytes();
    for (k, v) in &c.headers {
        msg.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    msg.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    msg.extend_from_slice(body);
    msg
}

fn cdxj_line(key: &[u8], c: &PageCapture, body: &[u8], offset: u64, length: u64, filename: &str) -> Result<Vec<u8>> {
    let (surt, ts) = record::split_page_key(key)?;
    let mut fields = serde_json::Map::new();
    fields.insert("url".into(), c.url.clone().into());
    if let Some(t) = &c.content_type {
        fields.insert("mime".into(), t.split(';').next().unwrap_or("").trim().into());
    }
    if let Some(s) = c.status {
        fields.insert("status".into(), s.to_string().into());
    }
    fields.insert("digest".into(), sha1_label(body).into());
    fields.insert("length".into(), length.to_string().into());
    fields.insert("offset".into(), offset.to_string().into());
    fields.insert("filename".into(), filename.into());
    Ok(format!("{surt} {ts} {}\n", serde_json::Value::Object(fields)).into_bytes())
}

/// `sha1:<base32>` as WARC tools write digests.
fn sha1_label(bytes: &[u8]) -> String {
    format!("sha1:{}", base32(&Sha1::digest(bytes)))
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((acc >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A stable `urn:uuid:` derived from `seed`.
fn record_id(seed: &[u8]) -> String {
    let h = blake3::hash(seed);
    let b = h.as_bytes();
    format!(
        "<urn:uuid:{}-{}-8{}-{}-{}>",
        hex::encode(&b[0..4]),
        hex::encode(&b[4..6]),
        &hex::encode(&b[6..8])[1..],
        hex::encode(&b[8..10]),
        hex::encode(&b[10..16])
    )
}
