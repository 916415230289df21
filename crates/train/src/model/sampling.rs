//! Per-sequence deterministic random streams and the CPU-side draw from a row's candidate tokens.
//! A sequence's draws depend only on (seed, stream) and its own distribution, never on the batch around it.

/// SplitMix64 finaliser: a bijective 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A small deterministic PRNG (SplitMix64) for one sequence.
#[derive(Debug, Clone)]
pub struct SeqRng {
    state: u64,
}

impl SeqRng {
    /// The stream for sequence `stream` under base seed `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        SeqRng { state: mix(mix(seed) ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15)) }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Index drawn from candidates given by their log-probabilities (any common offset; they are renormalised),
/// by inverse CDF at `u` ∈ [0, 1), accumulating in f64 in candidate order.
pub fn draw(logprobs: &[f32], u: f64) -> usize {
    let max = logprobs.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let weights: Vec<f64> = logprobs.iter().map(|&lp| (lp as f64 - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let target = u * total;
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if target < acc {
            return i;
        }
    }
    // Rounding left `target` at the very top: the last candidate with any weight.
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// Token ids sorted by log-prob (descending, ties by id): all of them when `k >= len`, else the `k` best,
/// found by selection so the cost is linear plus `k log k`.
pub fn top_sorted(lps: &[f32], k: usize) -> Vec<u32> {
    let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let mut pairs: Vec<(f32, u32)> = lps.iter().enumerate().map(|(i, &lp)| (lp, i as u32)).collect();
    if k < pairs.len() && k > 0 {
        pairs.select_nth_unstable_by(k - 1, order);
        pairs.truncate(k);
    }
    pairs.sort_unstable_by(order);
    pairs.into_iter().map(|(_, i)| i).collect()
}

/// The candidates of one row after top-k (0 = off) and top-p (renormalised over the top-k, as transformers
/// does): the most likely tokens, best first, kept while the mass before them is below `top_p`. At least one.
/// Grows a sorted prefix (64, 512, ...) until it covers the nucleus, so a peaked distribution costs O(vocab).
pub fn nucleus(lps: &[f32], top_k: usize, top_p: f32) -> Vec<u32> {
    let n = lps.len();
    let limit = if top_k > 0 { top_k.min(n) } else { n };
    let ranked = (limit < n).then(|| top_sorted(lps, limit));
    if top_p >= 1.0 {
        return ranked.unwrap_or_else(|| top_sorted(lps, n));
    }
    let max = lps.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let weights: Vec<f64> = lps.iter().map(|&lp| (lp as f64 - max).exp()).collect();
    let weight = |t: u32| weights[t as usize];
    let total: f64 = match &ranked {
        Some(r) => r.iter().map(|&t| weight(t)).sum(),
        None => weights.iter().sum(),
    };
    let threshold = top_p.max(0.0) as f64 * total;
    let mut k = limit.min(64);
    loop {
        let top = match &ranked {
            Some(r) => r[..k].to_vec(),
            None => top_sorted(lps, k),
        };
        let mut before = 0.0;
        for (i, &t) in top.iter().enumerate() {
            if before >= threshold {
                return top[..i.max(1)].to_vec();
            }
            before += weight(t);
        }
        if before >= threshold || k == limit {
            return top;
        }
        // A flat distribution: jump to the whole candidate set rather than sorting ever larger prefixes.
        k = if k * 16 >= limit { limit } else { k * 8 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| SeqRng::new(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(SeqRng::new(7, 1).next_u64(), SeqRng::new(7, 2).next_u64());
        assert_ne!(SeqRng::new(7, 1).next_u64(), SeqRng::new(8, 1).next_u64());
        let mut r = SeqRng::new(0, 0);
        assert!((0..1000).map(|_| r.next_f64()).all(|u| (0.0..1.0).contains(&u)));
    }

    #[test]
    fn nucleus_applies_top_k_then_top_p() {
        let probs = [0.05f32, 0.4, 0.1, 0.3, 0.15];
        let lps: Vec<f32> = probs.iter().map(|p| p.ln()).collect();
        assert_eq!(top_sorted(&lps, 5), vec![1, 3, 4, 2, 0]);
        assert_eq!(top_sorted(&lps, 2), vec![1, 3]);
        assert_eq!(nucleus(&lps, 0, 1.0), vec![1, 3, 4, 2, 0]);
        assert_eq!(nucleus(&lps, 0, 0.7), vec![1, 3]); // 0.4 + 0.3 reaches 0.7
        assert_eq!(nucleus(&lps, 0, 0.71), vec![1, 3, 4]);
        assert_eq!(nucleus(&lps, 0, 0.0), vec![1]);
        assert_eq!(nucleus(&lps, 3, 1.0), vec![1, 3, 4]);
        assert_eq!(nucleus(&lps, 3, 0.8), vec![1, 3]); // renormalised over the top 3: 0.47 + 0.35 >= 0.8
                                                       // A flat distribution over 1000 tokens needs the growing prefix to reach the whole vocabulary.
        let flat = vec![-(1000f32).ln(); 1000];
        assert_eq!(nucleus(&flat, 0, 0.9).len(), 900);
        assert_eq!(nucleus(&flat, 0, 0.9)[..3], [0, 1, 2]);
    }

    #[test]
    fn draw_follows_the_distribution() {
        let lps = [0.5f32.ln(), 0.25f32.ln(), 0.25f32.ln()];
        assert_eq!(draw(&lps, 0.0), 0);
        assert_eq!(draw(&lps, 0.49), 0);
        assert_eq!(draw(&lps, 0.51), 1);
        assert_eq!(draw(&lps, 0.99), 2);
        let mut rng = SeqRng::new(3, 4);
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            counts[draw(&lps, rng.next_f64())] += 1;
        }
        assert!((counts[0] as f64 / 20_000.0 - 0.5).abs() < 0.02, "{counts:?}");
    }
}
