//! HTTP/1.x response messages as stored in WARC `response` records: status, headers, and the payload with
//! transfer- and content-encodings undone. Lenient: a damaged encoding keeps the raw bytes and says so.
use std::io::Read;

/// Decoded payloads larger than this are cut (and marked truncated): a guard against compression bombs.
pub const MAX_DECODED_BYTES: u64 = 256 << 20;

/// Response headers kept in a page capture (everything else is dropped).
pub const KEPT_HEADERS: [&str; 6] =
    ["content-type", "content-language", "content-disposition", "last-modified", "etag", "location"];

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// All headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The payload, de-chunked and decompressed.
    pub body: Vec<u8>,
    pub truncated: bool,
    /// What could not be decoded, if anything.
    pub note: Option<String>,
}

impl HttpResponse {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The headers webtape keeps.
    pub fn kept_headers(&self) -> Vec<(String, String)> {
        self.headers.iter().filter(|(k, _)| KEPT_HEADERS.contains(&k.as_str())).cloned().collect()
    }
}

/// Parses an HTTP response message (status line, headers, payload).
pub fn parse_response(message: &[u8]) -> Result<HttpResponse, String> {
    let (status, headers, header_len) = parse_head(message)?;
    let mut response = HttpResponse { status, headers, body: Vec::new(), truncated: false, note: None };
    let mut body = message[header_len..].to_vec();
    let chunked = response.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        let (decoded, broken) = dechunk(&body);
        body = decoded;
        response.note = broken.map(|e| format!("broken chunked encoding: {e} (the rest of the body kept as sent)"));
    }
    let encoding = response.header("content-encoding").map(|v| v.trim().to_ascii_lowercase());
    if let Some(enc) = encoding.filter(|e| !e.is_empty() && e != "identity") {
        match decode_content(&enc, &body) {
            Ok((decoded, cut)) => {
                body = decoded;
                response.truncated = cut;
            }
            Err(e) => response.note = Some(format!("content-encoding {enc}: {e}")),
        }
    }
    response.body = body;
    Ok(response)
}

/// Parses only the status line and headers (revisit records carry no payload).
/// Status, headers (lowercase names) and the length of the head.
pub type Head = (u16, Vec<(String, String)>, usize);

/// Parses only the status line and headers.
pub fn parse_head(message: &[u8]) -> Result<Head, String> {
    let mut storage = vec![httparse::EMPTY_HEADER; 256];
    loop {
        let mut response = httparse::Response::new(&mut storage);
        match response.parse(message) {
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.ok_or("no status code")?;
                let headers = response
                    .headers
                    .iter()
                    .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).trim().to_string()))
                    .collect();
                return Ok((status, headers, len));
            }
            Ok(httparse::Status::Partial) => return Err("incomplete HTTP response header".into()),
            Err(httparse::Error::TooManyHeaders) if storage.len() < 8192 => {
                let n = storage.len() * 4;
                storage = vec![httparse::EMPTY_HEADER; n];
            }
            Err(e) => return Err(format!("bad HTTP response header: {e}")),
        }
    }
}

/// De-chunks a body the way warcio does: chunks up to a size line that cannot be read, then the rest of the
/// body as sent from that line on; a chunk cut short keeps what is there. The second value says what was broken.
fn dechunk(mut data: &[u8]) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::with_capacity(data.len());
    while !data.is_empty() {
        let line_end = memchr::memchr(b'\n', data);
        let line = line_end.map_or(data, |i| &data[..i]);
        let size_text = std::str::from_utf8(line).unwrap_or("").trim().split(';').next().unwrap_or("").trim();
        let Some(size) = usize::from_str_radix(size_text, 16).ok().filter(|_| line_end.is_some()) else {
            let shown = String::from_utf8_lossy(&line[..line.len().min(20)]).into_owned();
            out.extend_from_slice(data);
            return (out, Some(format!("bad chunk size {shown:?}")));
        };
        data = &data[line_end.map_or(data.len(), |i| i + 1)..];
        if size == 0 {
            return (out, None);
        }
        if data.len() < size {
            out.extend_from_slice(data);
            return (out, Some(format!("chunk of {size} bytes but only {} left", data.len())));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size..];
        data = data.strip_prefix(b"\r\n").or_else(|| data.strip_prefix(b"\n")).unwrap_or(data);
    }
    (out, None)
}

fn decode_content(encoding: &str, body: &[u8]) -> Result<(Vec<u8>, bool), String> {
    let reader: Box<dyn Read + '_> = match encoding {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(body)),
        "deflate" if body.first().is_some_and(|b| b & 0x0f == 8) => Box::new(flate2::read::ZlibDecoder::new(body)),
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(body)),
        other => return Err(format!("{other} is not supported; the payload is kept encoded")),
    };
    let mut out = Vec::new();
    reader.take(MAX_DECODED_BYTES + 1).read_to_end(&mut out).map_err(|e| e.to_string())?;
    let cut = out.len() as u64 > MAX_DECODED_BYTES;
    out.truncate(MAX_DECODED_BYTES as usize);
    Ok((out, cut))
}

/// The standard reason phrase of a status code (for writing status lines).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
