//! webtape-env: the environment (web_search / browse_webpage over replay, live or record; tool rules; run digest),
//! `webtape serve`'s HTTP routes, the recording forward proxy and the question-file recorder.
pub mod env;
pub mod proxy;
pub mod recorder;
pub mod server;

use webtape_core::{data, error, progress};
use webtape_core::{Error, Result};
use webtape_snapshot::snapshot;
use webtape_web::web;
