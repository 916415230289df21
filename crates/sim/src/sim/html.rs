//! Page rendering: a page's content as [`Block`]s, a PRNG-chosen [`Layout`] (article / main / bare
//! divs / legacy table, infobox as table or list, optional cookie banner and sidebar), and
//! [`render`], which turns both into a [`SimPage`] with HTML, main-content plain text and links.
use std::fmt::Write as _;

use super::rng::Rng;
use super::SimPage;

/// A run of inline content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Link { href: String, text: String },
}

/// Inline content of one paragraph, list item or infobox value.
pub type Rich = Vec<Inline>;

/// Plain text as inline content.
pub fn t(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

/// A link as inline content.
pub fn a(href: &str, text: &str) -> Inline {
    Inline::Link { href: href.to_string(), text: text.to_string() }
}

/// One block of a page's main content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    Para(Rich),
    List(Vec<Rich>),
    /// Label / value rows, rendered as an infobox.
    Infobox(Vec<(String, Rich)>),
}

/// How a page is dressed; drawn once per page by [`Layout::choose`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    shell: u8,
    infobox: u8,
    site: &'static str,
    cookie_banner: bool,
    sidebar: bool,
    heading: &'static str,
    indent: &'static str,
}

const SITES: &[&str] = &["Wikinfo", "The Open Almanac", "Encyclopædia Lenta", "Gazetteer.sim", "Referenz"];
/// Pages every layout's navigation links to (they must exist in the world).
pub const NAV: &[(&str, &str)] = &[
    ("/", "Home"),
    ("/category/people", "People"),
    ("/category/places", "Places"),
    ("/category/organisations", "Organisations"),
    ("/category/works", "Works"),
];

impl Layout {
    pub fn choose(rng: &mut Rng) -> Layout {
        Layout {
            shell: rng.below(4) as u8,
            infobox: rng.below(3) as u8,
            site: rng.word(SITES),
            cookie_banner: rng.chance(0.4),
            sidebar: rng.chance(0.5),
            heading: if rng.chance(0.5) { "h2" } else { "h3" },
            indent: if rng.chance(0.5) { "  " } else { "" },
        }
    }
}

/// HTML-escapes `s` (text and attribute safe).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Collects links in order of first appearance.
struct Links(Vec<String>);

impl Links {
    fn add(&mut self, href: &str) {
        if !self.0.iter().any(|l| l == href) {
            self.0.push(href.to_string());
        }
    }
}

fn rich_html(r: &Rich, links: &mut Links) -> String {
    let mut s = String::new();
    for i in r {
        match i {
            Inline::Text(x) => s.push_str(&esc(x)),
            Inline::Link { href, text } => {
                links.add(href);
                let _ = write!(s, "<a href=\"{}\">{}</a>", esc(href), esc(text));
            }
        }
    }
    s
}

fn rich_text(r: &Rich) -> String {
    r.iter()
        .map(|i| match i {
            Inline::Text(x) => x.as_str(),
            Inline::Link { text, .. } => text.as_str(),
        })
        .collect()
}

fn infobox_html(rows: &[(String, Rich)], style: u8, ind: &str, links: &mut Links) -> String {
    let mut s = String::new();
    let (open, close) = match style {
        0 => ("<table class=\"infobox\">", "</table>"),
        1 => ("<dl class=\"facts\">", "</dl>"),
        _ => ("<ul class=\"key-facts\">", "</ul>"),
    };
    let _ = writeln!(s, "{ind}{open}");
    for (label, value) in rows {
        let v = rich_html(value, links);
        let l = esc(label);
        let _ = match style {
            0 => writeln!(s, "{ind}{ind}<tr><th scope=\"row\">{l}</th><td>{v}</td></tr>"),
            1 => writeln!(s, "{ind}{ind}<dt>{l}</dt><dd>{v}</dd>"),
            _ => writeln!(s, "{ind}{ind}<li><b>{l}:</b> {v}</li>"),
        };
    }
    let _ = writeln!(s, "{ind}{close}");
    s
}

/// The main content as (HTML, plain text).
fn main_content(title: &str, blocks: &[Block], lay: &Layout, links: &mut Links) -> (String, String) {
    let ind = lay.indent;
    let h = lay.heading;
    let mut html = format!("{ind}<h1>{}</h1>\n", esc(title));
    let mut text = vec![title.to_string()];
    for b in blocks {
        match b {
            Block::Heading(x) => {
                let _ = writeln!(html, "{ind}<{h}>{}</{h}>", esc(x));
                text.push(x.clone());
            }
            Block::Para(r) => {
                let _ = writeln!(html, "{ind}<p>{}</p>", rich_html(r, links));
                text.push(rich_text(r));
            }
            Block::List(items) => {
                let _ = writeln!(html, "{ind}<ul>");
                for it in items {
                    let _ = writeln!(html, "{ind}{ind}<li>{}</li>", rich_html(it, links));
                    text.push(rich_text(it));
                }
                let _ = writeln!(html, "{ind}</ul>");
            }
            Block::Infobox(rows) => {
                html.push_str(&infobox_html(rows, lay.infobox, ind, links));
                text.extend(rows.iter().map(|(l, v)| format!("{l}: {}", rich_text(v))));
            }
        }
    }
    (html, text.join("\n"))
}

fn header_html(lay: &Layout, links: &mut Links) -> String {
    let mut s = format!("<header class=\"site-header\"><a class=\"logo\" href=\"/\">{}</a>\n<nav><ul>", esc(lay.site));
    links.add("/");
    for (href, label) in NAV {
        links.add(href);
        let _ = write!(s, "<li><a href=\"{href}\">{label}</a></li>");
    }
    s.push_str("</ul></nav>\n<form class=\"search\" action=\"/search\"><input name=\"q\" placeholder=\"Search\"></form></header>\n");
    if lay.cookie_banner {
        s.push_str(
            "<div id=\"cookie-consent\" class=\"banner\" role=\"dialog\"><p>We use cookies to remember your \
            preferences and to count visits. By continuing to browse you accept our use of cookies.</p>\
            <button>Accept all</button> <button>Only necessary</button></div>\n",
        );
    }
    s
}

fn sidebar_html(links: &mut Links) -> String {
    links.add("/about");
    links.add("/category/people");
    "<aside class=\"sidebar\"><h4>Explore</h4><ul><li><a href=\"/category/people\">Browse people</a></li>\
     <li><a href=\"/about\">About this site</a></li></ul><p class=\"tip\">Tip: use the search box to find articles.</p></aside>\n"
        .to_string()
}

fn footer_html(lay: &Layout, links: &mut Links) -> String {
    links.add("/about");
    format!(
        "<footer><p>Content of {} is available under a free licence unless otherwise noted.</p>\
         <p><a href=\"/about\">About</a> · Privacy · Terms · Contact</p></footer>\n",
        esc(lay.site)
    )
}

/// Renders a page: boilerplate (excluded from `text`) around the main content.
pub fn render(path: &str, title: &str, blocks: &[Block], lay: &Layout) -> SimPage {
    let mut links = Links(Vec::new());
    let head = header_html(lay, &mut links);
    let (main, text) = main_content(title, blocks, lay, &mut links);
    let side = if lay.sidebar { sidebar_html(&mut links) } else { String::new() };
    let (open, close) = match lay.shell {
        0 => ("<article class=\"entry\">\n", "</article>\n"),
        1 => ("<main id=\"content\">\n", "</main>\n"),
        2 => ("<div class=\"page\"><div class=\"body\">\n", "</div></div>\n"),
        _ => ("<table class=\"layout\"><tr><td class=\"main\">\n", "</td></tr></table>\n"),
    };
    let foot = footer_html(lay, &mut links);
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} - {}</title>\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n</head>\n<body>\n{head}{open}{main}{close}{side}{foot}</body>\n</html>\n",
        esc(title),
        esc(lay.site)
    );
    SimPage { path: path.to_string(), title: title.to_string(), html, text, links: links.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_collects_links_once() {
        let blocks = vec![
            Block::Para(vec![t("A <b> & "), a("/wiki/x", "X"), t(" and "), a("/wiki/x", "X again")]),
            Block::Infobox(vec![("Born".into(), vec![t("1874")])]),
        ];
        let mut rng = Rng::new(1);
        let page = render("/wiki/y", "Y & Z", &blocks, &Layout::choose(&mut rng));
        assert!(page.html.contains("A &lt;b&gt; &amp; "));
        assert!(page.html.contains("<title>Y &amp; Z - "));
        assert!(page.html.contains("<meta charset=\"utf-8\">"));
        assert_eq!(page.links.iter().filter(|l| *l == "/wiki/x").count(), 1);
        assert!(page.text.contains("A <b> & X and X again"));
        assert!(page.text.contains("Born: 1874"));
        assert!(!page.text.contains("cookies"));
    }
}
