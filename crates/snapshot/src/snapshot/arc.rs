//! Legacy ARC v1 records (the Internet Archive's format before WARC): the header line
//! `URL IP-address Archive-date Content-type Archive-length`, its `filedesc://` file header, and how an ARC
//! record is presented to the importer as the WARC record it corresponds to.

/// A parsed ARC v1 header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcHeader {
    pub url: String,
    pub ip: String,
    /// `YYYYMMDDhhmmss` (shorter dates are padded with zeros).
    pub date: String,
    pub content_type: String,
    pub length: u64,
}

/// URL schemes an ARC record line can start with (`filedesc` is the file header).
const SCHEMES: [&str; 5] = ["filedesc://", "http://", "https://", "dns:", "ftp://"];

/// Whether `bytes` begin with what an ARC record line starts with.
pub fn looks_like_arc(bytes: &[u8]) -> bool {
    SCHEMES.iter().any(|s| bytes.len() >= s.len() && bytes[..s.len()].eq_ignore_ascii_case(s.as_bytes()))
}

/// Parses one header line (without its newline). URLs with spaces are joined back together, as warcio does.
pub fn parse_header_line(line: &[u8]) -> Result<ArcHeader, String> {
    if !looks_like_arc(line) {
        return Err("not an ARC record line".into());
    }
    let text = std::str::from_utf8(line).map_err(|_| "ARC header line is not UTF-8".to_string())?;
    let mut parts: Vec<&str> = text.trim_end().rsplitn(5, ' ').collect();
    parts.reverse();
    if parts.len() < 5 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!("ARC header line {:?} does not have the 5 fields of ARC v1", truncate(text)));
    }
    let n = parts.len();
    let length = parts[n - 1].parse::<u64>().map_err(|_| format!("ARC length {:?} is not a number", parts[n - 1]))?;
    let date = parts[n - 3];
    if date.len() < 4 || date.len() > 14 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("ARC date {date:?} is not YYYYMMDDhhmmss"));
    }
    Ok(ArcHeader {
        url: parts[0].trim().to_string(),
        ip: parts[n - 4].to_string(),
        date: format!("{date:0<14}"),
        content_type: parts[n - 2].to_string(),
        length,
    })
}

fn truncate(text: &str) -> &str {
    text.char_indices().nth(80).map_or(text, |(i, _)| &text[..i])
}

impl ArcHeader {
    /// The WARC header fields this record stands for: a `warcinfo` for the file header, a `response` when the
    /// block is an HTTP response, a `resource` otherwise.
    pub fn warc_headers(&self, block: &[u8]) -> Vec<(String, String)> {
        let is_http = block.starts_with(b"HTTP/");
        let kind = if self.url.to_ascii_lowercase().starts_with("filedesc://") {
            "warcinfo"
        } else if is_http {
            "response"
        } else {
            "resource"
        };
        let d = &self.date;
        let date = format!("{}-{}-{}T{}:{}:{}Z", &d[0..4], &d[4..6], &d[6..8], &d[8..10], &d[10..12], &d[12..14]);
        let content_type =
            if is_http { "application/http;msgtype=response".to_string() } else { self.content_type.clone() };
        vec![
            ("WARC-Type".into(), kind.into()),
            ("WARC-Target-URI".into(), self.url.clone()),
            ("WARC-Date".into(), date),
            ("WARC-IP-Address".into(), self.ip.clone()),
            ("Content-Type".into(), content_type),
            ("Content-Length".into(), block.len().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_lines() {
        let h =
            parse_header_line(b"http://www.example.com:80/a b.html 127.0.0.1 19961104142103 text/html 202").unwrap();
        assert_eq!(h.url, "http://www.example.com:80/a b.html");
        assert_eq!((h.date.as_str(), h.length), ("19961104142103", 202));
        assert_eq!(parse_header_line(b"filedesc://x.arc 0.0.0.0 1996 text/plain 76").unwrap().date, "19960000000000");
        assert!(parse_header_line(b"http://x 1.2.3.4 19960101 text/html").is_err());
        assert!(parse_header_line(b"http://x 1.2.3.4 1996x101 text/html 5").is_err());
        assert!(parse_header_line(b"WARC/1.0").is_err());
    }
}
