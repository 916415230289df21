//! A loaded checkpoint folder as the agent's policy: weights in a `VarStore`, the decoder, tokenizer, chat
//! template and EOS ids; implements [`Generator`] and [`ChatCodec`].
use std::path::{Path, PathBuf};

use tch::nn::VarStore;
use tch::{Device, Kind};

use super::codec::TextCodec;
use super::config::ModelConfig;
use super::decoder::Decoder;
use super::generate::generate;
use super::tokenizer::TextTokenizer;
use super::weights::{copy_side_files, load_weights, save_checkpoint};
use crate::agent::generator::{ChatCodec, ChatMessage, GenOutput, GenRequest, Generator, SamplingParams};
use crate::{Error, Result};

/// Default size of one saved safetensors shard (as `transformers` does).
pub const DEFAULT_SHARD_BYTES: usize = 5 << 30;

/// Model + tokenizer + chat template of one checkpoint folder.
#[derive(Debug)]
pub struct Policy {
    dir: PathBuf,
    vs: VarStore,
    model: Decoder,
    codec: TextCodec,
    /// Most sequences run through the model at once; larger calls are split (results do not change).
    pub max_batch: usize,
}

impl Policy {
    /// Loads the checkpoint in `dir` onto `device` in dtype `kind` (`None`: the checkpoint's `torch_dtype`).
    pub fn load(dir: &Path, device: Device, kind: Option<Kind>) -> Result<Self> {
        let config = ModelConfig::from_dir(dir)?;
        let kind = match kind {
            Some(k) => k,
            None => parse_kind(config.torch_dtype.as_deref().unwrap_or("float32"))?,
        };
        let vs = VarStore::new(device);
        let model = Decoder::new(vs.root(), &config, kind);
        load_weights(&vs, dir, &config)?;
        let codec = TextCodec::from_dir(dir)?;
        Ok(Policy { dir: dir.to_path_buf(), vs, model, codec, max_batch: 64 })
    }

    pub fn decoder(&self) -> &Decoder {
        &self.model
    }

    /// The parameters, for an optimizer.
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
    pub fn save(&self, dir: &Path, max_shard_bytes: usize) -> Result<()> {
        save_checkpoint(&self.vs, &self.model.config, dir, max_shard_bytes)?;
        copy_side_files(&self.dir, dir)
    }
}

/// The checkpoint's [`TextCodec`] (one implementation of tokenizing and chat rendering for both).
impl ChatCodec for Policy {
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
