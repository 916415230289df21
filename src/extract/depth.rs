//! Keeps pathological nesting from making html5ever quadratic: tags nested deeper than [`MAX_DEPTH`] are removed
//! before parsing, their text kept.
use std::borrow::Cow;

use super::MAX_DEPTH;

/// Removes start and end tags nested deeper than [`MAX_DEPTH`] (by a cheap approximate count), keeping all text,
/// so that html5ever stays linear on pathological markup. Borrows when nothing is removed (every real page).
pub(super) fn flatten_deep(html: &str) -> Cow<'_, str> {
    let (mut depth, mut pos, mut copied, mut out) = (0usize, 0, 0, String::new());
    while let Some(found) = html[pos..].find('<') {
        let lt = pos + found;
        let (next, delta) = scan_tag(html, lt);
        let level = if delta > 0 { depth + 1 } else { depth }; // the depth of this tag
        depth = depth.saturating_add_signed(delta);
        if delta != 0 && level > MAX_DEPTH {
            out.push_str(&html[copied..lt]);
            copied = next;
        }
        pos = next;
    }
    if copied == 0 {
        return Cow::Borrowed(html);
    }
    out.push_str(&html[copied..]);
    Cow::Owned(out)
}

/// Reads the markup at `html[lt] == '<'`: returns where scanning resumes (a char boundary) and +1 for a start tag
/// that nests, -1 for its end tag, 0 for anything else. Comments and raw text (scripts, styles) are skipped; void
/// elements and those html5ever closes implicitly (`p`, `li`, `td`, `a`, ...) do not nest.
fn scan_tag(html: &str, lt: usize) -> (usize, isize) {
    let bytes = html.as_bytes();
    if bytes[lt + 1..].starts_with(b"!--") {
        return (html[lt + 4..].find("-->").map_or(html.len(), |at| lt + 7 + at), 0);
    }
    let closing = bytes.get(lt + 1) == Some(&b'/');
    let name_at = lt + 1 + usize::from(closing);
    let name_len = bytes[name_at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'-').count();
    if name_len == 0 || !bytes[name_at].is_ascii_alphabetic() {
        return (lt + 1, 0);
    }
    let (mut buf, end) = ([0u8; 10], html[name_at..].find('>').map_or(html.len(), |at| name_at + at + 1));
    let Some(name) = buf.get_mut(..name_len) else { return (end, if closing { -1 } else { 1 }) }; // custom elements
    name.copy_from_slice(&bytes[name_at..name_at + name_len]);
    name.make_ascii_lowercase();
    match &*name {
        b"script" | b"style" | b"textarea" | b"title" | b"xmp" | b"iframe" | b"noembed" | b"noframes" | b"noscript"
        | b"plaintext" => (if closing { end } else { skip_raw(html, end, name) }, 0),
        b"area" | b"base" | b"br" | b"col" | b"embed" | b"hr" | b"img" | b"image" | b"input" | b"link" | b"meta"
        | b"param" | b"source" | b"track" | b"wbr" | b"keygen" | b"frame" | b"p" | b"li" | b"dt" | b"dd" | b"a"
        | b"option" | b"optgroup" | b"tr" | b"td" | b"th" | b"thead" | b"tbody" | b"tfoot" | b"caption"
        | b"colgroup" | b"rb" | b"rt" | b"rp" | b"rtc" | b"html" | b"head" | b"body" => (end, 0),
        _ if closing => (end, -1),
        _ => (end, if html[..end].ends_with("/>") { 0 } else { 1 }),
    }
}

/// The position of the `</name` that ends raw text starting at `from`, or the end of `html`.
fn skip_raw(html: &str, mut from: usize, name: &[u8]) -> usize {
    while let Some(at) = html[from..].find("</") {
        from += at + 2;
        if html.as_bytes()[from..].get(..name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name)) {
            return from - 2;
        }
    }
    html.len()
}
