//! TEMPORARY placeholder, replaced by the real extractor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extracted { pub title: String, pub text: String }
pub fn decode_body(body: &[u8], _content_type: Option<&str>) -> String { String::from_utf8_lossy(body).into_owned() }
pub fn extract_html(html: &str) -> Extracted {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("title").unwrap();
    let title = doc.select(&sel).next().map(|t| t.text().collect::<String>()).unwrap_or_default();
    let text = doc.root_element().text().collect::<Vec<_>>().join(" ");
    Extracted { title, text }
}
pub fn extract_body(body: &[u8], content_type: Option<&str>) -> Extracted {
    extract_html(&decode_body(body, content_type))
}
