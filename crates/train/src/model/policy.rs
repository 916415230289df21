//! A loaded checkpoint folder as the agent's policy: weights in a `VarStore`, the decoder, tokenizer, chat
//! template and EOS ids, and optionally LoRA adapters (in a store of their own) over frozen base weights;
//! implements [`Generator`] and [`ChatCodec`].
use std::path::{Path, PathBuf};

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use super::adapter::{is_adapter_dir, load_adapter_weights, save_adapter, AdapterConfig};
use super::codec::TextCodec;
use super::config::ModelConfig;
use super::decoder::Decoder;
use super::generate::generate;
use super::lora::LoraConfig;
use super::tokenizer::TextTokenizer;
use super::weights::{copy_side_files, load_weights, save_checkpoint};
use crate::agent::generator::{ChatCodec, ChatMessage, GenOutput, GenRequest, Generator, SamplingParams};
use crate::{Error, Result};

/// Default size of one saved safetensors shard (as `transformers` does).
pub const DEFAULT_SHARD_BYTES: usize = 5 << 30;

/// Model + tokenizer + chat template of one checkpoint folder (with LoRA: of the base checkpoint).
#[derive(Debug)]
pub struct Policy {
    dir: PathBuf,
    vs: VarStore,
    model: Decoder,
    codec: TextCodec,
    /// The adapters' parameters and settings, when LoRA is on.
    lora: Option<(VarStore, LoraConfig)>,
    /// Most sequences run through the model at once; larger calls are split (results do not change).
    pub max_batch: usize,
}

impl Policy {
    /// Loads the checkpoint in `dir` onto `device` in dtype `kind` (`None`: the checkpoint's `torch_dtype`).
    /// A PEFT LoRA adapter folder (`adapter_config.json`) loads its base checkpoint plus the adapter.
    pub fn load(dir: &Path, device: Device, kind: Option<Kind>) -> Result<Self> {
        if is_adapter_dir(dir) {
            return Self::load_adapter(dir, None, device, kind);
        }
        let config = ModelConfig::from_dir(dir)?;
        let kind = match kind {
            Some(k) => k,
            None => parse_kind(config.torch_dtype.as_deref().unwrap_or("float32"))?,
        };
        let vs = VarStore::new(device);
        let model = Decoder::new(vs.root(), &config, kind);
        load_weights(&vs, dir, &config)?;
        let codec = TextCodec::from_dir(dir)?;
        Ok(Policy { dir: dir.to_path_buf(), vs, model, codec, lora: None, max_batch: 64 })
    }

    /// The base checkpoint (`base`, or the one `adapter_config.json` names) with the adapter in `adapter_dir`.
    pub fn load_adapter(adapter_dir: &Path, base: Option<&Path>, device: Device, kind: Option<Kind>) -> Result<Self> {
        let found = AdapterConfig::read(adapter_dir)?;
        let base = base.unwrap_or(&found.base);
        if is_adapter_dir(base) {
            return Err(Error::checkpoint(
                base,
                "the base of a LoRA adapter must be a full checkpoint, not an adapter",
            ));
        }
        let mut policy = Self::load(base, device, kind)?;
        policy.add_lora(&found.lora)?;
        load_adapter_weights(&policy.lora.as_ref().expect("just added").0, adapter_dir)?;
        Ok(policy)
    }

    /// Adds fresh LoRA adapters (see [`Decoder::attach_lora`]) and freezes every base weight: from now on only
    /// the adapters train, and [`Policy::save`] writes the adapter in PEFT's layout.
    pub fn add_lora(&mut self, cfg: &LoraConfig) -> Result<()> {
        let store = VarStore::new(self.model.device());
        self.model.attach_lora(&store.root(), cfg)?;
        self.vs.freeze();
        self.lora = Some((store, cfg.clone()));
        Ok(())
    }

    /// Folds the adapters into the base weights (`W + alpha/rank · B A`) and drops them; the weights train again.
    pub fn merge_lora(&mut self) -> Result<()> {
        self.model.merge_adapters()?;
        if self.lora.take().is_some() {
            self.vs.unfreeze();
        }
        Ok(())
    }

    /// The LoRA settings, when adapters are on.
    pub fn lora(&self) -> Option<&LoraConfig> {
        self.lora.as_ref().map(|(_, cfg)| cfg)
    }

    /// The checkpoint folder the base weights came from (recorded as an adapter's `base_model_name_or_path`).
    pub fn base_dir(&self) -> &Path {
        &self.dir
    }

    /// What the optimizer updates, sorted by name: the adapters' `lora_A`/`lora_B` with LoRA, else every
    /// weight that requires grad.
    pub fn trainable_params(&self) -> Vec<(String, Tensor)> {
        let vs = self.lora.as_ref().map_or(&self.vs, |(store, _)| store);
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars
    }

    pub fn decoder(&self) -> &Decoder {
        &self.model
    }

    /// The base model's parameters (frozen when LoRA is on; see [`Policy::trainable_params`]).
    pub fn var_store(&self) -> &VarStore {
        &self.vs
    }

    pub fn var_store_mut(&mut self) -> &mut VarStore {
        &mut self.vs
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        self.codec.tokenizer()
    }

    /// Saves weights (shards of at most `max_shard_bytes`), `config.json` and the tokenizer/generation files.
    /// With LoRA: the adapter in PEFT's layout (`adapter_model.safetensors`, `adapter_config.json` naming the
    /// base folder by absolute path) and the tokenizer files; [`Policy::load`] reads such a folder back.
    pub fn save(&self, dir: &Path, max_shard_bytes: usize) -> Result<()> {
        match &self.lora {
            Some((store, lora)) => {
                let base = std::path::absolute(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
                save_adapter(store, &AdapterConfig { base, lora: lora.clone() }, dir)?;
            }
            None => save_checkpoint(&self.vs, &self.model.config, dir, max_shard_bytes)?,
        }
        copy_side_files(&self.dir, dir)
    }
}

/// The checkpoint's [`TextCodec`] (one implementation of tokenizing and chat rendering for both).
impl ChatCodec for Policy {
    fn set_date(&self, date: &str) -> Result<()> {
        self.codec.set_date(date)
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.codec.encode(text)
    }

    fn decode(&self, tokens: &[u32]) -> Result<String> {
        self.codec.decode(tokens)
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: &[serde_json::Value],
        add_generation_prompt: bool,
    ) -> Result<String> {
        self.codec.render_chat(messages, tools, add_generation_prompt)
    }

    fn eos_token_ids(&self) -> &[u32] {
        self.codec.eos_token_ids()
    }
}

impl Generator for Policy {
    fn generate(&mut self, requests: &[GenRequest], params: &SamplingParams) -> Result<Vec<GenOutput>> {
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(self.max_batch.max(1)) {
            out.extend(generate(&self.model, self.codec.tokenizer(), self.codec.eos_token_ids(), chunk, params)?);
        }
        Ok(out)
    }

    fn codec(&self) -> &dyn ChatCodec {
        self
    }
}

/// `cpu`, `cuda`, `cuda:N` or `auto` (CUDA when available).
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(Device::cuda_if_available()),
        "cuda" | "gpu" => cuda(0),
        other => match other.strip_prefix("cuda:").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => cuda(n),
            None => Err(Error::Config(format!("unknown device {other:?} (cpu, cuda, cuda:N or auto)"))),
        },
    }
}

fn cuda(n: usize) -> Result<Device> {
    if !tch::Cuda::is_available() {
        return Err(Error::Config("CUDA was asked for but libtorch sees no CUDA device".into()));
    }
    if n as i64 >= tch::Cuda::device_count() {
        return Err(Error::Config(format!("no CUDA device {n} ({} present)", tch::Cuda::device_count())));
    }
    Ok(Device::Cuda(n))
}

/// `bf16`/`bfloat16`, `f16`/`float16`/`half`, `f32`/`float32`/`float`.
pub fn parse_kind(s: &str) -> Result<Kind> {
    match s {
        "bf16" | "bfloat16" => Ok(Kind::BFloat16),
        "f16" | "fp16" | "float16" | "half" => Ok(Kind::Half),
        "f32" | "fp32" | "float32" | "float" => Ok(Kind::Float),
        other => Err(Error::Config(format!("unsupported dtype {other:?} (bf16, f16 or f32)"))),
    }
}
