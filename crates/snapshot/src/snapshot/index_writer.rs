//! [`PageIndexWriter`]: adds, replaces and removes documents of a [`PageIndex`] (one per URL), commits with a
//! payload, merges segments. Documents carry the fields of the index's schema (the URL path from ranking v2, the
//! fingerprint from v3, the page classes from v4).
use std::path::PathBuf;

use tantivy::{TantivyDocument, Term};

use super::index::{index_error, Fields, PageIndex};
use super::record::PageText;
use super::{analyzer, page_class, simhash};
use crate::error::Result;

/// Adds and replaces documents; changes become visible at [`PageIndexWriter::commit`].
pub struct PageIndexWriter {
    pub(super) writer: tantivy::IndexWriter,
    pub(super) fields: Fields,
    pub(super) path: PathBuf,
}

impl PageIndexWriter {
    /// Makes `key` the document for `surt`, replacing any earlier one.
    pub fn upsert(&self, surt: &str, key: &[u8], url: &str, text: &PageText) -> Result<()> {
        let (f, title, body) = (self.fields, text.title.as_str(), text.text.as_str());
        self.writer.delete_term(Term::from_field_text(f.surt, surt));
        let mut doc = TantivyDocument::default();
        doc.add_text(f.surt, surt);
        doc.add_bytes(f.key, key);
        doc.add_text(f.url, url);
        doc.add_text(f.title, title);
        doc.add_text(f.body, body);
        if let Some(path) = f.path {
            doc.add_text(path, analyzer::url_path(url));
        }
        if let Some(fingerprint) = f.fingerprint {
            doc.add_u64(fingerprint, simhash::fingerprint(body));
        }
        if let Some((lang, preformatted)) = f.classes {
            doc.add_u64(lang, page_class::lang_code(text.lang.as_deref()));
            doc.add_u64(preformatted, page_class::preformatted_permille(body));
        }
        self.writer.add_document(doc).map_err(|e| index_error(&self.path, e))?;
        Ok(())
    }

    /// Whether documents carry page classes (ranking v4), so the caller should know each page's language.
    pub fn keeps_classes(&self) -> bool {
        self.fields.classes.is_some()
    }

    /// Removes every document (before a rebuild).
    pub fn delete_all(&self) -> Result<()> {
        self.writer.delete_all_documents().map_err(|e| index_error(&self.path, e))?;
        Ok(())
    }

    /// Commits, storing `payload` with the commit.
    pub fn commit(&mut self, payload: &str) -> Result<()> {
        let mut prepared = self.writer.prepare_commit().map_err(|e| index_error(&self.path, e))?;
        prepared.set_payload(payload);
        prepared.commit().map_err(|e| index_error(&self.path, e))?;
        Ok(())
    }

    /// Merges every segment of `index` into one (faster queries on a snapshot that is done growing); returns the
    /// number of segments before.
    pub fn merge_all(&mut self, index: &PageIndex) -> Result<usize> {
        let ids = index.index.searchable_segment_ids().map_err(|e| index_error(&self.path, e))?;
        if ids.len() > 1 {
            self.writer.merge(&ids).wait().map_err(|e| index_error(&self.path, e))?;
        }
        Ok(ids.len())
    }

    /// Waits for background merges so the index is fully written.
    pub fn finish(self) -> Result<()> {
        self.writer.wait_merging_threads().map_err(|e| index_error(&self.path, e))
    }
}
