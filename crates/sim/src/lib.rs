//! webtape-sim: the embedded simulated web — a seeded world of entities, its HTML/PDF pages, a search API with
//! optional faults, and the question set whose answers are on those pages.
pub mod sim;

use webtape_core::error;
