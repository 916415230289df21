//! Grouped-query self-attention and the external key/value cache it reads and appends to.
//!
//! One [`KvCache`] belongs to one batch of sequences; the weights are shared, so many caches (many batches)
//! can use one model. Rows are slots in the batch; columns are cache slots in the order tokens were fed.
use tch::nn::Path;
use tch::{Kind, Tensor};

use super::config::{Arch, ModelConfig};
use super::layers::{Linear, RmsNorm, Rope};

/// Keys and values of every layer for a batch of sequences, preallocated to a fixed number of slots.
#[derive(Debug)]
pub struct KvCache {
    /// Per layer: keys and values `[batch, kv_heads, capacity, head_dim]`.
    layers: Vec<(Tensor, Tensor)>,
    /// Which cache slots hold real tokens (false for left padding) `[batch, capacity]`.
    valid: Tensor,
    len: i64,
    capacity: i64,
}

impl KvCache {
    /// An empty cache for `batch` sequences of up to `capacity` tokens each (prompt + generated).
    pub fn new(cfg: &ModelConfig, batch: i64, capacity: i64, kind: Kind, device: tch::Device) -> Self {
        let shape = [batch, cfg.num_kv_heads, capacity, cfg.head_dim];
        let layers = (0..cfg.num_layers)
            .map(|_| (Tensor::zeros(shape, (kind, device)), Tensor::zeros(shape, (kind, device))))
            .collect();
        let valid = Tensor::zeros([batch, capacity], (Kind::Bool, device));
        KvCache { layers, valid, len: 0, capacity }
    }

    /// Number of slots filled so far.
    pub fn len(&self) -> i64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots still free.
    pub fn remaining(&self) -> i64 {
        self.capacity - self.len
    }

    /// Number of sequences (rows).
    pub fn batch(&self) -> i64 {
        self.valid.size()[0]
    }

    /// Keeps only the rows `rows` (in that order), e.g. to drop finished sequences.
    pub fn retain(&mut self, rows: &[i64]) {
        let idx = Tensor::from_slice(rows).to_device(self.valid.device());
        for (k, v) in self.layers.iter_mut() {
            *k = k.index_select(0, &idx);
            *v = v.index_select(0, &idx);
        }
        self.valid = self.valid.index_select(0, &idx);
    }

    /// Records the validity of `t` new slots and returns the attention mask for them `[b, 1, t, len + t]`
    /// (true = may attend). Called once per forward, before the layers run; [`KvCache::advance`] commits.
    pub(crate) fn begin(&mut self, new_valid: &Tensor) -> Tensor {
        let t = new_valid.size()[1];
        self.valid.narrow(1, self.len, t).copy_(new_valid);
        let keys = self.valid.narrow(1, 0, self.len + t);
        attention_mask(&keys, self.len)
    }

    pub(crate) fn layer_mut(&mut self, i: usize) -> &mut (Tensor, Tensor) {
        &mut self.layers[i]
    }

    pub(crate) fn advance(&mut self, t: i64) {
        self.len += t;
    }
}

/// `mask[b, 0, i, j]` = key `j` is a real token and not after query `i` (query `i` sits in slot `offset + i`);
/// each query may always see itself, so rows for padding never end up with nothing to attend to.
pub(crate) fn attention_mask(key_valid: &Tensor, offset: i64) -> Tensor {
    let (_, total) = key_valid.size2().expect("[batch, keys]");
    let t = total - offset;
    let device = key_valid.device();
    let q = Tensor::arange_start(offset, total, (Kind::Int64, device)).unsqueeze(1);
    let k = Tensor::arange(total, (Kind::Int64, device)).unsqueeze(0);
    let causal = k.le_tensor(&q); // [t, total]
    let diag = k.eq_tensor(&q);
    let allowed = key_valid.unsqueeze(1).logical_and(&causal.unsqueeze(0)).logical_or(&diag.unsqueeze(0));
    allowed.reshape([-1, 1, t, total])
}

/// One attention block: q/k/v/o projections (+ Qwen3's per-head norms), RoPE, GQA.
#[derive(Debug)]
pub struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    num_heads: i64,
    num_kv_heads: i64,
    head_dim: i64,
}

impl Attention {
    pub fn new(p: Path, cfg: &ModelConfig, kind: Kind) -> Self {
        let (h, d) = (cfg.hidden_size, cfg.head_dim);
        let (nq, nkv) = (cfg.num_heads, cfg.num_kv_heads);
        let qk_norm = cfg.arch == Arch::Qwen3;
        Attention {
            q_proj: Linear::new(&p / "q_proj", h, nq * d, cfg.qkv_bias, kind),
            k_proj: Linear::new(&p / "k_proj", h, nkv * d, cfg.qkv_bias, kind),
            v_proj: Linear::new(&p / "v_proj", h, nkv * d, cfg.qkv_bias, kind),
            o_proj: Linear::new(&p / "o_proj", nq * d, h, cfg.o_bias, kind),
            q_norm: qk_norm.then(|| RmsNorm::new(&p / "q_norm", d, cfg.rms_norm_eps, kind)),
            k_norm: qk_norm.then(|| RmsNorm::new(&p / "k_norm", d, cfg.rms_norm_eps, kind)),
            num_heads: nq,
            num_kv_heads: nkv,
            head_dim: d,
        }
    }

    /// The four projections by name, for attaching adapters.
    pub(crate) fn projections_mut(&mut self) -> [(&'static str, &mut Linear); 4] {
        [
            ("q_proj", &mut self.q_proj),
            ("k_proj", &mut self.k_proj),
            ("v_proj", &mut self.v_proj),
            ("o_proj", &mut self.o_proj),
        ]
    }

    /// `xs` `[b, t, hidden]`; `rope` = cos/sin for the new tokens; `mask` `[b, 1, t, keys]`, or `None` for plain
    /// causal attention (no cache, no padding before any token).
    /// With a cache, the new keys/values are written at its current length and attention spans all of it.
    pub fn forward(
        &self,
        xs: &Tensor,
        rope: &(Tensor, Tensor),
        mask: Option<&Tensor>,
        cache: Option<(&mut (Tensor, Tensor), i64)>,
    ) -> Tensor {
        let (b, t, _) = xs.size3().expect("[batch, time, hidden]");
        let heads = |proj: &Linear, n: i64, norm: &Option<RmsNorm>| {
            let x = proj.forward(xs).reshape([b, t, n, self.head_dim]);
            let x = match norm {
                Some(norm) => norm.forward(&x),
                None => x,
            };
            x.transpose(1, 2)
        };
        let q = Rope::apply(&heads(&self.q_proj, self.num_heads, &self.q_norm), &rope.0, &rope.1);
        let k = Rope::apply(&heads(&self.k_proj, self.num_kv_heads, &self.k_norm), &rope.0, &rope.1);
        let v = heads(&self.v_proj, self.num_kv_heads, &None);
        let (k, v) = match cache {
            Some((kv, start)) => {
                kv.0.narrow(2, start, t).copy_(&k);
                kv.1.narrow(2, start, t).copy_(&v);
                (kv.0.narrow(2, 0, start + t), kv.1.narrow(2, 0, start + t))
            }
            None => (k, v),
        };
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        // GQA: query head i reads kv head i / (heads / kv_heads), as Hugging Face's repeat_kv arranges.
        let gqa = self.num_heads != self.num_kv_heads;
        let out = Tensor::scaled_dot_product_attention(&q, &k, &v, mask, 0.0, mask.is_none(), scale, gqa);
        self.o_proj.forward(&out.transpose(1, 2).reshape([b, t, self.num_heads * self.head_dim]))
    }
}
