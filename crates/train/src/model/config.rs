//! The decoder's hyper-parameters, read from a Hugging Face `config.json` (Qwen2, Qwen2.5, Qwen3, Llama).
use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// Which family of decoder a checkpoint holds; decides biases and per-head norms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Qwen2 / Qwen2.5: q/k/v projections carry biases.
    Qwen2,
    /// Qwen3: RMSNorm on each query and key head (`q_norm`, `k_norm`); biases only with `attention_bias`.
    Qwen3,
    /// Llama 2/3 and look-alikes (Mistral without sliding window): biases only when `attention_bias` says so.
    Llama,
}

/// How rotary frequencies are rescaled for long contexts (`rope_scaling` / `rope_parameters`).
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE.
    None,
    /// Position interpolation: every frequency divided by `factor`.
    Linear { factor: f64 },
    /// Llama 3.1's piecewise rescaling.
    Llama3 { factor: f64, low_freq_factor: f64, high_freq_factor: f64, original_max_position: f64 },
}

/// Everything the decoder needs to know, normalised across architectures and `transformers` versions.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub arch: Arch,
    pub model_type: String,
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub intermediate_size: i64,
    pub num_layers: i64,
    pub num_heads: i64,
    pub num_kv_heads: i64,
    pub head_dim: i64,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub rope_scaling: RopeScaling,
    /// Longest sequence (prompt + generation) supported; for Mistral capped at its sliding window.
    pub max_position_embeddings: i64,
    pub tie_word_embeddings: bool,
    /// Whether q/k/v projections have biases.
    pub qkv_bias: bool,
    /// Whether the output projection has a bias (Llama `attention_bias`).
    pub o_bias: bool,
    /// Whether the MLP projections have biases (Llama `mlp_bias`).
    pub mlp_bias: bool,
    /// The dtype the weights were saved in (`torch_dtype` / `dtype`), e.g. "bfloat16".
    pub torch_dtype: Option<String>,
    pub bos_token_id: Option<u32>,
    pub eos_token_ids: Vec<u32>,
    pub pad_token_id: Option<u32>,
    /// The file as read, so a saved checkpoint keeps every field `transformers` wrote.
    pub raw: serde_json::Value,
}

/// `config.json` as written by `transformers`; optional fields differ between families and versions.
#[derive(Debug, Deserialize)]
struct RawConfig {
    model_type: String,
    vocab_size: i64,
    hidden_size: i64,
    intermediate_size: i64,
    num_hidden_layers: i64,
    num_attention_heads: i64,
    num_key_value_heads: Option<i64>,
    head_dim: Option<i64>,
    rms_norm_eps: f64,
    rope_theta: Option<f64>,
    rope_scaling: Option<serde_json::Value>,
    rope_parameters: Option<serde_json::Value>,
    max_position_embeddings: i64,
    #[serde(default)]
    tie_word_embeddings: bool,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    hidden_act: Option<String>,
    torch_dtype: Option<String>,
    dtype: Option<String>,
    bos_token_id: Option<serde_json::Value>,
    eos_token_id: Option<serde_json::Value>,
    pad_token_id: Option<serde_json::Value>,
    use_sliding_window: Option<bool>,
    sliding_window: Option<serde_json::Value>,
}

impl ModelConfig {
    /// Reads `dir/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Self::from_json(&text).map_err(|e| match e {
            Error::Config(m) => Error::checkpoint(&path, m),
            other => other,
        })
    }

    /// Parses the text of a `config.json`.
    pub fn from_json(text: &str) -> Result<Self> {
        let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::json("config.json", e))?;
        let c: RawConfig = serde_json::from_value(raw.clone()).map_err(|e| Error::json("config.json", e))?;
        let arch = match c.model_type.as_str() {
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "llama" | "mistral" => Arch::Llama,
            other => {
                return Err(Error::Config(format!(
                    "model_type {other:?} is not supported (supported: qwen2, qwen3, llama, mistral)"
                )))
            }
        };
        if let Some(act) = c.hidden_act.as_deref().filter(|a| *a != "silu") {
            return Err(Error::Config(format!("hidden_act {act:?} is not supported (only silu)")));
        }
        if c.use_sliding_window == Some(true) {
            return Err(Error::Config("use_sliding_window = true is not supported".into()));
        }
        if c.hidden_size % c.num_attention_heads != 0 && c.head_dim.is_none() {
            return Err(Error::Config("hidden_size is not a multiple of num_attention_heads".into()));
        }
        let num_kv_heads = c.num_key_value_heads.unwrap_or(c.num_attention_heads);
        if c.num_attention_heads % num_kv_heads != 0 {
            return Err(Error::Config("num_attention_heads is not a multiple of num_key_value_heads".into()));
        }
        let (rope_theta, rope_scaling) = rope(&c)?;
        // Mistral attends within a sliding window; below the window that is full attention, so cap the length.
        let window = c.sliding_window.as_ref().and_then(|w| w.as_i64()).filter(|_| c.model_type == "mistral");
        let max_positions = window.map_or(c.max_position_embeddings, |w| w.min(c.max_position_embeddings));
        let attention_bias = c.attention_bias.unwrap_or(false);
        Ok(ModelConfig {
            arch,
            vocab_size: c.vocab_size,
            hidden_size: c.hidden_size,
            intermediate_size: c.intermediate_size,
            num_layers: c.num_hidden_layers,
            num_heads: c.num_attention_heads,
            num_kv_heads,
            head_dim: c.head_dim.unwrap_or(c.hidden_size / c.num_attention_heads),
            rms_norm_eps: c.rms_norm_eps,
            rope_theta,
            rope_scaling,
            max_position_embeddings: max_positions,
            tie_word_embeddings: c.tie_word_embeddings,
            qkv_bias: arch == Arch::Qwen2 || attention_bias,
            o_bias: arch != Arch::Qwen2 && attention_bias,
            mlp_bias: arch == Arch::Llama && c.mlp_bias.unwrap_or(false),
            torch_dtype: c.torch_dtype.or(c.dtype),
            bos_token_id: token_ids(c.bos_token_id.as_ref()).first().copied(),
            eos_token_ids: token_ids(c.eos_token_id.as_ref()),
            pad_token_id: token_ids(c.pad_token_id.as_ref()).first().copied(),
            model_type: c.model_type,
            raw,
        })
    }
}

/// Token ids given as a number, a list of numbers or null.
pub(crate) fn token_ids(v: Option<&serde_json::Value>) -> Vec<u32> {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_u64().map(|n| vec![n as u32]).unwrap_or_default(),
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_u64()).map(|n| n as u32).collect(),
        _ => Vec::new(),
    }
}

/// RoPE base and scaling, from either the old keys (`rope_theta`, `rope_scaling`) or v5's `rope_parameters`.
fn rope(c: &RawConfig) -> Result<(f64, RopeScaling)> {
    let params = c.rope_parameters.as_ref().or(c.rope_scaling.as_ref()).filter(|v| !v.is_null());
    let theta = params.and_then(|p| p.get("rope_theta")).and_then(|v| v.as_f64()).or(c.rope_theta).unwrap_or(10000.0);
    let Some(p) = params else { return Ok((theta, RopeScaling::None)) };
    let kind = p.get("rope_type").or_else(|| p.get("type")).and_then(|v| v.as_str()).unwrap_or("default");
    let num = |key: &str| {
        p.get(key).and_then(|v| v.as_f64()).ok_or_else(|| Error::Config(format!("rope scaling {kind}: missing {key}")))
    };
    let scaling = match kind {
        "default" => RopeScaling::None,
        "linear" => RopeScaling::Linear { factor: num("factor")? },
        "llama3" => RopeScaling::Llama3 {
            factor: num("factor")?,
            low_freq_factor: num("low_freq_factor")?,
            high_freq_factor: num("high_freq_factor")?,
            original_max_position: num("original_max_position_embeddings")?,
        },
        other => return Err(Error::Config(format!("rope scaling type {other:?} is not supported"))),
    };
    Ok((theta, scaling))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QWEN2: &str = r#"{"model_type":"qwen2","vocab_size":100,"hidden_size":64,"intermediate_size":96,
        "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"rms_norm_eps":1e-6,
        "rope_theta":1000000.0,"max_position_embeddings":128,"tie_word_embeddings":true,
        "torch_dtype":"bfloat16","eos_token_id":[5,6],"rope_scaling":null}"#;

    #[test]
    fn qwen2_has_qkv_bias_and_derived_head_dim() {
        let c = ModelConfig::from_json(QWEN2).unwrap();
        assert_eq!((c.arch, c.head_dim, c.qkv_bias, c.o_bias), (Arch::Qwen2, 16, true, false));
        assert_eq!((c.rope_theta, c.rope_scaling.clone()), (1e6, RopeScaling::None));
        assert_eq!(c.eos_token_ids, vec![5, 6]);
        assert_eq!(c.torch_dtype.as_deref(), Some("bfloat16"));
    }

    #[test]
    fn v5_rope_parameters_and_unsupported_types() {
        let v5 =
            QWEN2.replace(r#""rope_scaling":null"#, r#""rope_parameters":{"rope_theta":5.0,"rope_type":"default"}"#);
        assert_eq!(ModelConfig::from_json(&v5).unwrap().rope_theta, 5.0);
        let yarn = QWEN2.replace(r#""rope_scaling":null"#, r#""rope_scaling":{"type":"yarn","factor":4.0}"#);
        let err = ModelConfig::from_json(&yarn).unwrap_err().to_string();
        assert!(err.contains("yarn"), "{err}");
        let gpt2 = QWEN2.replace("qwen2", "gpt2");
        let err = ModelConfig::from_json(&gpt2).unwrap_err().to_string();
        assert!(err.contains("\"gpt2\" is not supported"), "{err}");
    }
}
