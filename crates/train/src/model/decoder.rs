//! The causal decoder (embeddings → blocks → final norm → LM head) for Qwen2/Qwen3/Llama checkpoints, with
//! parameter names identical to Hugging Face's so weights load and save by name; optional LoRA adapters on its
//! projections, which can be switched off together (the frozen base is then the KL reference) or merged in.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tch::nn::Path;
use tch::{Device, Kind, Tensor};

use super::attention::{attention_mask, Attention, KvCache};
use super::config::ModelConfig;
use super::layers::{param, Linear, LoraAdapter, Mlp, RmsNorm, Rope};
use super::lora::{initial_a, peft_key, projection_shape, scope_of, LoraConfig};
use crate::TorchResult;
use crate::{Error, Result};

/// One transformer block (pre-norm attention + pre-norm MLP, both residual).
#[derive(Debug)]
struct Block {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

impl Block {
    fn new(p: Path, cfg: &ModelConfig, kind: Kind) -> Self {
        let (h, eps) = (cfg.hidden_size, cfg.rms_norm_eps);
        Block {
            input_layernorm: RmsNorm::new(&p / "input_layernorm", h, eps, kind),
            self_attn: Attention::new(&p / "self_attn", cfg, kind),
            post_attention_layernorm: RmsNorm::new(&p / "post_attention_layernorm", h, eps, kind),
            mlp: Mlp::new(&p / "mlp", cfg, kind),
        }
    }

    /// The seven projections by name (`q_proj` ... `down_proj`).
    fn projections_mut(&mut self) -> Vec<(&'static str, &mut Linear)> {
        let mut all: Vec<(&'static str, &mut Linear)> = self.self_attn.projections_mut().into_iter().collect();
        all.extend(self.mlp.projections_mut());
        all
    }

    fn forward(
        &self,
        xs: &Tensor,
        rope: &(Tensor, Tensor),
        mask: Option<&Tensor>,
        cache: Option<(&mut (Tensor, Tensor), i64)>,
    ) -> Tensor {
        let attn = self.self_attn.forward(&self.input_layernorm.forward(xs), rope, mask, cache);
        let xs = xs + attn;
        let mlp = self.mlp.forward(&self.post_attention_layernorm.forward(&xs));
        xs + mlp
    }
}

/// The whole decoder. Holds shallow handles to the tensors of the `VarStore` it was built in.
#[derive(Debug)]
pub struct Decoder {
    pub config: ModelConfig,
    embed_tokens: Tensor,
    layers: Vec<Block>,
    norm: RmsNorm,
    /// `lm_head.weight`, or the embedding matrix when the checkpoint ties them.
    lm_head: Tensor,
    rope: Rope,
    kind: Kind,
    /// The switch every LoRA adapter of this decoder reads (on unless inside [`Decoder::without_adapters`]).
    adapters_on: Arc<AtomicBool>,
    has_adapters: bool,
}

/// Turns the adapters back on when [`Decoder::without_adapters`] ends, even by a panic.
struct AdaptersBackOn<'a>(&'a AtomicBool);

impl Drop for AdaptersBackOn<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Decoder {
    /// Registers every parameter under `root` (uninitialised: load weights next) in dtype `kind`.
    pub fn new(root: Path, config: &ModelConfig, kind: Kind) -> Self {
        let model = &root / "model";
        let embed_tokens = param(&(&model / "embed_tokens"), "weight", &[config.vocab_size, config.hidden_size], kind);
        let layers = (0..config.num_layers).map(|i| Block::new(&model / "layers" / i, config, kind)).collect();
        let norm = RmsNorm::new(&model / "norm", config.hidden_size, config.rms_norm_eps, kind);
        let lm_head = if config.tie_word_embeddings {
            embed_tokens.shallow_clone()
        } else {
            param(&(&root / "lm_head"), "weight", &[config.vocab_size, config.hidden_size], kind)
        };
        let rope = Rope::new(config, kind, root.device());
        let adapters_on = Arc::new(AtomicBool::new(true));
        Decoder {
            config: config.clone(),
            embed_tokens,
            layers,
            norm,
            lm_head,
            rope,
            kind,
            adapters_on,
            has_adapters: false,
        }
    }

    /// Registers a LoRA adapter on every targeted projection of every block, under PEFT's names below `root`
    /// (a store of its own): `A` from [`initial_a`], `B` zeros, both trainable, in f32 (f64 for an f64 decoder).
    /// A fresh adapter leaves the logits exactly as they were.
    pub fn attach_lora(&mut self, root: &Path, cfg: &LoraConfig) -> Result<()> {
        cfg.validate()?;
        if self.has_adapters {
            return Err(Error::internal("the model already has LoRA adapters"));
        }
        let kind = if self.kind == Kind::Double { Kind::Double } else { Kind::Float };
        let (device, config) = (self.device(), self.config.clone());
        for (i, block) in self.layers.iter_mut().enumerate() {
            for (name, linear) in block.projections_mut().into_iter().filter(|(n, _)| cfg.wraps(n)) {
                let (inp, out) = projection_shape(&config, name);
                let p = root / "base_model" / "model" / "model" / "layers" / i / scope_of(name) / name;
                let values = initial_a(cfg.seed, &peft_key(i as i64, name, 'A'), cfg.rank, inp);
                let a_init = Tensor::from_slice(&values).reshape([cfg.rank, inp]).to_kind(kind).to_device(device);
                let a = (&p / "lora_A").add("weight", a_init, true);
                let b = (&p / "lora_B").add("weight", Tensor::zeros([out, cfg.rank], (kind, device)), true);
                linear.lora = Some(LoraAdapter { a, b, scale: cfg.scale(), enabled: self.adapters_on.clone() });
            }
        }
        self.has_adapters = true;
        Ok(())
    }

    /// Whether LoRA adapters are attached.
    pub fn has_adapters(&self) -> bool {
        self.has_adapters
    }

    /// Runs `f` with every adapter switched off: the frozen base model, with no second copy of its weights.
    pub fn without_adapters<T>(&self, f: impl FnOnce(&Decoder) -> T) -> T {
        self.adapters_on.store(false, Ordering::Relaxed);
        let _back_on = AdaptersBackOn(&self.adapters_on);
        f(self)
    }

    /// Folds every adapter into its projection's weight (`W + scale · B A`) and drops the adapters.
    pub fn merge_adapters(&mut self) -> Result<()> {
        for block in self.layers.iter_mut() {
            for (_, linear) in block.projections_mut() {
                linear.merge_adapter()?;
            }
        }
        self.has_adapters = false;
        Ok(())
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn device(&self) -> Device {
        self.embed_tokens.device()
    }

    /// Largest sequence length (prompt + generation) the rotary tables cover.
    pub fn max_positions(&self) -> i64 {
        self.rope.max_positions()
    }

    /// Final hidden states `[b, t, hidden]` for `ids` `[b, t]` at `positions` `[b, t]`; `valid` `[b, t]` (bool)
    /// marks real tokens (false for left padding). With a cache the tokens are appended to it.
    pub fn forward_hidden(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        valid: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let (b, t) = ids.size2().torch()?;
        if let Some(c) = &cache {
            if c.remaining() < t || c.batch() != b {
                return Err(Error::Config(format!(
                    "KV cache has {} rows and {} free slots; asked for {b} rows of {t} tokens",
                    c.batch(),
                    c.remaining()
                )));
            }
        }
        let mut xs = self.embed_tokens.index_select(0, &ids.reshape([-1])).reshape([b, t, -1]);
        let rope = self.rope.tables(positions);
        match cache {
            Some(cache) => {
                let start = cache.len();
                let mask = cache.begin(valid);
                for (i, layer) in self.layers.iter().enumerate() {
                    xs = layer.forward(&xs, &rope, Some(&mask), Some((cache.layer_mut(i), start)));
                }
                cache.advance(t);
            }
            None => {
                let mask = attention_mask(valid, 0);
                for layer in &self.layers {
                    xs = layer.forward(&xs, &rope, Some(&mask), None);
                }
            }
        }
        Ok(self.norm.forward(&xs))
    }

    /// Final hidden states `[b, t, hidden]` of right-padded rows (every row's tokens from column 0, padding
    /// after them): plain causal attention, no mask tensor (a real token never sees the padding after it), which
    /// lets libtorch use its fused attention kernels. Positions are `0..t`. Values at padding are meaningless.
    pub fn forward_hidden_right_padded(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.size2().torch()?;
        if t > self.max_positions() {
            return Err(Error::Config(format!("sequence of {t} tokens exceeds {} positions", self.max_positions())));
        }
        let positions = Tensor::arange(t, (Kind::Int64, ids.device())).unsqueeze(0).expand([b, t], false);
        let mut xs = self.embed_tokens.index_select(0, &ids.reshape([-1])).reshape([b, t, -1]);
        let rope = self.rope.tables(&positions);
        for layer in &self.layers {
            xs = layer.forward(&xs, &rope, None, None);
        }
        Ok(self.norm.forward(&xs))
    }

    /// Logits `[..., vocab]` (model dtype) for hidden states `[..., hidden]`.
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        hidden.linear::<Tensor>(&self.lm_head, None)
    }

    /// Logits for every position `[b, t, vocab]`, as a trainer needs for log-probs of given tokens.
    /// `attention_mask` `[b, t]` (1 = token, 0 = left padding); positions count real tokens only, so a padded
    /// row gives the same logits as the row alone.
    pub fn forward_logits(&self, ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let (_, t) = ids.size2().torch()?;
        if t > self.max_positions() {
            return Err(Error::Config(format!("sequence of {t} tokens exceeds {} positions", self.max_positions())));
        }
        let (positions, valid) = positions_from_mask(attention_mask);
        let hidden = self.forward_hidden(ids, &positions, &valid, None)?;
        Ok(self.logits(&hidden))
    }
}

/// Position ids `cumsum(mask) - 1` (0 on padding) and the boolean validity mask, both `[b, t]`.
pub fn positions_from_mask(attention_mask: &Tensor) -> (Tensor, Tensor) {
    let mask = attention_mask.to_kind(Kind::Int64);
    let positions = (mask.cumsum(1, Kind::Int64) - 1).clamp_min(0);
    (positions, mask.gt(0))
}
