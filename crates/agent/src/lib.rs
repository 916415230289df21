//! webtape-agent: what a rollout asks of a policy ([`agent::generator::Generator`], free of tensor types) — prompt,
//! tool-call parsing, DeepResearcher's reward, rollouts against an environment, and the scripted expert.
pub mod agent;

use webtape_core::Result;
use webtape_core::{data, error};
use webtape_env::env;
use webtape_sim::sim;
use webtape_snapshot::snapshot;
use webtape_web::web;
