//! Page text extraction: decodes response bodies to UTF-8 and reduces HTML to the title and main text that
//! webtape indexes for search and shows to the agent.
use std::borrow::Cow;
use std::ops::Deref;

use encoding_rs::{Encoding, WINDOWS_1252};
use scraper::node::Element;
use scraper::{ElementRef, Html, Node};

/// Bytes of one body that are read; the rest is ignored, so a 50 MB page still finishes quickly.
pub const MAX_HTML_BYTES: usize = 8 << 20;
/// Extracted text is cut, unmarked and at a char boundary, after this many bytes.
pub const MAX_TEXT_BYTES: usize = 1_000_000;
/// Titles are cut after this many bytes (an unclosed `<title>` swallows the whole page).
const MAX_TITLE_BYTES: usize = 2048;
/// Tags nested deeper than this are removed before parsing, keeping their text (browsers cap DOM depth at 512
/// too): html5ever scans its stack of open elements for many start tags, quadratic on 100k-deep markup.
const MAX_DEPTH: usize = 512;
/// Line prefixes: headings by level, and list items indented by up to 8 levels (sliced from the end).
const HEADINGS: [&str; 6] = ["# ", "## ", "### ", "#### ", "##### ", "###### "];
const ITEM: &str = "                - ";

/// A node of scraper's tree (`ego_tree::NodeRef<Node>`, named through `ElementRef` so ego_tree is no dependency).
type NodeRef<'a> = <ElementRef<'a> as Deref>::Target;

/// Title and main text of a page, as indexed and shown to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extracted {
    pub title: String,
    pub text: String,
}

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

/// Main content of an HTML document as markdown-ish text.
pub fn extract_html(html: &str) -> Extracted {
    let html = &html[..floor_boundary(html, MAX_HTML_BYTES)];
    let doc = Html::parse_document(&flatten_deep(html));
    let mut scan = Scan::default();
    walk(doc.tree.root(), &mut scan);
    let title = scan.title.or(scan.og_title).or_else(|| scan.h1.map(|h1| collapse(&text_of(h1)))).unwrap_or_default();
    let root = match scan.best {
        Some((main, len)) if len > 0 => main,
        _ => scan.body.unwrap_or_else(|| doc.tree.root()),
    };
    let mut writer = Writer::default();
    walk(root, &mut writer);
    Extracted { title: truncate(title, MAX_TITLE_BYTES), text: writer.finish() }
}

/// Dispatch on content type: text/html or application/xhtml+xml (or an unknown type whose body starts with `<`
/// after whitespace) -> [`decode_body`] + [`extract_html`]; text/*, JSON and XML -> decoded text as is (title
/// empty); anything else (images, pdf, octet-stream) -> `Extracted::default()`.
pub fn extract_body(body: &[u8], content_type: Option<&str>) -> Extracted {
    let body = &body[..body.len().min(MAX_HTML_BYTES)];
    let essence = content_type.and_then(|ct| ct.split(';').next()).unwrap_or("").trim().to_ascii_lowercase();
    // An unknown type is sniffed: markup after an optional UTF-8 BOM and whitespace.
    let unknown = !essence.contains('/') || ["unknown/unknown", "application/unknown", "*/*"].contains(&&*essence);
    let is_html = ["text/html", "application/xhtml+xml"].contains(&&*essence)
        || unknown && body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body).trim_ascii_start().first() == Some(&b'<');
    let is_text = essence.starts_with("text/")
        || ["application/json", "application/xml"].contains(&essence.as_str())
        || essence.ends_with("+json")
        || essence.ends_with("+xml");
    if is_html {
        extract_html(&decode_body(body, content_type))
    } else if is_text {
        Extracted { title: String::new(), text: truncate(decode_body(body, content_type), MAX_TEXT_BYTES) }
    } else {
        Extracted::default()
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

/// The largest char boundary of `s` at or below `max`.
fn floor_boundary(s: &str, max: usize) -> usize {
    (0..=max.min(s.len())).rev().find(|&at| s.is_char_boundary(at)).unwrap_or(0)
}

fn truncate(mut s: String, max: usize) -> String {
    s.truncate(floor_boundary(&s, max));
    s
}

/// `s` with runs of ASCII whitespace collapsed to single spaces and trimmed.
fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

fn text_of(node: NodeRef<'_>) -> String {
    ElementRef::wrap(node).map(|el| el.text().collect()).unwrap_or_default()
}

/// Removes start and end tags nested deeper than [`MAX_DEPTH`] (by a cheap approximate count), keeping all text,
/// so that html5ever stays linear on pathological markup. Borrows when nothing is removed (every real page).
fn flatten_deep(html: &str) -> Cow<'_, str> {
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

/// Whether an element and everything in it is left out of the text: scripts, chrome, widgets and hidden parts.
fn is_dropped(el: &Element) -> bool {
    match el.name() {
        "script" | "style" | "noscript" | "template" | "svg" | "canvas" | "iframe" | "object" | "nav" | "header"
        | "footer" | "aside" | "form" | "button" | "select" | "head" | "textarea" => true,
        _ => el.attrs().any(|(name, value)| match name {
            // `data-nosnippet` marks text that search engines must not show in snippets (e.g. line numbers).
            "hidden" | "data-nosnippet" => true,
            "aria-hidden" => value.trim().eq_ignore_ascii_case("true"),
            "role" => value.split_ascii_whitespace().next().is_some_and(|role| {
                ["navigation", "banner", "contentinfo", "search"].iter().any(|r| role.eq_ignore_ascii_case(r))
            }),
            _ => false,
        }),
    }
}

/// A depth-first pass over a tree: `open` is told of each node and says whether to go into its children; `close`
/// is told when a node that was opened is left.
trait Visitor<'a> {
    fn open(&mut self, node: NodeRef<'a>) -> bool;
    fn close(&mut self, node: NodeRef<'a>);
}

/// Visits `root` and its descendants in document order, iteratively (100k-deep trees do not overflow the stack).
fn walk<'a>(root: NodeRef<'a>, visitor: &mut impl Visitor<'a>) {
    let mut node = root;
    'down: loop {
        if visitor.open(node) {
            if let Some(child) = node.first_child() {
                node = child;
                continue;
            }
            visitor.close(node);
        }
        while node.id() != root.id() {
            if let Some(next) = node.next_sibling() {
                node = next;
                continue 'down;
            }
            let Some(parent) = node.parent() else { return };
            node = parent;
            visitor.close(node);
        }
        return;
    }
}

/// The first pass: title candidates, `<body>`, and the main-content candidate with the most (non-dropped) text.
#[derive(Default)]
struct Scan<'a> {
    title: Option<String>,
    og_title: Option<String>,
    h1: Option<NodeRef<'a>>,
    body: Option<NodeRef<'a>>,
    /// How many dropped elements enclose the current node.
    dropped: usize,
    /// `<main>`, `<article>` and `role="main"` elements being visited, innermost last, with their text so far.
    open: Vec<(NodeRef<'a>, usize)>,
    best: Option<(NodeRef<'a>, usize)>,
}

impl<'a> Visitor<'a> for Scan<'a> {
    fn open(&mut self, node: NodeRef<'a>) -> bool {
        let el = match node.value() {
            Node::Element(el) => el,
            Node::Text(text) => {
                if let (0, Some(top)) = (self.dropped, self.open.last_mut()) {
                    top.1 += text.trim_ascii().len();
                }
                return false;
            }
            _ => return true,
        };
        let is_og_title = |attr| el.attr(attr).is_some_and(|v: &str| v.trim().eq_ignore_ascii_case("og:title"));
        match el.name() {
            "title" if self.title.is_none() && &*el.name.ns == "http://www.w3.org/1999/xhtml" => {
                self.title = Some(collapse(&text_of(node))).filter(|t| !t.is_empty());
            }
            "meta" if self.og_title.is_none() && (is_og_title("property") || is_og_title("name")) => {
                self.og_title = el.attr("content").map(collapse).filter(|t| !t.is_empty());
            }
            "h1" if self.h1.is_none() => self.h1 = Some(node),
            "body" if self.body.is_none() => self.body = Some(node),
            _ => {}
        }
        if self.dropped > 0 || is_dropped(el) {
            self.dropped += 1;
        } else if matches!(el.name(), "main" | "article")
            || el.attr("role").is_some_and(|r| r.trim().eq_ignore_ascii_case("main"))
        {
            self.open.push((node, 0));
        }
        true
    }

    fn close(&mut self, node: NodeRef<'a>) {
        if !node.value().is_element() {
            return;
        }
        if self.dropped > 0 {
            self.dropped -= 1;
        } else if self.open.last().is_some_and(|(top, _)| top.id() == node.id()) {
            let Some((main, len)) = self.open.pop() else { return };
            if let Some(parent) = self.open.last_mut() {
                parent.1 += len;
            }
            if self.best.is_none_or(|(_, best)| len > best) {
                self.best = Some((main, len));
            }
        }
    }
}

/// The second pass: renders the chosen subtree as markdown-ish text.
#[derive(Default)]
struct Writer {
    out: String,
    /// Line breaks owed before the next text: 0, 1, or 2 (a blank line).
    breaks: usize,
    space: bool,
    /// Owed at the start of the next line that gets text: `## ` or `- `.
    prefix: &'static str,
    /// Open `<pre>` elements; open headings and table cells (where breaks are spaces); open lists.
    pre: usize,
    inline: usize,
    lists: usize,
    /// Cells seen so far in each open table row.
    rows: Vec<usize>,
}

impl Writer {
    /// Asks for `n` line breaks before the next text: one at most inside lists, a space in headings and cells.
    fn line_break(&mut self, n: usize) {
        if self.inline > 0 {
            self.space = true;
        } else if self.pre == 0 && self.prefix.is_empty() {
            self.breaks = self.breaks.max(if self.lists > 0 { 1 } else { n });
        }
    }

    /// Writes what is owed (breaks or a space, then a prefix) and then `s`.
    fn write(&mut self, s: &str) {
        if self.breaks > 0 && !self.out.is_empty() {
            self.out.truncate(self.out.trim_end_matches(' ').len());
            let have = self.out.bytes().rev().take(2).take_while(|&b| b == b'\n').count();
            (have..self.breaks).for_each(|_| self.out.push('\n'));
        } else if self.space && !self.out.is_empty() && !self.out.ends_with([' ', '\n']) {
            self.out.push(' ');
        }
        self.out.push_str(self.prefix);
        self.out.push_str(s);
        (self.breaks, self.space, self.prefix) = (0, false, "");
    }

    fn text(&mut self, text: &str) {
        if self.pre > 0 {
            return self.write(text);
        }
        let text = match text.contains('\u{a0}') {
            true => Cow::Owned(text.replace('\u{a0}', " ")), // no-break spaces collapse like spaces
            false => Cow::Borrowed(text),
        };
        self.space |= text.starts_with(|c: char| c.is_ascii_whitespace());
        for (i, word) in text.split_ascii_whitespace().enumerate() {
            self.space |= i > 0;
            self.write(word);
        }
        self.space |= text.ends_with(|c: char| c.is_ascii_whitespace());
    }

    /// Updates the layout for an element being entered (`open`) or left.
    fn element(&mut self, name: &str, open: bool) {
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" if open => {
                self.line_break(2);
                if self.inline == 0 {
                    self.prefix = HEADINGS[usize::from(name.as_bytes()[1] - b'1')];
                }
                self.inline += 1;
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                (self.inline, self.prefix) = (self.inline.saturating_sub(1), "");
                self.line_break(2);
            }
            "ul" | "ol" | "menu" | "dir" => {
                self.lists = if open { self.lists } else { self.lists.saturating_sub(1) };
                self.line_break(2);
                self.lists += usize::from(open);
            }
            "li" => {
                self.prefix = "";
                self.line_break(1);
                if open {
                    self.prefix = &ITEM[ITEM.len() - 2 - 2 * (self.lists.max(1) - 1).min(8)..];
                }
            }
            "tr" => {
                self.line_break(1);
                if open {
                    self.rows.push(0)
                } else {
                    self.rows.pop();
                }
            }
            "td" | "th" if open => self.cell(),
            "td" | "th" => self.inline = self.inline.saturating_sub(1),
            "pre" | "listing" => self.preformatted(open),
            "br" if open && self.pre > 0 => self.out.push('\n'),
            "br" if open && self.inline > 0 => self.space = true,
            "br" if open => self.breaks = (self.breaks + 1).min(2),
            "dt" | "dd" => self.line_break(1),
            "p" | "div" | "section" | "article" | "main" | "blockquote" | "figure" | "figcaption" | "details"
            | "summary" | "dl" | "address" | "center" | "fieldset" | "legend" | "hgroup" | "table" | "caption"
            | "hr" | "body" | "html" | "dialog" | "search" => self.line_break(2),
            _ => {}
        }
    }

    /// Enters or leaves `<pre>`: its text goes verbatim between ``` fences (only the outermost one is fenced).
    fn preformatted(&mut self, open: bool) {
        if open && self.pre == 0 {
            self.line_break(2);
            self.write("```\n");
        }
        self.pre = if open { self.pre + 1 } else { self.pre.saturating_sub(1) };
        if !open && self.pre == 0 {
            self.out.truncate(self.out.trim_end().len());
            self.out.push_str("\n```");
            self.line_break(2);
        }
    }

    /// Starts a table cell: ` | ` between cells of a row.
    fn cell(&mut self) {
        let count = self.rows.last_mut().map_or(0, |count| {
            *count += 1;
            *count
        });
        if count > 1 {
            self.space = false;
            let line_start = self.out.is_empty() || self.out.ends_with('\n') || self.breaks > 0;
            self.write(if line_start { "| " } else { " | " });
        }
        self.inline += 1;
    }

    fn finish(self) -> String {
        let mut out = truncate(self.out, MAX_TEXT_BYTES);
        out.truncate(out.trim_end().len());
        out.drain(..out.len() - out.trim_start().len());
        out
    }
}

impl<'a> Visitor<'a> for Writer {
    fn open(&mut self, node: NodeRef<'a>) -> bool {
        match node.value() {
            _ if self.out.len() >= MAX_TEXT_BYTES => false,
            Node::Text(text) => {
                self.text(text);
                false
            }
            Node::Element(el) if is_dropped(el) => false,
            Node::Element(el) => {
                self.element(el.name(), true);
                true
            }
            Node::Document | Node::Fragment => true,
            _ => false,
        }
    }

    fn close(&mut self, node: NodeRef<'a>) {
        if let Node::Element(el) = node.value() {
            self.element(el.name(), false);
        }
    }
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
