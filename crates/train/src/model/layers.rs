//! The decoder's building blocks in tch: linear projections (with an optional LoRA adapter), RMSNorm, the SwiGLU
//! MLP and rotary tables. Parameters are registered in a [`tch::nn::VarStore`] under the Hugging Face names.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tch::nn::Path;
use tch::{Device, Kind, Tensor};

use super::config::{ModelConfig, RopeScaling};
use crate::TorchResult;

/// Registers an uninitialised trainable parameter (filled later by the weight loader) of the store's dtype.
pub(crate) fn param(p: &Path, name: &str, dims: &[i64], kind: Kind) -> Tensor {
    p.add(name, Tensor::empty(dims, (kind, p.device())), true)
}

/// A LoRA adapter on one projection: `A` `[rank, in]`, `B` `[out, rank]` (PEFT's `lora_A`/`lora_B` weights, held
/// in the adapter's own `VarStore`), the factor `alpha / rank`, and the switch shared by every adapter of a decoder.
/// `A` and `B` are f32 even on a bf16/f16 model (f64 on an f64 one), as PEFT keeps them, so that small AdamW
/// updates are not rounded away; the adapter path runs in their dtype and its output is cast back.
#[derive(Debug)]
pub struct LoraAdapter {
    pub a: Tensor,
    pub b: Tensor,
    pub scale: f64,
    pub(crate) enabled: Arc<AtomicBool>,
}

/// `y = x Wᵀ + b`, weight `[out, in]` as in PyTorch; with an enabled adapter `+ scale · (x Aᵀ) Bᵀ`, in PEFT's order
/// and precision.
#[derive(Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub lora: Option<LoraAdapter>,
}

impl Linear {
    pub fn new(p: Path, in_dim: i64, out_dim: i64, bias: bool, kind: Kind) -> Self {
        let weight = param(&p, "weight", &[out_dim, in_dim], kind);
        let bias = bias.then(|| param(&p, "bias", &[out_dim], kind));
        Linear { weight, bias, lora: None }
    }

    pub fn forward(&self, xs: &Tensor) -> Tensor {
        let ys = xs.linear(&self.weight, self.bias.as_ref());
        match &self.lora {
            Some(l) if l.enabled.load(Ordering::Relaxed) => {
                let update = xs.to_kind(l.a.kind()).linear::<Tensor>(&l.a, None).linear::<Tensor>(&l.b, None) * l.scale;
                ys + update.to_kind(xs.kind())
            }
            _ => ys,
        }
    }

    /// Folds the adapter into the weight (`W += scale · B A`, computed in f32 — f64 for f64 weights — and stored
    /// in W's dtype) and drops it.
    pub fn merge_adapter(&mut self) -> crate::Result<()> {
        if let Some(l) = self.lora.take() {
            let kind = self.weight.kind();
            let exact = if kind == Kind::Double { Kind::Double } else { Kind::Float };
            tch::no_grad(|| -> crate::Result<()> {
                let delta = l.b.to_kind(exact).matmul(&l.a.to_kind(exact)) * l.scale;
                let merged = (self.weight.to_kind(exact) + delta).to_kind(kind);
                self.weight.shallow_clone().f_copy_(&merged).torch()?;
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// RMSNorm as Hugging Face computes it: normalise in f32, cast back, then scale by the weight.
#[derive(Debug)]
pub struct RmsNorm {
    pub weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn new(p: Path, dim: i64, eps: f64, kind: Kind) -> Self {
        RmsNorm { weight: param(&p, "weight", &[dim], kind), eps }
    }

    pub fn forward(&self, xs: &Tensor) -> Tensor {
        let kind = xs.kind();
        if kind == Kind::Float {
            // Same arithmetic in one fused kernel (fewer calls per token at small sizes).
            return xs.rms_norm([self.weight.size()[0]], Some(&self.weight), self.eps);
        }
        let x = xs.to_kind(Kind::Float);
        let var = x.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
        let normed = x * (var + self.eps).rsqrt();
        &self.weight * normed.to_kind(kind)
    }
}

/// The SwiGLU feed-forward block: `down(silu(gate(x)) * up(x))`.
#[derive(Debug)]
pub struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

impl Mlp {
    /// The three projections by name, for attaching adapters.
    pub(crate) fn projections_mut(&mut self) -> [(&'static str, &mut Linear); 3] {
        [("gate_proj", &mut self.gate_proj), ("up_proj", &mut self.up_proj), ("down_proj", &mut self.down_proj)]
    }

    pub fn new(p: Path, cfg: &ModelConfig, kind: Kind) -> Self {
        let (h, i, b) = (cfg.hidden_size, cfg.intermediate_size, cfg.mlp_bias);
        Mlp {
            gate_proj: Linear::new(&p / "gate_proj", h, i, b, kind),
            up_proj: Linear::new(&p / "up_proj", h, i, b, kind),
            down_proj: Linear::new(&p / "down_proj", i, h, b, kind),
        }
    }

    pub fn forward(&self, xs: &Tensor) -> Tensor {
        self.down_proj.forward(&(self.gate_proj.forward(xs).silu() * self.up_proj.forward(xs)))
    }
}

/// Rotary position embedding: cos/sin tables `[max_positions, head_dim]`, computed once in f32 with the
/// `rotate_half` layout (the two halves of each head share a frequency) and cast to the model dtype. The sin
/// table's first half is stored negated, so `rotate_half(x) * sin` becomes `roll(x, half) * sin` (exact).
#[derive(Debug)]
pub struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    pub fn new(cfg: &ModelConfig, kind: Kind, device: Device) -> Self {
        let inv_freq = inv_freq(cfg);
        let positions = Tensor::arange(cfg.max_position_embeddings, (Kind::Float, Device::Cpu));
        let freqs = positions.unsqueeze(1) * inv_freq.unsqueeze(0);
        let emb = Tensor::cat(&[&freqs, &freqs], -1);
        let sin = freqs.sin().to_kind(kind);
        let signed_sin = Tensor::cat(&[&(-&sin), &sin], -1);
        Rope { cos: emb.cos().to_kind(kind).to_device(device), sin: signed_sin.to_device(device) }
    }

    /// Largest position + 1 the tables cover.
    pub fn max_positions(&self) -> i64 {
        self.cos.size()[0]
    }

    /// cos and sin for `positions` `[b, t]`, shaped `[b, 1, t, head_dim]` to broadcast over heads.
    pub fn tables(&self, positions: &Tensor) -> (Tensor, Tensor) {
        let (b, t) = positions.size2().expect("positions are [batch, time]");
        let flat = positions.reshape([-1]);
        let pick = |table: &Tensor| table.index_select(0, &flat).reshape([b, 1, t, -1]);
        (pick(&self.cos), pick(&self.sin))
    }

    /// Rotates `xs` `[b, heads, t, head_dim]` by the tables from [`Rope::tables`].
    /// `x * cos + rotate_half(x) * sin`, where `rotate_half([x1, x2]) = [-x2, x1]`.
    pub fn apply(xs: &Tensor, cos: &Tensor, sin: &Tensor) -> Tensor {
        let half = xs.size()[3] / 2;
        xs * cos + xs.roll([half], [3]) * sin
    }
}

/// Inverse frequencies `1 / theta^(2i/d)` in f32, with the configured long-context rescaling.
fn inv_freq(cfg: &ModelConfig) -> Tensor {
    let d = cfg.head_dim;
    let exponents = Tensor::arange_start_step(0, d, 2, (Kind::Int64, Device::Cpu)).to_kind(Kind::Float) / d as f64;
    let base = Tensor::from(cfg.rope_theta as f32);
    let inv = base.pow(&exponents).reciprocal();
    match cfg.rope_scaling {
        RopeScaling::None => inv,
        RopeScaling::Linear { factor } => inv / factor,
        RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position } => {
            let low_wavelen = original_max_position / low_freq_factor;
            let high_wavelen = original_max_position / high_freq_factor;
            let wavelen = inv.reciprocal() * (2.0 * std::f64::consts::PI);
            let scaled = (&inv / factor).where_self(&wavelen.gt(low_wavelen), &inv);
            let smooth =
                (wavelen.reciprocal() * original_max_position - low_freq_factor) / (high_freq_factor - low_freq_factor);
            let keep: Tensor = 1.0 - &smooth;
            let smoothed: Tensor = keep * &scaled / factor + &smooth * &scaled;
            let medium = wavelen.ge(high_wavelen).logical_and(&wavelen.le(low_wavelen));
            smoothed.where_self(&medium, &scaled)
        }
    }
}
