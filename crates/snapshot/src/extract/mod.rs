//! Page text extraction: decodes response bodies to UTF-8 and reduces HTML to the title and main text that
//! webtape indexes for search and shows to the agent.
use std::ops::Deref;

use scraper::node::Element;
use scraper::{ElementRef, Html, Node};

mod charset;
mod depth;
mod pdf;
mod writer;

pub use charset::decode_body;
use depth::flatten_deep;
use writer::Writer;

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

/// Title and main text of a page, as indexed and shown to the agent, and the language the page declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extracted {
    pub title: String,
    pub text: String,
    /// The primary language subtag of the root element's `lang` (or `xml:lang`) attribute, lowercase (`pt-BR`
    /// -> `pt`); None when the page declares none or an invalid one.
    pub lang: Option<String>,
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
    Extracted { title: truncate(title, MAX_TITLE_BYTES), text: writer.finish(), lang: scan.lang }
}

/// The primary subtag of a BCP 47 language tag, lowercase: 2-3 ASCII letters (`en`, `pt` of `pt-BR`, `yue`);
/// None for anything else (empty, `x-klingon`, `und`, a sentence).
pub fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?;
    let valid = (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    Some(primary.to_ascii_lowercase()).filter(|p| valid && p != "und")
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
    if pdf::is_pdf(body, &essence) {
        pdf::extract_pdf(body, MAX_TEXT_BYTES)
    } else if is_html {
        extract_html(&decode_body(body, content_type))
    } else if is_text {
        let text = truncate(decode_body(body, content_type), MAX_TEXT_BYTES);
        Extracted { title: String::new(), text, lang: None }
    } else {
        Extracted::default()
    }
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
    /// The declared language of the root `<html>` element.
    lang: Option<String>,
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
            "html" if self.lang.is_none() => {
                let tag = el.attr("lang").or_else(|| el.attrs().find(|(n, _)| *n == "xml:lang").map(|(_, v)| v));
                self.lang = tag.and_then(primary_language);
            }
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

#[cfg(test)]
mod tests;
