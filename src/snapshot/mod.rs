//! Snapshots: a RocksDB database of captures (search answers, pages, bodies, extracted text, reader outputs)
//! indexed by tantivy, with WARC and JSONL import/export. See the crate docs for the folder layout.
mod arc;
pub mod canon;
mod digest;
mod export_text;
pub mod http;
mod index;
mod jsonl;
mod manifest;
mod merge;
mod prepared;
mod reader;
mod rebuild;
mod record;
mod report;
mod state;
mod store;
mod verify;
mod warc_export;
mod warc_import;
mod warc_read;
mod warc_stream;
pub mod when;
mod writer;

pub use canon::{surt_key, SearchRequest};
pub use export_text::export_text;
pub use jsonl::{import_jsonl, JsonlOptions};
pub use manifest::{now_rfc3339, Counts, Manifest, FORMAT_VERSION};
pub use merge::{merge, MergeReport};
pub use prepared::{PreparedPage, PutOutcome};
pub use reader::{PageView, SearchHit, Snapshot};
pub use record::{timestamp14, PageCapture, PageText, SearchCapture, SearchResult};
pub use report::ImportReport;
pub use verify::{verify, Problem, VerifyReport};
pub use warc_export::{cdxj_path, export_warc, ExportReport};
pub use warc_import::import_warc;
pub use writer::SnapshotWriter;
