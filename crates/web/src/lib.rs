//! webtape-web: the live web — search providers, page fetcher, SSRF guard, robots.txt, rate limits, retries and the
//! reading-model client. Nothing here runs in replay.
pub mod web;

use webtape_core::error;
use webtape_snapshot::snapshot;
