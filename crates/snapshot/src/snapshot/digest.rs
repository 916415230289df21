//! The content digest of a snapshot: one blake3 over every capture record and blob key, in key order. Two
//! snapshots holding the same captures have the same digest however they were built; derived data (text, index)
//! and bookkeeping (`meta`) are left out.
use super::store::{Store, CF_BLOBS, CF_HTTP, CF_PAGES, CF_READER, CF_SEARCH};
use crate::error::Result;

/// `blake3:<hex>` over the snapshot's content.
pub fn content_digest(store: &Store) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    // `http` (the proxy's exchanges) counts only when it holds something, so snapshots without it keep the
    // digest they had before the family existed.
    let has_http = store.iter(CF_HTTP).next().is_some();
    for cf in [CF_PAGES, CF_SEARCH, CF_READER, CF_HTTP] {
        if cf == CF_HTTP && !has_http {
            continue;
        }
        hasher.update(cf.as_bytes());
        for item in store.iter(cf) {
            let (k, v) = item?;
            update_framed(&mut hasher, &k);
            update_framed(&mut hasher, &v);
        }
    }
    hasher.update(CF_BLOBS.as_bytes());
    for key in store.keys(CF_BLOBS) {
        update_framed(&mut hasher, &key?);
    }
    Ok(format!("blake3:{}", hasher.finalize().to_hex()))
}

fn update_framed(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}
