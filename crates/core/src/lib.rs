//! webtape-core: what every webtape crate shares — the one [`Error`] enum and [`Result`], progress bars for long
//! work, and question files (JSONL, text lines, DeepResearcher / Search-R1 parquet).
pub mod data;
pub mod error;
pub mod progress;

pub use error::{Error, Result};
