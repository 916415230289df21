//! Fault injection for the sim web: which paths misbehave and how (slow answers, 429 with `Retry-After`, 500s,
//! truncated bodies, redirect loops, huge pages, a lying charset). The choice is a pure function of the seed
//! and the path, so a faulty web is as reproducible as a healthy one; transient faults clear after a set number
//! of attempts, so retries can be seen to work.
use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::{Error, Result};

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Answer after `slow_ms` (transient).
    Slow,
    /// 429 Too Many Requests with `Retry-After` (transient).
    TooMany,
    /// 500 Internal Server Error (transient).
    ServerError,
    /// Close the connection halfway through the body (transient).
    Truncated,
    /// Redirect back and forth forever (permanent).
    RedirectLoop,
    /// An 8 MB page (permanent).
    Huge,
    /// windows-1252 bytes under a `charset=utf-8` label (permanent).
    WrongCharset,
}

impl Fault {
    /// Whether the fault clears after [`FaultConfig::transient`] attempts.
    pub fn is_transient(self) -> bool {
        matches!(self, Fault::Slow | Fault::TooMany | Fault::ServerError | Fault::Truncated)
    }
}

/// Which faults, how often, how long.
#[derive(Debug, Clone)]
pub struct FaultConfig {
    /// Share of paths (and of search queries) that misbehave, 0..=1.
    pub rate: f64,
    /// The faults to choose from (by hash of the path).
    pub kinds: Vec<Fault>,
    /// Attempts that see a transient fault before the path behaves.
    pub transient: u32,
    pub slow_ms: u64,
    /// Seconds sent in `Retry-After` with a 429.
    pub retry_after: u64,
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig { rate: 0.0, kinds: Vec::new(), transient: 1, slow_ms: 3000, retry_after: 1, seed: 0 }
    }
}

impl FaultConfig {
    /// Rejects rates outside 0..=1 and a rate without kinds.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(Error::Config(format!("--fault-rate {} must be between 0 and 1", self.rate)));
        }
        if self.rate > 0.0 && self.kinds.is_empty() {
            return Err(Error::Config("--fault-rate needs --faults (e.g. --faults too-many,server-error)".into()));
        }
        Ok(())
    }

    /// The fault assigned to `key` (a path, or `search:` + query), if any.
    pub fn assigned(&self, key: &str) -> Option<Fault> {
        if self.rate <= 0.0 || self.kinds.is_empty() {
            return None;
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.seed.to_le_bytes());
        hasher.update(key.as_bytes());
        let h = hasher.finalize();
        let bits = u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"));
        let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
        (unit < self.rate).then(|| self.kinds[h.as_bytes()[8] as usize % self.kinds.len()])
    }
}

/// Requests seen per path, so transient faults clear and tests can count retries, and faults acted out per kind.
#[derive(Default)]
pub struct Attempts(Mutex<BTreeMap<String, u32>>, Mutex<BTreeMap<Fault, u32>>);

impl Attempts {
    /// Counts one more request for `key` and returns the count (1 for the first).
    pub fn bump(&self, key: &str) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key.to_string()).or_default();
        *n += 1;
        *n
    }

    /// All counts, sorted by key.
    pub fn counts(&self) -> BTreeMap<String, u32> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Faults acted out so far, by kind.
    pub fn faults(&self) -> BTreeMap<Fault, u32> {
        self.1.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The fault to act out for this request of `key`: transient faults only on the first attempts.
pub fn active(cfg: &FaultConfig, attempts: &Attempts, key: &str) -> Option<Fault> {
    let n = attempts.bump(key);
    let fault = cfg.assigned(key).filter(|f| !f.is_transient() || n <= cfg.transient);
    if let Some(f) = fault {
        *attempts.1.lock().unwrap_or_else(|p| p.into_inner()).entry(f).or_default() += 1;
    }
    fault
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_is_seeded_and_proportional() {
        let cfg = FaultConfig { rate: 0.25, kinds: vec![Fault::TooMany, Fault::Huge], seed: 9, ..Default::default() };
        let hit = (0..4000).filter(|i| cfg.assigned(&format!("/p/{i}")).is_some()).count();
        assert!((800..1200).contains(&hit), "{hit}");
        assert_eq!(cfg.assigned("/p/1"), cfg.clone().assigned("/p/1"));
        let other = FaultConfig { seed: 10, ..cfg.clone() };
        assert!((0..100).any(|i| cfg.assigned(&format!("/{i}")) != other.assigned(&format!("/{i}"))));
    }

    #[test]
    fn transient_faults_clear() {
        let cfg = FaultConfig { rate: 1.0, kinds: vec![Fault::ServerError], transient: 2, ..Default::default() };
        let attempts = Attempts::default();
        let seen: Vec<_> = (0..3).map(|_| active(&cfg, &attempts, "/x")).collect();
        assert_eq!(seen, vec![Some(Fault::ServerError), Some(Fault::ServerError), None]);
        let perm = FaultConfig { kinds: vec![Fault::Huge], ..cfg };
        assert!((0..5).all(|_| active(&perm, &attempts, "/y") == Some(Fault::Huge)));
        assert!(FaultConfig { rate: 2.0, ..Default::default() }.validate().is_err());
    }
}
