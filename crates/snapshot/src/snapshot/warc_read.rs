//! Reads WARC 1.0/1.1 and legacy ARC v1 files - plain, one gzip member per record, or one gzip stream for the
//! whole file - record by record, skipping malformed records (with a reason) and resynchronizing so good records
//! are never lost. ARC is told from WARC by the file's first bytes. The `warc` crate parses each header block;
//! it cannot resume after a damaged record or gzip member, so the framing and recovery are ours.
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::arc;
use super::warc_stream::{RecordStream, Syntax};
use crate::error::{Error, Result};

/// Records bigger than this are skipped (their bytes are read and dropped).
pub const MAX_RECORD_BYTES: u64 = 512 << 20;
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// One WARC record (or an ARC record presented as the WARC record it stands for): its header fields (names as
/// written) and its content block.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub struct RawRecord {
    /// `WARC/1.0` or `WARC/1.1` as written, or `ARC/1.0`.
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub block: Vec<u8>,
    /// Offset of the record (or of its gzip member) in the file.
    pub offset: u64,
    /// Set when the record was kept although its declared length was wrong (what was wrong).
    pub warning: Option<String>,
}

impl RawRecord {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the reader hands out: a record, or a skipped stretch of the file and why.
#[derive(Debug)]
pub enum WarcItem {
    Record(RawRecord),
    Skipped { offset: u64, reason: String },
}

/// Reads every record of the WARC file at `path`, calling `on_item` for each record or skip, with the number of
/// file bytes consumed so far (for progress). Errors only when the file cannot be read at all.
pub fn read_warc_file(path: &Path, mut on_item: impl FnMut(WarcItem, u64) -> Result<()>) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut raw = BufReader::with_capacity(1 << 20, Counting { inner: file, count: 0 });
    let head = raw.fill_buf().map_err(|e| Error::io(path, e))?;
    if head.is_empty() {
        return Err(Error::bad_input(path.display().to_string(), "the file is empty"));
    }
    let syntax = detect(head);
    if head.starts_with(&GZIP_MAGIC[..2]) {
        read_gzip_members(&mut raw, syntax, &mut on_item)
    } else {
        let mut stream = RecordStream::new(&mut raw, 0, syntax, false);
        while let Some(item) = stream.next_item() {
            let item = item.map_err(|e| Error::io(path, e))?;
            let pos = stream.offset;
            on_item(item, pos)?;
        }
        Ok(())
    }
}

/// ARC when the file (or its first gzip member) starts with an ARC header line such as `filedesc://`.
fn detect(head: &[u8]) -> Syntax {
    let mut first = Vec::new();
    if head.starts_with(&GZIP_MAGIC[..2]) {
        let _ = flate2::bufread::GzDecoder::new(head).take(64).read_to_end(&mut first);
    } else {
        first.extend_from_slice(&head[..head.len().min(64)]);
    }
    if arc::looks_like_arc(&first) {
        Syntax::Arc
    } else {
        Syntax::Warc
    }
}

fn read_gzip_members(
    raw: &mut BufReader<Counting<File>>,
    syntax: Syntax,
    on_item: &mut impl FnMut(WarcItem, u64) -> Result<()>,
) -> Result<()> {
    loop {
        let member_offset = position(raw);
        let avail = match raw.fill_buf() {
            Ok([]) => return Ok(()),
            Ok(bytes) => bytes,
            Err(e) => {
                return on_item(
                    WarcItem::Skipped { offset: member_offset, reason: format!("read error: {e}") },
                    member_offset,
                )
            }
        };
        if !avail.starts_with(&GZIP_MAGIC) {
            let skipped = skip_to_gzip_magic(raw, 1);
            on_item(
                WarcItem::Skipped {
                    offset: member_offset,
                    reason: format!("{skipped} bytes of non-gzip data between members"),
                },
                position(raw),
            )?;
            continue;
        }
        let mut decoder = flate2::bufread::GzDecoder::new(&mut *raw);
        let mut stream = RecordStream::new(&mut decoder, member_offset, syntax, true);
        let mut failure = None;
        while let Some(item) = stream.next_item() {
            match item {
                Ok(WarcItem::Record(mut r)) => {
                    r.offset = member_offset;
                    on_item(WarcItem::Record(r), member_offset)?;
                }
                Ok(skip) => on_item(skip, member_offset)?,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(stream);
        if let Some(e) = failure {
            skip_to_gzip_magic(raw, 0);
            let reason = format!("damaged gzip member: {e}");
            on_item(WarcItem::Skipped { offset: member_offset, reason }, position(raw))?;
        }
    }
}

/// Consumes bytes until the next gzip magic (after skipping at least `min_skip` bytes); returns the count.
fn skip_to_gzip_magic(raw: &mut impl BufRead, min_skip: usize) -> u64 {
    let mut skipped = 0u64;
    let mut first = min_skip;
    loop {
        let (n, found) = {
            let buf = match raw.fill_buf() {
                Ok([]) | Err(_) => return skipped,
                Ok(b) => b,
            };
            let start = first.min(buf.len());
            first -= start;
            let found = memchr::memmem::find(&buf[start..], &GZIP_MAGIC).map(|i| i + start);
            // Keep the last two bytes when not found: the magic may straddle the buffer boundary; but always
            // make progress (a tail shorter than the magic is dropped).
            let keep_tail = if buf.len() > 2 { buf.len() - 2 } else { buf.len() };
            (found.unwrap_or(keep_tail).max(start), found.is_some())
        };
        raw.consume(n);
        skipped += n as u64;
        if found {
            return skipped;
        }
    }
}

/// A reader that counts the bytes it has produced.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn position<R>(raw: &BufReader<Counting<R>>) -> u64 {
    raw.get_ref().count - raw.buffer().len() as u64
}
