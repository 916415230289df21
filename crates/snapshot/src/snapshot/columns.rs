//! A cache of one u64 fast field's columns (one per segment) for the searcher generation last seen, so ranking
//! opens them once per reload, not once per query.
use std::sync::{Arc, Mutex};

use tantivy::columnar::Column;
use tantivy::{DocAddress, Searcher};

/// The columns of every segment of one searcher, by segment ordinal.
pub(super) type Columns = Arc<Vec<Column<u64>>>;

/// The columns of the fast field `name`, reopened when the searcher's generation changes.
pub(super) struct ColumnCache {
    name: &'static str,
    columns: Mutex<Option<(u64, Columns)>>,
}

impl ColumnCache {
    pub(super) const fn new(name: &'static str) -> ColumnCache {
        ColumnCache { name, columns: Mutex::new(None) }
    }

    /// The field's columns for `searcher`.
    pub(super) fn get(&self, searcher: &Searcher) -> tantivy::Result<Columns> {
        let generation = searcher.generation().generation_id();
        let mut cached = self.columns.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, columns)) = cached.as_ref().filter(|(at, _)| *at == generation) {
            return Ok(columns.clone());
        }
        let opened = searcher.segment_readers().iter().map(|segment| segment.fast_fields().u64(self.name));
        let columns = Arc::new(opened.collect::<tantivy::Result<Vec<_>>>()?);
        *cached = Some((generation, columns.clone()));
        Ok(columns)
    }
}

/// The value of `address` in `columns`; 0 when the document has none.
pub(super) fn value(columns: &Columns, address: DocAddress) -> u64 {
    columns.get(address.segment_ord as usize).and_then(|c| c.first(address.doc_id)).unwrap_or(0)
}
