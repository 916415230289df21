//! The built-in synthetic web (`webtape sim`): a seeded world of people, places, organisations and
//! works, its HTML pages, a BM25 search over them, and questions with gold answers.
//!
//! | module | owns |
//! |---|---|
//! | [`rng`] | the seeded PRNG (xoshiro256** / SplitMix64) |
//! | `names` | syllable names, ASCII folding, slugs, uniqueness |
//! | [`world`] | [`WorldConfig`], entities and facts, [`World::generate`] |
//! | `pages` / `index_pages` / `filler` | what each page says |
//! | [`html`] | page layouts and rendering to HTML + main text |
//! | [`questions`] | single- and two-hop questions, train/test split |
//! | [`search`] | [`SimIndex`] (BM25, snippets) |
//! | [`server`] / [`api`] / [`faults`] | the loopback HTTP server: pages, four search API shapes, reading model, fault injection |
//!
//! ```
//! use webtape_sim::sim::{World, WorldConfig};
//! let world = World::generate(&WorldConfig::default()).unwrap();
//! let q = &world.questions[0];
//! let hits = world.index().search(&q.expert_queries[0], 3);
//! assert!(hits.iter().any(|h| h.path == q.support[0]));
//! ```
mod filler;
pub mod html;
mod index_pages;
mod names;
mod pages;
pub mod questions;
pub mod rng;
pub mod search;
pub mod world;

#[cfg(test)]
mod tests;

pub use names::{fold, slugify};
pub use questions::{Question, Split};
pub use search::{SearchHit, SimIndex};
pub use world::{Entity, Facts, Genre, SimPage, World, WorldConfig, WorldStats, MAX_ENTITIES};

pub mod api;
pub mod faults;
mod pdf;
pub mod server;

pub use faults::{Fault, FaultConfig};
pub use server::{SimConfig, SimServer, SimState};
