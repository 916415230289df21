//! webtape-snapshot: the snapshot folder (RocksDB column families, tantivy index, canonical URLs, WARC/ARC/JSONL
//! import, WARC export, merge, verify) and HTML → title + main text extraction.
pub mod extract;
pub mod snapshot;

use webtape_core::{error, progress};
