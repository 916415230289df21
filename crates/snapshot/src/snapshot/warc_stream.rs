//! Splits a decompressed byte stream into WARC or ARC records. When a record's declared length is wrong but the
//! record is whole up to the next record (or to the end of its gzip member), it is kept with a warning; what
//! cannot be framed is skipped with a reason, and reading resumes at the next record.
use std::io::Read;

use super::arc;
use super::warc_read::{RawRecord, WarcItem, MAX_RECORD_BYTES};

const MAX_HEADER_BYTES: usize = 1 << 20;

/// Which record syntax the stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Warc,
    Arc,
}

/// A record stream over `R`.
pub struct RecordStream<R> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    eof: bool,
    /// Stream offset of `buf[start]`.
    pub offset: u64,
    syntax: Syntax,
    /// The stream is one gzip member: its end is a record boundary (the member's CRC vouches for its bytes).
    member: bool,
}

impl<R: Read> RecordStream<R> {
    pub fn new(r: R, offset: u64, syntax: Syntax, member: bool) -> Self {
        RecordStream { r, buf: Vec::new(), start: 0, eof: false, offset, syntax, member }
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

    pub fn next_item(&mut self) -> Option<std::io::Result<WarcItem>> {
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
        self.fill(16)?;
        let framed = match self.syntax {
            Syntax::Warc => self.warc_header()?,
            Syntax::Arc => self.arc_header()?,
        };
        match framed {
            Ok(head) => self.read_block(offset, head),
            Err(reason) => {
                let skipped = self.resync(1)?;
                Ok(Some(WarcItem::Skipped { offset, reason: reason.replace("{skipped}", &skipped.to_string()) }))
            }
        }
    }

    /// Frames a WARC header block: version, fields, its length with the blank line, and the declared length.
    fn warc_header(&mut self) -> std::io::Result<Result<Head, String>> {
        if !self.avail().starts_with(b"WARC/") {
            return Ok(Err("{skipped} bytes that are not a WARC record".into()));
        }
        let Some(header_len) = self.find_header_end()? else {
            return Ok(Err("unterminated WARC header ({skipped} bytes skipped)".into()));
        };
        Ok(parse_warc_header(&self.avail()[..header_len]).map(|(version, headers, length)| Head {
            version,
            headers,
            header_len,
            length,
            arc: None,
        }))
    }

    /// Frames an ARC header line.
    fn arc_header(&mut self) -> std::io::Result<Result<Head, String>> {
        if !arc::looks_like_arc(self.avail()) {
            return Ok(Err("{skipped} bytes that are not an ARC record".into()));
        }
        let Some(line_end) = self.find_line_end()? else {
            return Ok(Err("unterminated ARC header line ({skipped} bytes skipped)".into()));
        };
        Ok(arc::parse_header_line(&self.avail()[..line_end]).map(|h| Head {
            version: "ARC/1.0".into(),
            headers: Vec::new(),
            header_len: line_end + 1,
            length: h.length,
            arc: Some(h),
        }))
    }

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

    /// Index of the first `\n`, within the header limit.
    fn find_line_end(&mut self) -> std::io::Result<Option<usize>> {
        self.fill(MAX_HEADER_BYTES.min(64 << 10))?;
        Ok(memchr::memchr(b'\n', self.avail()))
    }
}

/// A framed record header.
struct Head {
    version: String,
    headers: Vec<(String, String)>,
    header_len: usize,
    length: u64,
    arc: Option<arc::ArcHeader>,
}

impl<R: Read> RecordStream<R> {
    /// Whether a record of this syntax starts at `bytes`.
    fn starts_record(&self, bytes: &[u8]) -> bool {
        match self.syntax {
            Syntax::Warc => bytes.starts_with(b"WARC/1."),
            Syntax::Arc => {
                let line = &bytes[..memchr::memchr(b'\n', bytes).unwrap_or(bytes.len())];
                arc::looks_like_arc(line) && arc::parse_header_line(line).is_ok()
            }
        }
    }

    /// Position (relative to `avail`) of the next record start at or after `from`, reading ahead as needed up to
    /// the record size limit; `None` when the stream ends first (or the limit is reached).
    fn next_record_start(&mut self, from: usize) -> std::io::Result<Option<usize>> {
        let mut at = from;
        loop {
            let avail = self.avail();
            // Only complete lines are checked: an ARC line must be whole to be parsed.
            let searchable = if self.eof { avail.len() } else { avail.len().saturating_sub(4096) };
            while let Some(i) = memchr::memchr(b'\n', &avail[at.min(searchable)..searchable]) {
                let pos = at + i + 1;
                if self.starts_record(&avail[pos..]) {
                    return Ok(Some(pos));
                }
                at = pos;
            }
            at = at.max(searchable);
            if self.eof || avail.len() as u64 > MAX_RECORD_BYTES + MAX_HEADER_BYTES as u64 {
                return Ok(None);
            }
            let want = avail.len() + (1 << 20);
            self.fill(want)?;
        }
    }

    /// Skips to the next record start (at least `min` bytes on); returns the bytes skipped.
    fn resync(&mut self, min: usize) -> std::io::Result<u64> {
        let min = min.min(self.avail().len());
        let skip = match self.next_record_start(min.saturating_sub(1))? {
            Some(pos) => pos,
            None => self.avail().len(),
        };
        self.advance(skip);
        Ok(skip as u64)
    }

    fn read_block(&mut self, offset: u64, head: Head) -> std::io::Result<Option<WarcItem>> {
        let Head { version, headers, header_len, length, arc } = head;
        if length > MAX_RECORD_BYTES {
            self.discard((header_len as u64).saturating_add(length))?;
            let reason = format!("record of {length} bytes exceeds the {} MB limit", MAX_RECORD_BYTES >> 20);
            return Ok(Some(WarcItem::Skipped { offset, reason }));
        }
        let end = header_len + length as usize;
        self.fill(end + 4)?;
        let avail = self.avail();
        let whole = avail.len() >= end && {
            let trailer = &avail[end..];
            trailer.is_empty() || trailer.starts_with(b"\r\n") || trailer.starts_with(b"\n")
        };
        let (block, warning) = if whole {
            (avail[header_len..end].to_vec(), None)
        } else {
            match self.recover(header_len, length)? {
                Ok(found) => found,
                Err(reason) => return Ok(Some(WarcItem::Skipped { offset, reason })),
            }
        };
        let consumed = if whole { end } else { header_len + block.len() };
        self.advance(consumed);
        let headers = match &arc {
            Some(h) => h.warc_headers(&block),
            None => headers,
        };
        Ok(Some(WarcItem::Record(RawRecord { version, headers, block, offset, warning })))
    }

    /// A record whose declared length does not match: its block is what lies before the next record (or the
    /// end of the gzip member); a plain file that ends early is a truncated record, skipped.
    fn recover(&mut self, header_len: usize, length: u64) -> std::io::Result<Recovered> {
        let next = self.next_record_start(header_len.saturating_sub(1))?;
        let block_end = match next {
            Some(pos) => pos,
            None if self.member || (self.avail().len() as u64) > header_len as u64 + length => self.avail().len(),
            None => {
                let got = self.avail().len() - header_len;
                self.advance(self.avail().len());
                return Ok(Err(format!(
                    "truncated record: {got} of {length} content bytes before the end of the file"
                )));
            }
        };
        let mut block = &self.avail()[header_len..block_end.max(header_len)];
        block = block.strip_suffix(b"\r\n\r\n").or_else(|| block.strip_suffix(b"\n\n")).unwrap_or(block);
        block = block.strip_suffix(b"\n").unwrap_or(block);
        let warning = format!("wrong length: {length} declared, {} before the next record", block.len());
        let block = block.to_vec();
        // The separator after the block is consumed as blank lines by the next read.
        Ok(Ok((block, Some(warning))))
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

/// A recovered block and its warning, or why the record was skipped.
type Recovered = Result<(Vec<u8>, Option<String>), String>;

/// WARC version, header fields and Content-Length.
type WarcHead = (String, Vec<(String, String)>, u64);

/// Parses a header block with the `warc` crate; the error names what is wrong.
fn parse_warc_header(block: &[u8]) -> Result<WarcHead, String> {
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
