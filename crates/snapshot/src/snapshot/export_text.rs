//! Text export as a Search-R1 / FlashRAG JSONL corpus: one `{"id": url, "contents": "\"Title\"\ntext"}` line per
//! URL (its latest successful capture), in key order - the format their retrievers index, so a snapshot can feed
//! them (and the benchmarks' Python peers) directly.
use std::io::{BufWriter, Write};
use std::path::Path;

use super::record::{self, split_page_key, PageCapture};
use super::store::CF_PAGES;
use super::Snapshot;
use crate::error::{Error, Result};

/// Writes the corpus to `out`; returns the number of documents.
pub fn export_text(snapshot: &Snapshot, out: &Path) -> Result<u64> {
    let file = std::fs::File::create(out).map_err(|e| Error::io(out, e))?;
    let mut sink = BufWriter::new(file);
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut n = 0;
    let flush = |entry: Option<(String, Vec<u8>)>, sink: &mut BufWriter<std::fs::File>| -> Result<u64> {
        let Some((_, key)) = entry else { return Ok(0) };
        let text = snapshot.text(&key)?.unwrap_or_default();
        if text.text.is_empty() {
            return Ok(0);
        }
        let capture: PageCapture =
            record::decode("page capture", &key, &snapshot.store().get(CF_PAGES, &key)?.unwrap_or_default())?;
        let line = serde_json::json!({"id": capture.url, "contents": format!("\"{}\"\n{}", text.title, text.text)});
        writeln!(sink, "{line}").map_err(|e| Error::io(out, e))?;
        Ok(1)
    };
    for item in snapshot.store().iter(CF_PAGES) {
        let (key, value) = item?;
        let (surt, _) = split_page_key(&key)?;
        let capture: PageCapture = record::decode("page capture", &key, &value)?;
        let usable = capture.fetch_error.is_none() && capture.status.is_none_or(|s| (200..300).contains(&s));
        if pending.as_ref().is_some_and(|(s, _)| s != surt) {
            n += flush(pending.take(), &mut sink)?;
        }
        if usable {
            pending = Some((surt.to_string(), key.to_vec()));
        }
    }
    n += flush(pending.take(), &mut sink)?;
    sink.flush().map_err(|e| Error::io(out, e))?;
    Ok(n)
}
