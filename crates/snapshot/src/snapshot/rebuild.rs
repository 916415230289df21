//! Rebuilds the tantivy index from the `pages` and `text` column families: the index is derived data, the
//! database is the truth. Text records made before webtape kept a page's declared language get it from the
//! stored body when the index weighs languages (ranking v4), so a reindexed snapshot ranks as a new one.
use super::index::PageIndexWriter;
use super::record::{self, PageCapture, PageText};
use super::store::{Row, Store, CF_PAGES, CF_TEXT};
use crate::error::Result;
use crate::extract;
use crate::progress;

/// Replaces every index document with the latest capture of each URL; returns the number of documents.
pub fn reindex(store: &Store, writer: &PageIndexWriter) -> Result<u64> {
    writer.delete_all()?;
    let bar = progress::spinner("reindexing");
    let mut latest: Option<(String, Row)> = None;
    let mut docs = 0u64;
    for item in store.iter(CF_PAGES) {
        let (key, value) = item?;
        let (surt, _) = record::split_page_key(&key)?;
        if let Some((prev_surt, (prev_key, prev_value))) = latest.take() {
            if prev_surt != surt {
                index_one(store, writer, &prev_surt, &prev_key, &prev_value)?;
                docs += 1;
                bar.inc(1);
            }
        }
        latest = Some((surt.to_string(), (key, value)));
    }
    if let Some((surt, (key, value))) = latest {
        index_one(store, writer, &surt, &key, &value)?;
        docs += 1;
    }
    bar.finish_and_clear();
    Ok(docs)
}

fn index_one(store: &Store, writer: &PageIndexWriter, surt: &str, key: &[u8], value: &[u8]) -> Result<()> {
    let capture: PageCapture = record::decode("page capture", key, value)?;
    let mut text: PageText = match store.get(CF_TEXT, key)? {
        Some(bytes) => record::decode("page text", key, &bytes)?,
        None => PageText::default(),
    };
    if text.lang.is_none() && writer.keeps_classes() && capture.fetch_error.is_none() {
        if let Some(body) = capture.body_digest.as_deref().map(|d| store.get_blob(d)).transpose()?.flatten() {
            text.lang = extract::extract_body(&body, capture.content_type.as_deref()).lang;
        }
    }
    writer.upsert(surt, key, &capture.url, &text)
}
