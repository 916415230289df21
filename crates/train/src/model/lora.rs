//! LoRA settings (the train config's `[lora]` section) and the pure arithmetic around them: which projections
//! get an adapter, PEFT's tensor names, the seeded initial values of `lora_A`, trainable-parameter counts.
//! Tensors and files live elsewhere: the adapter in [`super::layers::Linear`], PEFT's files in [`super::adapter`].
use serde::{Deserialize, Serialize};

use super::config::ModelConfig;
use crate::{Error, Result};

/// The projections an adapter can wrap, in the order they are listed and saved (PEFT's `target_modules` names).
pub const TARGETS: [&str; 7] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/// `[lora]`: low-rank adapters `y = W x + b + (alpha / rank) · B (A x)` on the chosen projections, with every
/// base weight (embeddings, norms and LM head included) frozen. There is no dropout: the adapter path is
/// deterministic, so reruns and resumes stay bit-identical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoraConfig {
    /// `r`: rows of `A` `[r, in]` and columns of `B` `[out, r]`.
    pub rank: i64,
    /// `lora_alpha`: the adapter's output is scaled by `alpha / rank`.
    pub alpha: f64,
    /// Projections to adapt, among [`TARGETS`] (default: all of them, attention and MLP).
    pub targets: Vec<String>,
    /// Seed of `A`'s initial values (`B` starts at zero, so a fresh adapter leaves the model unchanged).
    pub seed: u64,
    /// Whether the SFT warm start trains an adapter too (true, the default) or every weight (false: only GRPO
    /// trains an adapter, on the full SFT checkpoint). Left out of a serialized config when true.
    #[serde(skip_serializing_if = "is_true")]
    pub sft: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            rank: 8,
            alpha: 16.0,
            targets: TARGETS.iter().map(|t| t.to_string()).collect(),
            seed: 0,
            sft: true,
        }
    }
}

impl LoraConfig {
    /// Checks the rank, alpha and target names; errors name the field (`lora.rank`, ...).
    pub fn validate(&self) -> Result<()> {
        if self.rank < 1 {
            return Err(Error::Config(format!("lora.rank must be at least 1, got {}", self.rank)));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::Config(format!("lora.alpha must be a positive number, got {}", self.alpha)));
        }
        if self.targets.is_empty() {
            return Err(Error::Config(format!("lora.targets is empty; name some of {}", TARGETS.join(", "))));
        }
        for (i, t) in self.targets.iter().enumerate() {
            if !TARGETS.contains(&t.as_str()) {
                return Err(Error::Config(format!(
                    "lora.targets: unknown module {t:?} (known: {})",
                    TARGETS.join(", ")
                )));
            }
            if self.targets[..i].contains(t) {
                return Err(Error::Config(format!("lora.targets names {t:?} twice")));
            }
        }
        Ok(())
    }

    /// `alpha / rank`, the factor on the adapter's output.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }

    /// Whether projection `name` (e.g. `q_proj`) gets an adapter.
    pub fn wraps(&self, name: &str) -> bool {
        self.targets.iter().any(|t| t == name)
    }

    /// The targets in [`TARGETS`] order (how they are written to `adapter_config.json` and compared).
    pub fn sorted_targets(&self) -> Vec<String> {
        TARGETS.iter().filter(|t| self.wraps(t)).map(|t| t.to_string()).collect()
    }

    /// Trainable parameters of these adapters on a model with `config`: `rank · (in + out)` per wrapped projection.
    pub fn parameter_count(&self, config: &ModelConfig) -> usize {
        let per_layer: i64 = TARGETS
            .iter()
            .filter(|t| self.wraps(t))
            .map(|t| {
                let (inp, out) = projection_shape(config, t);
                self.rank * (inp + out)
            })
            .sum();
        (per_layer * config.num_layers) as usize
    }
}

/// `(in, out)` features of projection `name` in one block.
pub fn projection_shape(config: &ModelConfig, name: &str) -> (i64, i64) {
    let (h, i, d) = (config.hidden_size, config.intermediate_size, config.head_dim);
    match name {
        "q_proj" => (h, config.num_heads * d),
        "k_proj" | "v_proj" => (h, config.num_kv_heads * d),
        "o_proj" => (config.num_heads * d, h),
        "gate_proj" | "up_proj" => (h, i),
        _ => (i, h),
    }
}

/// The block scope (`self_attn` or `mlp`) a projection sits in.
pub fn scope_of(name: &str) -> &'static str {
    if matches!(name, "gate_proj" | "up_proj" | "down_proj") {
        "mlp"
    } else {
        "self_attn"
    }
}

/// PEFT's saved name of an adapter matrix: `base_model.model.model.layers.{layer}.{scope}.{name}.lora_{A|B}.weight`.
pub fn peft_key(layer: i64, name: &str, matrix: char) -> String {
    format!("base_model.model.model.layers.{layer}.{}.{name}.lora_{matrix}.weight", scope_of(name))
}

/// Initial values of `lora_A` `[rank, in]` (row-major): uniform on `[-1/√in, 1/√in]`, the bound of PEFT's
/// `kaiming_uniform_(a=√5)`. Drawn from a blake3 stream keyed by the seed and the tensor's PEFT name, in f64,
/// so each matrix is fixed by (seed, name) alone: no global RNG, no dependence on device, order or targets.
pub fn initial_a(seed: u64, key: &str, rank: i64, in_features: i64) -> Vec<f32> {
    let n = (rank * in_features) as usize;
    let bound = 1.0 / (in_features as f64).sqrt();
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"webtape lora A\0").update(&seed.to_le_bytes()).update(key.as_bytes());
    let mut stream = hasher.finalize_xof();
    let unit = 1.0 / (1u64 << 53) as f64;
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; 4096];
    while out.len() < n {
        stream.fill(&mut buf);
        for word in buf.chunks_exact(8) {
            let u = (u64::from_le_bytes(word.try_into().expect("8 bytes")) >> 11) as f64 * unit; // [0, 1)
            out.push(((2.0 * u - 1.0) * bound) as f32);
        }
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rank: i64, targets: &[&str]) -> LoraConfig {
        LoraConfig { rank, targets: targets.iter().map(|t| t.to_string()).collect(), ..LoraConfig::default() }
    }

    #[test]
    fn bad_settings_name_the_field() {
        let err = |c: LoraConfig| c.validate().unwrap_err().to_string();
        assert!(err(cfg(0, &["q_proj"])).contains("lora.rank"));
        assert!(err(LoraConfig { alpha: 0.0, ..LoraConfig::default() }).contains("lora.alpha"));
        let unknown = err(cfg(8, &["q_proj", "qkv_proj"]));
        assert!(unknown.contains("lora.targets") && unknown.contains("qkv_proj"), "{unknown}");
        assert!(err(cfg(8, &[])).contains("lora.targets"));
        assert!(err(cfg(8, &["v_proj", "v_proj"])).contains("twice"));
        LoraConfig::default().validate().unwrap();
    }

    #[test]
    fn toml_section_defaults_and_unknown_keys() {
        let c: LoraConfig = toml::from_str("rank = 4\ntargets = [\"v_proj\", \"q_proj\"]").unwrap();
        assert_eq!((c.rank, c.alpha, c.seed), (4, 16.0, 0));
        assert_eq!(c.sorted_targets(), ["q_proj", "v_proj"]);
        assert_eq!(c.scale(), 4.0);
        let e = toml::from_str::<LoraConfig>("dropout = 0.05").unwrap_err().to_string();
        assert!(e.contains("dropout"), "{e}");
    }

    #[test]
    fn initial_a_is_seeded_bounded_and_per_tensor() {
        let key = peft_key(0, "q_proj", 'A');
        assert_eq!(key, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
        assert_eq!(peft_key(2, "down_proj", 'B'), "base_model.model.model.layers.2.mlp.down_proj.lora_B.weight");
        let a = initial_a(3, &key, 8, 64);
        assert_eq!(a.len(), 512);
        assert_eq!(a, initial_a(3, &key, 8, 64));
        assert_ne!(a, initial_a(4, &key, 8, 64));
        assert_ne!(a, initial_a(3, &peft_key(0, "k_proj", 'A'), 8, 64));
        let bound = 1.0f64 / 8.0;
        assert!(a.iter().all(|&x| (x as f64).abs() <= bound));
        let mean = a.iter().map(|&x| x as f64).sum::<f64>() / 512.0;
        let var = a.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / 512.0;
        assert!(mean.abs() < 0.01 && (var - bound * bound / 3.0).abs() < 0.001, "mean {mean} var {var}");
    }

    /// Qwen2.5-0.5B (`config.json` sizes): rank 8 on all seven projections gives PEFT's well-known 4,399,104.
    #[test]
    fn trainable_parameters_of_qwen2_5_0_5b() {
        let json = r#"{"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
            "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0, "max_position_embeddings": 32768, "tie_word_embeddings": true}"#;
        let config = ModelConfig::from_json(json).unwrap();
        assert_eq!(LoraConfig::default().parameter_count(&config), 4_399_104);
        assert_eq!(cfg(16, &["q_proj", "v_proj"]).parameter_count(&config), 24 * 16 * (896 + 896 + 896 + 128));
    }
}
