//! Keeps pathological nesting from making html5ever quadratic: tags nested deeper than [`MAX_DEPTH`] are removed
//! before parsing, their text kept.
use std::borrow::Cow;

use super::MAX_DEPTH;

/// What the markup at a `<` is.
enum Tag {
    /// A start tag that nests (its name at `html[at..at + len]`).
    Open(usize, usize),
    /// An end tag (its name at `html[at..at + len]`).
    Close(usize, usize),
    /// Anything else: void and implicitly closed elements, comments, raw text, a lone `<`.
    Other,
}

/// Removes start tags nested deeper than [`MAX_DEPTH`] (by a cheap approximate model of html5ever's stack of open
/// elements), keeping all text, so that html5ever stays linear on pathological markup. An end tag closes the
/// innermost open element of its name and those inside it; a stray end tag (`</h1>` with no open `h1`) closes
/// nothing, as in html5ever, so it cannot make deep nesting look shallow. Borrows when nothing is removed (every
/// real page).
pub(super) fn flatten_deep(html: &str) -> Cow<'_, str> {
    let (mut open, mut pos, mut copied, mut out): (Vec<(usize, usize)>, _, _, _) = (Vec::new(), 0, 0, String::new());
    while let Some(found) = html[pos..].find('<') {
        let lt = pos + found;
        let (next, tag) = scan_tag(html, lt);
        match tag {
            Tag::Open(..) if open.len() >= MAX_DEPTH => {
                out.push_str(&html[copied..lt]);
                copied = next;
            }
            Tag::Open(at, len) => open.push((at, len)),
            Tag::Close(at, len) => {
                let name = &html.as_bytes()[at..at + len];
                let same = |&(a, l): &(usize, usize)| html.as_bytes()[a..a + l].eq_ignore_ascii_case(name);
                if let Some(i) = open.iter().rposition(same) {
                    open.truncate(i);
                }
            }
            Tag::Other => {}
        }
        pos = next;
    }
    if copied == 0 {
        return Cow::Borrowed(html);
    }
    out.push_str(&html[copied..]);
    Cow::Owned(out)
}

/// Reads the markup at `html[lt] == '<'`: returns where scanning resumes (a char boundary) and what it is. Comments and raw text (scripts, styles) are skipped; void
/// elements and those html5ever closes implicitly (`p`, `li`, `td`, `a`, ...) do not nest.
fn scan_tag(html: &str, lt: usize) -> (usize, Tag) {
    let bytes = html.as_bytes();
    if bytes[lt + 1..].starts_with(b"!--") {
        return (html[lt + 4..].find("-->").map_or(html.len(), |at| lt + 7 + at), Tag::Other);
    }
    let closing = bytes.get(lt + 1) == Some(&b'/');
    let name_at = lt + 1 + usize::from(closing);
    let name_len = bytes[name_at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'-').count();
    if name_len == 0 || !bytes[name_at].is_ascii_alphabetic() {
        return (lt + 1, Tag::Other);
    }
    let (mut buf, end) = ([0u8; 10], html[name_at..].find('>').map_or(html.len(), |at| name_at + at + 1));
    let named = if closing { Tag::Close(name_at, name_len) } else { Tag::Open(name_at, name_len) };
    let Some(name) = buf.get_mut(..name_len) else { return (end, named) }; // custom elements
    name.copy_from_slice(&bytes[name_at..name_at + name_len]);
    name.make_ascii_lowercase();
    match &*name {
        b"script" | b"style" | b"textarea" | b"title" | b"xmp" | b"iframe" | b"noembed" | b"noframes" | b"noscript"
        | b"plaintext" => (if closing { end } else { skip_raw(html, end, name) }, Tag::Other),
        b"area" | b"base" | b"br" | b"col" | b"embed" | b"hr" | b"img" | b"image" | b"input" | b"link" | b"meta"
        | b"param" | b"source" | b"track" | b"wbr" | b"keygen" | b"frame" | b"p" | b"li" | b"dt" | b"dd" | b"a"
        | b"option" | b"optgroup" | b"tr" | b"td" | b"th" | b"thead" | b"tbody" | b"tfoot" | b"caption"
        | b"colgroup" | b"rb" | b"rt" | b"rp" | b"rtc" | b"html" | b"head" | b"body" => (end, Tag::Other),
        _ if closing || !html[..end].ends_with("/>") => (end, named),
        _ => (end, Tag::Other),
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
