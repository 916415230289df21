//! Tests for `extract`: titles, main-content choice, layout, charsets, dispatch, and pathological input.
use super::*;
use std::time::{Duration, Instant};

fn text(html: &str) -> String {
    extract_html(html).text
}

fn title(html: &str) -> String {
    extract_html(html).title
}

#[test]
fn title_prefers_title_element_then_og_title_then_h1() {
    let all = r#"<html><head><title>  The
        Title </title><meta property="og:title" content="OG"></head><body><h1>Heading</h1></body></html>"#;
    assert_eq!(title(all), "The Title");
    let og = r#"<head><meta property="og:title" content=" OG  Title "></head><body><h1>Heading</h1>"#;
    assert_eq!(title(og), "OG Title");
    assert_eq!(title(r#"<meta name="og:title" content="By name">"#), "By name");
    assert_eq!(title("<title> </title><body><p>x</p><h1>First <b>h1</b></h1><h1>Second</h1>"), "First h1");
    assert_eq!(title("<p>no title at all</p>"), "");
    // An <svg><title> is not the page title.
    assert_eq!(title("<body><svg><title>icon</title></svg><h1>Real</h1>"), "Real");
}

#[test]
fn unclosed_title_is_bounded() {
    let html = format!("<title>{}", "word ".repeat(100_000));
    assert!(title(&html).len() <= MAX_TITLE_BYTES);
}

#[test]
fn main_and_article_are_preferred_over_body() {
    let html = "<body><div>site chrome</div><main><p>The content.</p></main><div>more chrome</div></body>";
    assert_eq!(text(html), "The content.");
    let html = "<body><p>teaser</p><article><p>short</p></article><article><p>the longer article</p></article>";
    assert_eq!(text(html), "the longer article");
    let html = r#"<body><div>chrome</div><div role="main">Role main</div></body>"#;
    assert_eq!(text(html), "Role main");
    // main wrapping an article wins (it has at least as much text); an empty main falls back to the body.
    assert_eq!(text("<main>intro <article>body</article></main>"), "intro\n\nbody");
    assert_eq!(text("<body><p>all of it</p><main> </main></body>"), "all of it");
    // text in dropped parts does not count towards a candidate
    let html = "<article>short one</article><article><script>var x = 'very long script text';</script>x</article>";
    assert_eq!(text(html), "short one");
}

#[test]
fn chrome_scripts_and_hidden_parts_are_removed() {
    let html = r#"<html><head><style>p { color: red }</style><script>alert("x")</script></head><body>
        <header>Site header</header><nav><a href="/">Home</a></nav>
        <p>Kept <span hidden>hidden</span><span aria-hidden="true">aria</span> text.</p>
        <div role="navigation">role nav</div><div role="banner">banner</div><div role="search">search</div>
        <noscript>enable js</noscript>
        <form><input value="q"><button>Go</button></form><select><option>opt</option></select>
        <svg><text>svg text</text></svg><template><p>tpl</p></template><iframe>frame</iframe>
        <aside>Related</aside><footer role="contentinfo">Copyright</footer></body></html>"#;
    assert_eq!(text(html), "Kept text.");
}

#[test]
fn headings_paragraphs_and_line_breaks() {
    let html = "<h1>Top</h1><p>One\n   two</p><p>three<br>four</p><h3>Sub <em>part</em></h3><div>five</div>";
    assert_eq!(text(html), "# Top\n\nOne two\n\nthree\nfour\n\n### Sub part\n\nfive");
    assert_eq!(text("<div><div><p>a</p></div>\n\n<div><p>b</p></div></div>"), "a\n\nb");
    assert_eq!(text("<h2></h2><p>after empty heading</p>"), "after empty heading");
}

#[test]
fn lists_are_items_and_nest() {
    let html = "<p>Intro</p><ul><li>one</li><li><p>two</p></li><li>three<ul><li>inner</li></ul></li></ul><p>end";
    assert_eq!(text(html), "Intro\n\n- one\n- two\n- three\n  - inner\n\nend");
    assert_eq!(text("<ol><li>a<li>b</ol>"), "- a\n- b");
}

#[test]
fn tables_are_rows_of_cells() {
    let html = "<table><tr><th>Name</th><th>Value</th></tr><tr><td>a</td><td><p>1</p><p>2</p></td></tr>\
                <tr><td></td><td>x</td></tr></table><p>after</p>";
    assert_eq!(text(html), "Name | Value\na | 1 2\n| x\n\nafter");
}

#[test]
fn pre_is_kept_verbatim_in_a_fence() {
    let html = "<p>Example:</p><pre><code>fn main() {\n    println!(\"&lt;hi&gt;\");\n}\n</code></pre><p>done</p>";
    assert_eq!(text(html), "Example:\n\n```\nfn main() {\n    println!(\"<hi>\");\n}\n```\n\ndone");
    assert_eq!(text("<pre>a  b<br>c</pre>"), "```\na  b\nc\n```");
}

#[test]
fn entities_and_non_ascii_text() {
    let html =
        "<title>Caf&eacute; &amp; cr&egrave;me</title><p>日本語のテキスト &mdash; Ελληνικά &#x1F600; &lt;tag&gt;</p>";
    let got = extract_html(html);
    assert_eq!(got.title, "Café & crème");
    assert_eq!(got.text, "日本語のテキスト — Ελληνικά 😀 <tag>");
}

#[test]
fn broken_html_still_yields_text() {
    let html = "<html><body><div><p>unclosed <b>bold <i>both</b> italic?</p><li>stray item<table><td>cell";
    let got = text(html);
    for word in ["unclosed", "bold", "both", "italic?", "- stray item", "cell"] {
        assert!(got.contains(word), "{word:?} missing from {got:?}");
    }
    assert_eq!(text("</p></div><<>>&&;<p>ok"), "<<>>&&;\n\nok");
    assert_eq!(text("<p a=\"unterminated>text"), "");
}

fn assert_fast(started: Instant, what: &str) {
    // generous: debug builds are slow, but quadratic behaviour would take minutes
    assert!(started.elapsed() < Duration::from_secs(30), "{what} took {:?}", started.elapsed());
}

#[test]
fn deeply_nested_markup_neither_overflows_nor_goes_quadratic() {
    let started = Instant::now();
    let html = format!("{}deep text{}", "<div>".repeat(100_000), "</div>".repeat(100_000));
    assert_eq!(text(&html), "deep text");
    let html = format!("{}<p>after</p>", "<article><span>x ".repeat(50_000));
    assert!(text(&html).ends_with("x\n\nafter"));
    let html = "<ul><li>".repeat(50_000) + "leaf";
    assert!(text(&html).ends_with("- leaf"));
    let html = "<table><tr><td>".repeat(30_000) + "cell";
    assert!(text(&html).ends_with("cell"));
    // Stray end tags close nothing (html5ever ignores them), so they must not hide the nesting (found by fuzzing).
    let html = "<ul><li>ding</h1>".repeat(50_000);
    assert!(text(&html).ends_with("ding"));
    assert_fast(started, "nested markup");
}

#[test]
fn huge_page_is_capped() {
    let started = Instant::now();
    let paragraph = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit. Ünïcödé.</p>\n";
    let html = paragraph.repeat(50 * 1024 * 1024 / paragraph.len());
    assert!(html.len() > 49 << 20);
    let got = extract_body(html.as_bytes(), Some("text/html"));
    assert!(got.text.len() <= MAX_TEXT_BYTES && got.text.len() > MAX_TEXT_BYTES - 1000);
    assert!(got.text.starts_with("Lorem ipsum"));
    assert_fast(started, "50 MB page");
}

#[test]
fn empty_and_garbage_input() {
    assert_eq!(extract_html(""), Extracted::default());
    assert_eq!(extract_body(b"", Some("text/html")), Extracted::default());
    assert_eq!(extract_body(b"", None), Extracted::default());
    let mut state = 0x2545_f491_u32;
    let garbage: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    for ct in [Some("text/html"), Some("text/plain"), None, Some("image/png")] {
        let got = extract_body(&garbage, ct);
        assert!(got.text.len() <= MAX_TEXT_BYTES);
    }
    let got = extract_html(&String::from_utf8_lossy(&garbage));
    assert!(got.text.len() <= MAX_TEXT_BYTES);
}

#[test]
fn charset_from_header() {
    let body = b"caf\xe9 \x80";
    assert_eq!(decode_body(body, Some("text/html; charset=windows-1252")), "café €");
    assert_eq!(decode_body(body, Some("text/html;Charset=\"ISO-8859-1\"")), "café €");
    // the header wins over a <meta>
    let body = b"<meta charset=\"utf-8\">caf\xe9";
    assert_eq!(decode_body(body, Some("text/html; charset=latin1")), "<meta charset=\"utf-8\">café");
}

#[test]
fn charset_from_meta() {
    let mut sjis = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">".to_vec();
    sjis.extend_from_slice(b"</head><body>\x93\xfa\x96\x7b\x8c\xea</body>"); // 日本語
    assert!(decode_body(&sjis, None).ends_with("<body>日本語</body>"));
    assert!(decode_body(&sjis, Some("text/html")).contains("日本語"));
    let latin1 = b"<META CHARSET='iso-8859-1'><p>na\xefve</p>";
    assert_eq!(extract_body(latin1, Some("text/html")).text, "naïve");
    // a meta after the first 1024 bytes is not seen; then invalid UTF-8 means windows-1252 anyway
    let late = [" ".repeat(1100).as_bytes(), b"<meta charset=shift_jis>\x93\xfa"].concat();
    assert!(decode_body(&late, None).ends_with("\u{201c}ú"));
    // utf-16 in a <meta> is read as UTF-8
    assert_eq!(decode_body(b"<meta charset=utf-16>\xc3\xa9", None), "<meta charset=utf-16>é");
}

#[test]
fn charset_from_bom_and_fallbacks() {
    assert_eq!(decode_body(b"\xEF\xBB\xBFhello \xc3\xa9", None), "hello é");
    assert_eq!(decode_body(b"\xFF\xFEh\x00i\x00", None), "hi");
    assert_eq!(decode_body(b"\xFE\xFF\x00h\x00i", Some("text/html")), "hi");
    // a BOM wins over the header, as in browsers
    assert_eq!(decode_body(b"\xEF\xBB\xBF\xc3\xa9", Some("text/html; charset=iso-8859-1")), "é");
    // valid UTF-8, invalid UTF-8 (windows-1252), and UTF-8 cut inside a character
    assert_eq!(decode_body("naïve ✓".as_bytes(), None), "naïve ✓");
    assert_eq!(decode_body(b"na\xefve \x93q\x94", None), "naïve \u{201c}q\u{201d}");
    assert_eq!(decode_body(b"ok \xe2\x9c", None), "ok \u{fffd}");
    assert_eq!(decode_body(b"x", Some("text/html; charset=no-such-charset")), "x");
}

#[test]
fn extract_body_dispatches_on_content_type() {
    let html = b"<!doctype html><title>T</title><p>Hello</p>";
    let page = Extracted { title: "T".into(), text: "Hello".into(), lang: None };
    assert_eq!(extract_body(html, Some("text/html; charset=utf-8")), page);
    assert_eq!(extract_body(html, Some("application/xhtml+xml")), page);
    assert_eq!(extract_body(html, Some("TEXT/HTML")), page);
    assert_eq!(extract_body(b"  \n<html><p>Hello</p>", None).text, "Hello");
    assert_eq!(extract_body(b"\xEF\xBB\xBF<p>Hello</p>", Some("")).text, "Hello");
    assert_eq!(extract_body(b"<p>Hello</p>", Some("garbage")).text, "Hello");
    for ct in ["text/plain", "text/markdown; charset=utf-8", "application/json", "text/csv"] {
        let got = extract_body(b"<b>raw</b> \xc3\xa9", Some(ct));
        assert_eq!(got, Extracted { title: String::new(), text: "<b>raw</b> é".into(), lang: None }, "{ct}");
    }
    assert_eq!(extract_body(b"caf\xe9", Some("text/plain; charset=latin1")).text, "café");
    for ct in [Some("image/png"), Some("application/pdf"), Some("application/octet-stream"), None] {
        assert_eq!(extract_body(b"%PDF-1.4 binary", ct), Extracted::default(), "{ct:?}");
    }
    assert_eq!(extract_body(b"<html>but an image", Some("image/png")), Extracted::default());
}

#[test]
fn flatten_deep_keeps_shallow_documents_borrowed() {
    let html = "<div><script>if (a<b) {}</script><!-- <div> --><p>x</p></div>";
    assert!(matches!(flatten_deep(html), std::borrow::Cow::Borrowed(_)));
    let deep = "<div>".repeat(MAX_DEPTH + 10) + "x";
    let flat = flatten_deep(&deep);
    assert_eq!(flat.matches("<div>").count(), MAX_DEPTH);
    assert!(flat.ends_with('x'));
}

const PIECES: &[&str] = &[
    "<div>",
    "</div>",
    "<p>",
    "</p>",
    "<ul>",
    "</ul>",
    "<ol>",
    "<li>",
    "</li>",
    "<table>",
    "<tr>",
    "<td>",
    "<th>",
    "</table>",
    "<h2>",
    "</h2>",
    "<br>",
    "<main>",
    "</main>",
    "<article>",
    "<nav>",
    "</nav>",
    "<script>",
    "</script>",
    "<!--",
    "-->",
    "<b>",
    "</i>",
    "<span hidden>",
    "</span>",
    "<a href='x",
    "\"",
    ">",
    "<",
    "&amp;",
    "&#0;",
    "é",
    "日",
    " ",
    "\n",
    "\t",
    "word",
    "<title>",
    "</title>",
    "<meta charset=x>",
    "<svg>",
    "<math>",
    "<select>",
    "<xmp>",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    #[test]
    fn any_markup_gives_tidy_text(pieces in proptest::collection::vec(0..PIECES.len(), 0..200)) {
        let html: String = pieces.iter().map(|&i| PIECES[i]).collect();
        let got = extract_html(&html);
        proptest::prop_assert_eq!(got.text.trim(), got.text.as_str());
        proptest::prop_assert_eq!(got.title.trim(), got.title.as_str());
        proptest::prop_assert!(!got.text.contains("\n\n\n"), "{:?} -> {:?}", html, got.text);
        proptest::prop_assert!(!got.text.lines().any(|line| line.ends_with(' ')), "{:?} -> {:?}", html, got.text);
    }

    #[test]
    fn any_bytes_decode_and_extract(body in proptest::collection::vec(proptest::num::u8::ANY, 0..2000),
                                    ct in "[a-z/+;= -]{0,30}") {
        let decoded = decode_body(&body, Some(&ct));
        proptest::prop_assert!(body.is_empty() || !decoded.is_empty());
        let _ = extract_body(&body, Some(&ct));
        let _ = extract_body(&body, None);
    }
}

#[test]
fn the_declared_language_is_the_root_elements_primary_subtag() {
    let lang = |html: &str| extract_html(html).lang;
    assert_eq!(lang("<html lang=\"en\"><p>x</p>"), Some("en".into()));
    assert_eq!(lang("<html lang=\" pt-BR \"><p>x</p>"), Some("pt".into()));
    assert_eq!(lang("<html xml:lang=\"JA\"><p>x</p>"), Some("ja".into()));
    assert_eq!(lang("<html lang=\"zh_Hans\" xml:lang=\"fr\"><p>x</p>"), Some("zh".into()), "lang wins");
    for undeclared in [
        "<p>x</p>",
        "<html lang=\"\">",
        "<html lang=\"und\">",
        "<html lang=\"english please\">",
        "<html lang=\"x-klingon\">",
        "<html><body><div lang=\"de\">x</div>",
    ] {
        assert_eq!(lang(undeclared), None, "{undeclared}");
    }
}
