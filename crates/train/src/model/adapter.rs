//! LoRA adapters on disk in PEFT's layout, so `peft` loads what we save and we load what it saves:
//! `adapter_config.json` (peft_type LORA, r, lora_alpha, target_modules, base_model_name_or_path) and
//! `adapter_model.safetensors` (`base_model.model.model.layers.N.{self_attn|mlp}.X_proj.lora_{A|B}.weight`).
//! Knows nothing of training; the adapter tensors themselves belong to [`super::decoder::Decoder`].
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tch::nn::VarStore;

use super::lora::{LoraConfig, TARGETS};
use super::weights::{all_loaded, fill_from_file, TensorView};
use crate::{Error, Result};

/// PEFT's adapter settings file.
pub const ADAPTER_CONFIG: &str = "adapter_config.json";
/// PEFT's adapter weights file.
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";

/// What `adapter_config.json` says: the base checkpoint and the adapter's shape (the seed is not PEFT's to know,
/// so a loaded adapter reports seed 0).
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterConfig {
    /// `base_model_name_or_path`: the checkpoint folder the adapter was trained on.
    pub base: PathBuf,
    pub lora: LoraConfig,
}

/// PEFT settings that change what an adapter computes or which weights it holds; each must be absent, false,
/// null or empty for us to run the adapter as PEFT would.
const UNSUPPORTED: [&str; 12] = [
    "use_rslora",
    "use_dora",
    "fan_in_fan_out",
    "lora_bias",
    "modules_to_save",
    "rank_pattern",
    "alpha_pattern",
    "layers_to_transform",
    "exclude_modules",
    "target_parameters",
    "trainable_token_indices",
    "layer_replication",
];

/// Whether a JSON setting is on: true, a non-empty string, list or map, or a number.
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Whether `dir` holds a PEFT adapter (rather than, or besides, full weights).
pub fn is_adapter_dir(dir: &Path) -> bool {
    dir.join(ADAPTER_CONFIG).is_file()
}

impl AdapterConfig {
    /// The JSON PEFT writes for a LoRA adapter on a causal LM (keys sorted, as `save_pretrained` does).
    pub fn to_json(&self) -> Value {
        let alpha = self.lora.alpha;
        let alpha = if alpha.fract() == 0.0 && alpha.abs() < 1e15 { json!(alpha as i64) } else { json!(alpha) };
        json!({
            "base_model_name_or_path": self.base.to_string_lossy(),
            "bias": "none",
            "fan_in_fan_out": false,
            "inference_mode": true,
            "init_lora_weights": true,
            "lora_alpha": alpha,
            "lora_dropout": 0.0,
            "modules_to_save": null,
            "peft_type": "LORA",
            "r": self.lora.rank,
            "target_modules": self.lora.sorted_targets(),
            "task_type": "CAUSAL_LM",
            "use_rslora": false,
        })
    }

    /// Reads `dir/adapter_config.json`; refuses what this model cannot run the same way PEFT would (not LoRA,
    /// rsLoRA scaling, extra trained modules, targets other than the seven projections). A relative base path
    /// is taken relative to `dir` when that exists, else to the current directory (as PEFT does).
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(ADAPTER_CONFIG);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| Error::checkpoint(&path, e.to_string()))?;
        let bad = |msg: String| Error::checkpoint(&path, msg);
        if v["peft_type"] != "LORA" {
            return Err(bad(format!("peft_type is {}, only LORA adapters are supported", v["peft_type"])));
        }
        if let Some(key) = UNSUPPORTED.iter().find(|k| is_set(&v[**k])) {
            return Err(bad(format!("{key} is set: only plain LoRA adapters (one rank, one alpha) are supported")));
        }
        let rank = v["r"].as_i64().ok_or_else(|| bad("no integer r".into()))?;
        let alpha = v["lora_alpha"].as_f64().ok_or_else(|| bad("no number lora_alpha".into()))?;
        let targets: Vec<String> = match &v["target_modules"] {
            Value::Array(items) => items.iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
            other => return Err(bad(format!("target_modules must be a list of {}, got {other}", TARGETS.join(", ")))),
        };
        let lora = LoraConfig { rank, alpha, targets, seed: 0, sft: true };
        lora.validate().map_err(|e| bad(e.to_string()))?;
        let base = v["base_model_name_or_path"].as_str().ok_or_else(|| bad("no base_model_name_or_path".into()))?;
        let base = PathBuf::from(base);
        let base = if base.is_relative() && dir.join(&base).exists() { dir.join(base) } else { base };
        Ok(AdapterConfig { base, lora })
    }

    /// An error unless this adapter has the rank, alpha and targets that `[lora]` asks for.
    pub fn check_matches(&self, wanted: &LoraConfig, dir: &Path) -> Result<()> {
        let (have, want) = (&self.lora, wanted);
        let mut diffs = Vec::new();
        if have.rank != want.rank {
            diffs.push(format!("r = {} where [lora] rank = {}", have.rank, want.rank));
        }
        if have.alpha != want.alpha {
            diffs.push(format!("lora_alpha = {} where [lora] alpha = {}", have.alpha, want.alpha));
        }
        if have.sorted_targets() != want.sorted_targets() {
            diffs.push(format!(
                "target_modules {:?} where [lora] targets = {:?}",
                have.sorted_targets(),
                want.sorted_targets()
            ));
        }
        if diffs.is_empty() {
            return Ok(());
        }
        Err(Error::Config(format!("the LoRA adapter in {} has {}", dir.display(), diffs.join(", "))))
    }
}

/// Writes the adapter variables of `vs` (named as PEFT names them) and `adapter_config.json` into `dir`.
pub fn save_adapter(vs: &VarStore, config: &AdapterConfig, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let vars: BTreeMap<String, tch::Tensor> = vs.variables().into_iter().collect();
    let views = vars.iter().map(|(name, t)| Ok((name.as_str(), TensorView::new(t)?))).collect::<Result<Vec<_>>>()?;
    let metadata = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
    let path = dir.join(ADAPTER_WEIGHTS);
    safetensors::serialize_to_file(views, metadata, &path).map_err(|e| Error::checkpoint(&path, e.to_string()))?;
    let text = serde_json::to_string_pretty(&config.to_json()).map_err(|e| Error::json("adapter_config.json", e))?;
    let path = dir.join(ADAPTER_CONFIG);
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
}

/// Fills every adapter variable of `vs` from `dir/adapter_model.safetensors`; a missing, extra or misshapen
/// tensor is an error naming it.
pub fn load_adapter_weights(vs: &VarStore, dir: &Path) -> Result<()> {
    let vars = vs.variables();
    let file = dir.join(ADAPTER_WEIGHTS);
    let loaded: BTreeSet<String> = fill_from_file(&vars, &file, |_| false, "this LoRA adapter")?;
    all_loaded(&vars, &loaded, &file)
}
