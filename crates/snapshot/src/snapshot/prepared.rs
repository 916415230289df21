//! CPU-heavy preparation of a page capture before it is written: canonical key, body digest and compression,
//! text extraction. Pure functions, so importers run them in parallel (rayon) and write the results in order.
use super::canon;
use super::record::{self, PageCapture, PageText};
use super::store;
use crate::error::Result;
use crate::extract;

/// A page capture ready for [`super::SnapshotWriter::put_prepared`].
#[derive(Debug, Clone)]
pub struct PreparedPage {
    pub surt: String,
    pub key: Vec<u8>,
    pub capture: PageCapture,
    pub encoded: Vec<u8>,
    /// `(hex digest, zstd-compressed body, raw length)` when the capture has a body.
    pub blob: Option<(String, Vec<u8>, u64)>,
    pub text: PageText,
}

impl PreparedPage {
    /// Prepares `capture` with its `body`. Sets `body_digest`/`body_len` from the body; extracts text from it
    /// unless `text` is given (corpora that come as text already).
    pub fn new(mut capture: PageCapture, body: Option<&[u8]>, text: Option<PageText>) -> Result<PreparedPage> {
        let surt = canon::surt_key(&capture.url)?;
        let blob = body.map(|b| {
            let digest = blake3::hash(b).to_hex().to_string();
            (digest, store::compress_blob(b), b.len() as u64)
        });
        capture.body_digest = blob.as_ref().map(|(d, _, _)| d.clone());
        capture.body_len = blob.as_ref().map_or(0, |(_, _, n)| *n);
        let text = match (text, body) {
            (Some(t), _) => t,
            (None, Some(b)) if capture.fetch_error.is_none() => {
                let e = extract::extract_body(b, capture.content_type.as_deref());
                PageText { title: e.title, text: e.text, lang: e.lang }
            }
            _ => PageText::default(),
        };
        let encoded = record::encode(&capture);
        let key = record::page_key(&surt, &capture, &encoded)?;
        Ok(PreparedPage { surt, key, capture, encoded, blob, text })
    }
}

/// What happened to one capture handed to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// Written.
    Added,
    /// The identical capture was already in the snapshot; nothing written.
    Duplicate,
}
