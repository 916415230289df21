//! webtape: record the web once, replay it byte for byte, and train deep-research agents on it.
//!
//! Data flows one way:
//!
//! ```text
//! recorder ─▶ snapshot (RocksDB + tantivy) ─▶ environment (replay | live | record) ─▶ agent ─▶ reward ─▶ GRPO
//! ```
//!
//! The layers, bottom first; each is a crate of its own (`crates/`), depending only on those above it:
//!
//! | crate | modules here | owns |
//! |---|---|---|
//! | `webtape-core` | [`error`], [`progress`], [`data`] | the one [`Error`] enum and [`Result`]; progress bars; question files (JSONL, text lines, DeepResearcher / Search-R1 parquet) |
//! | `webtape-snapshot` | [`snapshot`], [`extract`] | the snapshot folder: RocksDB column families, tantivy index, WARC/ARC/JSONL import, WARC export, merge, verify; HTML → title + main text |
//! | `webtape-web` | [`web`] | the live web: search providers, page fetcher, SSRF guard, robots.txt, limits, reading-model client |
//! | `webtape-env` | [`env`], [`server`], [`proxy`], [`recorder`] | web_search / browse_webpage over replay, live or record, tool rules, run digest; `webtape serve`'s routes; the recording forward proxy; question file → provider → pages → snapshot |
//! | `webtape-sim` | [`sim`] | the embedded simulated web: world, pages, search API, faults, questions |
//! | `webtape-agent` | [`agent`] | what rollouts ask of a policy ([`agent::generator::Generator`], free of tensor types), prompt, parsing, reward, expert |
//! | `webtape-train` | `model`, `train`, `config`, `torch_info`, `determinism` | \[train\] the only crate with libtorch: the policy model, SFT, GRPO, eval, training configs, `webtape doctor`'s torch status |
//! | `webtape` (this crate) | [`fuzz`], the CLI | one entry per parser that sees outside bytes (`tests/fuzz/`, `make fuzz`); the `webtape` binary |
//!
//! Without the default `train` feature nothing from `webtape-train` (nor tch) is built: the environment-only build.
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
pub use webtape_agent::agent;
pub use webtape_core::{data, error, progress};
pub use webtape_env::{env, proxy, recorder, server};
pub use webtape_sim::sim;
pub use webtape_snapshot::{extract, snapshot};
#[cfg(feature = "train")]
pub use webtape_train::{config, determinism, model, torch_info, train};
pub use webtape_web::web;

pub mod fuzz;

pub use error::{Error, Result};
