//! Response bodies to UTF-8: charset from the header, a BOM, or a `<meta>` tag; UTF-8 when valid, else windows-1252.
use encoding_rs::{Encoding, WINDOWS_1252};

/// Decode a response body to UTF-8: charset from the Content-Type header, else a BOM, else a `<meta charset>` /
/// `<meta http-equiv content-type>` in the first 1024 bytes, else UTF-8 if valid, else windows-1252. Never fails
/// (lossy). As in browsers, a BOM wins even over the header.
pub fn decode_body(body: &[u8], content_type: Option<&str>) -> String {
    let declared = content_type
        .and_then(header_charset)
        .or_else(|| Encoding::for_bom(body).map(|(encoding, _)| encoding))
        .or_else(|| meta_charset(&body[..body.len().min(1024)]));
    if let Some(encoding) = declared {
        return encoding.decode(body).0.into_owned(); // `decode` sniffs and strips a BOM first
    }
    match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        // Valid but cut short inside a character (e.g. by MAX_HTML_BYTES): still UTF-8.
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(body).into_owned(),
        Err(_) => WINDOWS_1252.decode_without_bom_handling(body).0.into_owned(),
    }
}

/// The encoding named by a `charset=` parameter of a Content-Type header.
fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        let label = value.trim().trim_matches(['"', '\'']);
        name.trim().eq_ignore_ascii_case("charset").then(|| Encoding::for_label(label.as_bytes()))?
    })
}

/// The encoding declared by the first `<meta>` tag in `head` that names a charset (UTF-16 read as UTF-8).
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut rest = &lower[..];
    while let Some(at) = find_bytes(rest, b"<meta") {
        rest = &rest[at + 5..];
        let mut attrs = &rest[..rest.iter().position(|&b| b == b'>').unwrap_or(rest.len())];
        while let Some(at) = find_bytes(attrs, b"charset") {
            attrs = &attrs[at + 7..];
            let Some(value) = attrs.trim_ascii_start().strip_prefix(b"=") else { continue };
            let value = value.trim_ascii_start();
            let value = value.strip_prefix(b"\"").or_else(|| value.strip_prefix(b"'")).unwrap_or(value);
            let end = value.iter().position(|b| b"\"'; \t\r\n\x0c/>".contains(b)).unwrap_or(value.len());
            if let Some(encoding) = Encoding::for_label(&value[..end]) {
                return Some(encoding.output_encoding());
            }
        }
    }
    None
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
