//! Reads WARC 1.0/1.1 files - plain, one gzip member per record, or one gzip stream for the whole file - record
//! by record, skipping malformed records (with a reason) and resynchronizing so good records are never lost.
//! The `warc` crate parses each header block; it cannot resume after a damaged record or gzip member, so the
//! framing and recovery are ours.
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// Records bigger than this are skipped (their bytes are read and dropped).
pub const MAX_RECORD_BYTES: u64 = 512 << 20;
const MAX_HEADER_BYTES: usize = 1 << 20;
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// One WARC record: its header fields (names as written) and its content block.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub struct RawRecord {
    /// `WARC/1.0` or `WARC/1.1` as written.
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub block: Vec<u8>,
    /// Offset of the record (or of its gzip member) in the file.
    pub offset: u64,
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
    if head.starts_with(&GZIP_MAGIC[..2]) {
        read_gzip_members(&mut raw, &mut on_item)
    } else {
        let mut stream = RecordStream::new(&mut raw, 0);
        while let Some(item) = stream.next_item() {
            let item = item.map_err(|e| Error::io(path, e))?;
            let pos = stream.offset;
            on_item(item, pos)?;
        }
        Ok(())
    }
}

fn read_gzip_members(
    raw: &mut BufReader<Counting<File>>,
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
        let mut stream = RecordStream::new(&mut decoder, member_offset);
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

/// Splits a decompressed byte stream into WARC records.
struct RecordStream<R> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    eof: bool,
    /// Stream offset of `buf[start]`.
    offset: u64,
}

impl<R: Read> RecordStream<R> {
    fn new(r: R, offset: u64) -> Self {
        RecordStream { r, buf: Vec::new(), start: 0, eof: false, offset }
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Makes at least `n` bytes available unless the stream ends first.
    fn fill(&mut self, n: usize) -> std::io::Result<()> {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        while !self.eof && self.buf.len() - self.start < n {
            let want = (n - (self.buf.len() - self.start)).max(256 << 10);
            let old = self.buf.len();
            self.buf.resize(old + want, 0);
            let got = loop {
                match self.r.read(&mut self.buf[old..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let got = got.inspect_err(|_| self.buf.truncate(old))?;
            self.buf.truncate(old + got);
            self.eof = got == 0;
        }
        Ok(())
    }

    fn advance(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn next_item(&mut self) -> Option<std::io::Result<WarcItem>> {
        self.read_item().transpose()
    }

    fn read_item(&mut self) -> std::io::Result<Option<WarcItem>> {
        loop {
            self.fill(2)?;
            let blank = self.avail().iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
            if blank == 0 {
                break;
            }
            self.advance(blank);
        }
        if self.avail().is_empty() {
            return Ok(None);
        }
        let offset = self.offset;
        self.fill(5)?;
        if !self.avail().starts_with(b"WARC/") {
            let skipped = self.resync()?;
            return Ok(Some(WarcItem::Skipped {
                offset,
                reason: format!("{skipped} bytes that are not a WARC record"),
            }));
        }
        let header_len = match self.find_header_end()? {
            Some(n) => n,
            None => {
                let skipped = self.resync()?;
                return Ok(Some(WarcItem::Skipped {
                    offset,
                    reason: format!("unterminated WARC header ({skipped} bytes skipped)"),
                }));
            }
        };
        let parsed = parse_header(&self.avail()[..header_len]);
        let (version, headers, length) = match parsed {
            Ok(p) => p,
            Err(reason) => {
                self.advance(5);
                self.resync()?;
                return Ok(Some(WarcItem::Skipped { offset, reason }));
            }
        };
        self.read_block(offset, version, headers, header_len, length)
    }
}

impl<R: Read> RecordStream<R> {
    /// Length of the header block including its blank line, or `None` when there is none within the limit.
    fn find_header_end(&mut self) -> std::io::Result<Option<usize>> {
        let mut searched: usize = 0;
        loop {
            let avail = self.avail();
            let from = searched.saturating_sub(3);
            let crlf = memchr::memmem::find(&avail[from..], b"\r\n\r\n").map(|i| from + i + 4);
            let lf = memchr::memmem::find(&avail[from..], b"\n\n").map(|i| from + i + 2);
            if let Some(end) = [crlf, lf].into_iter().flatten().min() {
                return Ok(Some(end));
            }
            searched = avail.len();
            if self.eof || searched >= MAX_HEADER_BYTES {
                return Ok(None);
            }
            self.fill(searched + (64 << 10))?;
        }
    }

    /// Skips to the next line that starts a WARC record; returns the bytes skipped.
    fn resync(&mut self) -> std::io::Result<u64> {
        let mut skipped = 0u64;
        loop {
            if let Some(i) = memchr::memmem::find(self.avail(), b"\nWARC/") {
                self.advance(i + 1);
                return Ok(skipped + i as u64 + 1);
            }
            let keep = 5.min(self.avail().len());
            let drop = self.avail().len() - keep;
            self.advance(drop);
            skipped += drop as u64;
            if self.eof {
                let rest = self.avail().len();
                self.advance(rest);
                return Ok(skipped + rest as u64);
            }
            self.fill(keep + (256 << 10))?;
        }
    }

    fn read_block(
        &mut self,
        offset: u64,
        version: String,
        headers: Vec<(String, String)>,
        header_len: usize,
        length: u64,
    ) -> std::io::Result<Option<WarcItem>> {
        if length > MAX_RECORD_BYTES {
            self.discard(header_len as u64 + length)?;
            let reason = format!("record of {length} bytes exceeds the {} MB limit", MAX_RECORD_BYTES >> 20);
            return Ok(Some(WarcItem::Skipped { offset, reason }));
        }
        let length = length as usize;
        self.fill(header_len + length + 4)?;
        let avail = self.avail().len();
        if avail < header_len + length {
            // Either the file ends early or Content-Length is wrong: records that follow are still read.
            self.advance(5);
            self.resync()?;
            let reason = format!(
                "truncated record: {} of {length} content bytes before the end or the next record",
                avail - header_len
            );
            return Ok(Some(WarcItem::Skipped { offset, reason }));
        }
        let trailer = &self.avail()[header_len + length..];
        if !(trailer.is_empty() || trailer.starts_with(b"\r\n") || trailer.starts_with(b"\n")) {
            self.advance(5);
            self.resync()?;
            return Ok(Some(WarcItem::Skipped {
                offset,
                reason: "Content-Length does not match the record's content".into(),
            }));
        }
        let block = self.avail()[header_len..header_len + length].to_vec();
        self.advance(header_len + length);
        Ok(Some(WarcItem::Record(RawRecord { version, headers, block, offset })))
    }

    fn discard(&mut self, mut n: u64) -> std::io::Result<()> {
        while n > 0 {
            self.fill(1)?;
            let take = (self.avail().len() as u64).min(n) as usize;
            if take == 0 {
                return Ok(());
            }
            self.advance(take);
            n -= take as u64;
        }
        Ok(())
    }
}

/// Parses a header block with the `warc` crate; the error names what is wrong.
/// WARC version, header fields and Content-Length.
type Header = (String, Vec<(String, String)>, u64);

fn parse_header(block: &[u8]) -> std::result::Result<Header, String> {
    let (_, (version, fields, _)) =
        warc::parser::headers(block).map_err(|_| "malformed WARC header block".to_string())?;
    let headers: Vec<(String, String)> =
        fields.into_iter().map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v).trim().to_string())).collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .ok_or_else(|| "WARC header has no Content-Length".to_string())?
        .1
        .parse::<u64>()
        .map_err(|_| "WARC Content-Length is not a number".to_string())?;
    Ok((version.to_string(), headers, length))
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
