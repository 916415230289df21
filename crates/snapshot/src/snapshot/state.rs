//! The writer's exact bookkeeping, stored under one key of the `meta` column family and rewritten in the same
//! batch as every capture, so counts never drift from the data after a crash.
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::manifest::Counts;
use super::record;
use super::store::{Store, CF_META};
use crate::error::Result;

/// Counters, time range and sources of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub schema_version: u32,
    pub counts: Counts,
    pub providers: BTreeSet<String>,
    pub first_capture: Option<String>,
    pub last_capture: Option<String>,
}

impl State {
    /// The `meta` key this lives under.
    pub const KEY: &'static [u8] = b"state";

    /// Loads the state, or a fresh one for a new database.
    pub fn load(store: &Store) -> Result<State> {
        match store.get(CF_META, Self::KEY)? {
            Some(bytes) => record::decode("meta state", Self::KEY, &bytes),
            None => Ok(State { schema_version: super::manifest::FORMAT_VERSION, ..State::default() }),
        }
    }

    /// Notes a capture's time and source.
    pub fn saw_capture(&mut self, captured_at: &str, provider: &str) {
        if self.first_capture.as_deref().is_none_or(|f| captured_at < f) {
            self.first_capture = Some(captured_at.to_string());
        }
        if self.last_capture.as_deref().is_none_or(|l| captured_at > l) {
            self.last_capture = Some(captured_at.to_string());
        }
        if !self.providers.contains(provider) {
            self.providers.insert(provider.to_string());
        }
    }

    /// The encoded value.
    pub fn encode(&self) -> Vec<u8> {
        record::encode(self)
    }

    /// What the index stores with each commit: if it differs from the database's, the index is behind.
    pub fn index_payload(&self) -> String {
        format!("page_captures={} urls={}", self.counts.page_captures, self.counts.urls)
    }
}
