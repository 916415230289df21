//! webtape: record the web once, replay it byte for byte, and train deep-research agents on it.
//!
//! Data flows one way:
//!
//! ```text
//! recorder ─▶ snapshot (RocksDB + tantivy) ─▶ environment (replay | live | record) ─▶ agent ─▶ reward ─▶ GRPO
//! ```
//!
//! The layers, bottom first:
//!
//! | module | owns |
//! |---|---|
//! | [`error`] | the one [`Error`] enum and [`Result`] |
//! | [`extract`] | HTML → title + main text (for indexing and for the agent) |
//! | [`snapshot`] | the snapshot folder: RocksDB column families, tantivy index, WARC/JSONL import, WARC export, merge, verify |
//! | [`progress`] | progress bars for long work |
//! | [`data`] | question files: JSONL, text lines, DeepResearcher / Search-R1 parquet |
//! | [`web`] | the live web: search providers, page fetcher, SSRF guard, robots.txt, limits, reading-model client |
//! | [`env`] | the environment: web_search / browse_webpage over replay, live or record; tool rules; run digest |
//! | [`server`] | `webtape serve`: `/retrieve`, `/search`, `/browse`, `/healthz`, `/metrics` over an environment |
//! | [`proxy`] | `webtape proxy`: an HTTP(S) forward proxy that records and replays any agent's traffic into a snapshot |
//! | `model` | \[train\] the policy: Qwen2/Qwen3/Llama checkpoints in tch, tokenizer, chat template, batched sampling |
//! | [`agent`] | what rollouts ask of a policy ([`agent::generator::Generator`]), free of tensor types |
//! | [`fuzz`] | one entry per parser that sees outside bytes, for the fuzz harness (`tests/fuzz/`, `make fuzz`) |
//! | [`recorder`] | question file → provider → pages → snapshot; concurrent and resumable |
//! | `torch_info` | \[train\] libtorch / CUDA status for `webtape doctor` |
//! | `determinism` | \[train\] libtorch's deterministic-algorithms switch (`train --deterministic`) |
//!
//! ```no_run
//! use webtape::snapshot::{import_warc, Snapshot, SnapshotWriter};
//! # fn main() -> webtape::Result<()> {
//! let mut writer = SnapshotWriter::create("snapshots/mine".as_ref())?;
//! let report = import_warc(&mut writer, &["crawl.warc.gz".into()])?;
//! println!("{report}");
//! writer.finish()?;
//! let snapshot = Snapshot::open("snapshots/mine".as_ref())?;
//! for hit in snapshot.search("rust borrow checker", 5, 200)? {
//!     println!("{:.3} {} {}", hit.score, hit.url, hit.title);
//! }
//! # Ok(()) }
//! ```
pub mod agent;
#[cfg(feature = "train")]
pub mod config;
pub mod data;
#[cfg(feature = "train")]
pub mod determinism;
pub mod env;
pub mod error;
pub mod extract;
pub mod fuzz;
#[cfg(feature = "train")]
pub mod model;
pub mod progress;
pub mod proxy;
pub mod recorder;
pub mod server;
pub mod sim;
pub mod snapshot;
#[cfg(feature = "train")]
pub mod torch_info;
#[cfg(feature = "train")]
pub mod train;
pub mod web;

pub use error::{Error, Result};
