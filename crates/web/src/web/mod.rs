//! The live web: search providers behind one trait, the page fetcher with its SSRF guard, robots.txt and
//! per-host limits, retries, and the page-reading model client. Async (tokio + reqwest); nothing here writes
//! to a snapshot - the recorder and the environment do.
pub mod client;
pub mod fetch;
pub mod guard;
pub mod limits;
pub mod providers;
pub mod reader;
pub mod retry;
pub mod robots;
pub mod search;
pub mod side;

pub use fetch::{FetchConfig, Fetched, Fetcher};
pub use guard::Guard;
pub use providers::{ProviderKind, SearchProvider};
pub use reader::ReaderClient;
pub use retry::{parse_rate, RetryPolicy};
pub use search::{SearchOutcome, Searcher};
