//! `webtape model init`: a tiny random Qwen2 checkpoint built from nothing — a byte-level BPE tokenizer trained on
//! a snapshot's text (word or Qwen2 pre-tokenizer, ChatML specials, tool-call tokens), the config files, and weights drawn
//! from a seed — which [`super::Policy::load`] and `transformers` both load. Same spec + corpus → same bytes.
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::config::ModelConfig;
use super::decoder::Decoder;
pub use super::init_corpus::{corpus_from_snapshot, corpus_from_snapshots};
pub use super::init_vocab::Numbers;
use super::init_vocab::{add_number_chunks, add_whole_words};
use super::policy::DEFAULT_SHARD_BYTES;
use super::tokenizer::read_json;
use super::weights::save_checkpoint;
use crate::TorchResult;
use crate::{Error, Result};

/// Qwen2.5-Instruct's chat template (function calling in `<tool_call>` tags).
pub const CHAT_TEMPLATE: &str = include_str!("qwen2_5_chat_template.jinja");
/// Qwen2's pre-tokenizer split: contractions, letter runs, single digits, punctuation runs, newlines, spaces.
const QWEN_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Word split: letter runs, single digits, punctuation runs and whitespace runs are separate pre-tokens, so a
/// word has one tokenization wherever it stands (after a space, a quote or a tag).
const WORD_SPLIT: &str = r"\p{L}+|\p{N}|[^\s\p{L}\p{N}]+|\s+";
/// Special tokens: ids 0, 1, 2 of the vocabulary.
pub(super) const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
/// Added tokens that stay text (not special), as Qwen's `<tool_call>`: the last ids of the vocabulary.
const TOOL_TOKENS: &str =
    "<tool_call> </tool_call> <tool_response> </tool_response> <think> </think> <answer> </answer>";
/// Written last into a finished folder: the spec and a digest of the corpus, so a rerun can tell it is done.
const STAMP_FILE: &str = "init_spec.json";

/// The shape of the model to build and the seed of its weights.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InitSpec {
    /// Target vocabulary (BPE tokens + special and tool tokens); smaller when the corpus runs out of merges.
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub rope_theta: f64,
    pub tie_word_embeddings: bool,
    /// Seeds the weights (the tokenizer depends on the corpus alone).
    pub seed: u64,
    /// Standard deviation of the normal init of linear and embedding weights (`initializer_range`).
    pub init_std: f64,
    /// Most characters of page text taken from the snapshot for the tokenizer.
    pub max_corpus_chars: usize,
    /// Times the sample agent episodes (system prompt with tools, tool calls, observations) are in the tokenizer's
    /// corpus; more gives the prompt and tool format more of a small vocabulary, so episodes are shorter.
    pub agent_repeats: usize,
    /// How text is cut before BPE: `words` (default) or `qwen`.
    pub pretokenizer: Pretokenizer,
    /// How numbers become tokens: `digits` (default, one per digit) or `chunks` (runs of up to three digits, each
    /// one of 1,110 tokens counted in `vocab_size`).
    #[serde(skip_serializing_if = "Numbers::is_digits")]
    pub numbers: Numbers,
    /// Words kept as one token each, matched before the split (e.g. the tool names `web_search`, `browse_webpage`,
    /// so a small model never writes half of one and half of the other); counted in `vocab_size`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub whole_words: Vec<String>,
}

/// The pre-tokenizer split of the BPE tokenizer `model init` trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pretokenizer {
    /// Qwen2's regex: a word carries the one character before it (" Paris", "\"Paris", ">Paris" differ).
    Qwen,
    /// Words, digits, punctuation and whitespace apart: "Paris" is the same tokens after a space, a quote or
    /// `<answer>`, so a small model copies a name from a page into a query or an answer token for token.
    /// About 20 % more tokens than `qwen` on prose (spaces are tokens of their own).
    #[default]
    Words,
}

impl Default for InitSpec {
    fn default() -> Self {
        InitSpec {
            vocab_size: 4096,
            hidden_size: 128,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            intermediate_size: 384,
            max_position_embeddings: 8192,
            rope_theta: 10000.0,
            tie_word_embeddings: true,
            seed: 0,
            init_std: 0.02,
            max_corpus_chars: 20_000_000,
            agent_repeats: 32,
            pretokenizer: Pretokenizer::Words,
            numbers: Numbers::Digits,
            whole_words: Vec::new(),
        }
    }
}

impl InitSpec {
    /// Vocabulary entries set by rule (tool tags, whole words, number chunks), not learnt by BPE.
    fn reserved_tokens(&self) -> usize {
        TOOL_TOKENS.split_whitespace().count() + self.whole_words.len() + self.numbers.extra_tokens()
    }

    /// Checks sizes; the message names the offending field.
    pub fn validate(&self) -> Result<()> {
        let (h, heads, kv) = (self.hidden_size, self.num_attention_heads, self.num_key_value_heads);
        let (vocab, theta, std) = (self.vocab_size, self.rope_theta, self.init_std);
        let sizes = [h, self.num_hidden_layers, heads, kv, self.intermediate_size, self.max_position_embeddings];
        let names = "hidden_size num_hidden_layers num_attention_heads num_key_value_heads intermediate_size \
                     max_position_embeddings";
        if let Some((name, _)) = names.split_whitespace().zip(sizes).find(|(_, v)| *v == 0) {
            return Err(Error::Config(format!("model init: {name} must be at least 1")));
        }
        let reserved = self.reserved_tokens();
        let rules = [
            ((300..=1 << 20).contains(&vocab), format!("vocab_size ({vocab}) must be 300..=1048576")),
            (
                vocab >= reserved + 300,
                format!("vocab_size ({vocab}) must leave at least 300 tokens for BPE after the {reserved} set by rule"),
            ),
            (h % heads == 0, format!("hidden_size ({h}) must be a multiple of num_attention_heads ({heads})")),
            ((h / heads) % 2 == 0, format!("hidden_size / num_attention_heads ({}) must be even (RoPE)", h / heads)),
            (
                heads % kv == 0,
                format!("num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kv})"),
            ),
            (theta.is_finite() && theta > 0.0, format!("rope_theta ({theta}) must be positive")),
            (std.is_finite() && std > 0.0, format!("init_std ({std}) must be positive")),
        ];
        match rules.into_iter().find(|(ok, _)| !ok) {
            Some((_, msg)) => Err(Error::Config(format!("model init: {msg}"))),
            None => Ok(()),
        }
    }
}

/// Builds the checkpoint folder `out` (config, tokenizer, weights) from `spec`, training the tokenizer on `corpus`.
/// Written into a sibling temporary folder and renamed into place, so a crash leaves no half checkpoint. A non-empty
/// `out` is refused unless it already holds this very init (then nothing is done).
pub fn init_model(spec: &InitSpec, corpus: &[String], out: &Path) -> Result<()> {
    spec.validate()?;
    let stamp = stamp(spec, corpus)?;
    if is_done(out, &stamp)? {
        return Ok(());
    }
    let staging = staging_dir(out)?;
    let result = build(spec, corpus, &staging, &stamp).and_then(|()| move_into_place(&staging, out));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Parameters of a decoder with `config` (tied embeddings counted once).
pub fn parameter_count(config: &ModelConfig) -> usize {
    let vs = VarStore::new(Device::Cpu);
    let _model = Decoder::new(vs.root(), config, Kind::Float);
    vs.variables().values().map(Tensor::numel).sum()
}

/// What `init_spec.json` holds: the spec and the corpus's size and digest.
fn stamp(spec: &InitSpec, corpus: &[String]) -> Result<Value> {
    let mut hasher = blake3::Hasher::new();
    for text in corpus {
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    let chars: usize = corpus.iter().map(|t| t.chars().count()).sum();
    let spec = serde_json::to_value(spec).map_err(|e| Error::json("init spec", e))?;
    let corpus = json!({"texts": corpus.len(), "chars": chars, "blake3": hasher.finalize().to_hex().to_string()});
    Ok(json!({"format": 1, "spec": spec, "corpus": corpus}))
}

/// Whether `out` already holds the init described by `stamp`; an error when it holds anything else.
fn is_done(out: &Path, stamp: &Value) -> Result<bool> {
    let mut entries = match std::fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(out, e)),
    };
    if entries.next().is_none() {
        return Ok(false);
    }
    let refuse = |why: &str| Err(Error::Config(format!("{}: {why}; remove it or choose another --out", out.display())));
    match read_json(&out.join(STAMP_FILE))? {
        None => refuse("the folder is not empty and is not a `webtape model init` checkpoint"),
        Some(found) if &found != stamp => refuse("it holds a model initialised from another spec or corpus"),
        Some(_) => {
            match ["config.json", "tokenizer.json", "tokenizer_config.json"].iter().find(|f| !out.join(f).exists()) {
                Some(missing) => refuse(&format!("the checkpoint is incomplete ({missing} is missing)")),
                None => Ok(true),
            }
        }
    }
}

/// A fresh `.NAME.init-tmp` folder next to `out` (same filesystem, so the final rename is atomic).
fn staging_dir(out: &Path) -> Result<PathBuf> {
    let name = out.file_name().ok_or_else(|| Error::Config(format!("{} names no folder", out.display())))?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let staging = parent.join(format!(".{}.init-tmp", name.to_string_lossy()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
    Ok(staging)
}

fn move_into_place(staging: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir(out).map_err(|e| Error::io(out, e))?; // empty: checked by `is_done`
    }
    std::fs::rename(staging, out).map_err(|e| Error::io(out, e))
}

/// Writes every file of the checkpoint into `dir`, the stamp last.
fn build(spec: &InitSpec, corpus: &[String], dir: &Path, stamp: &Value) -> Result<()> {
    let tokenizer = train_tokenizer(spec, corpus)?;
    let path = dir.join("tokenizer.json");
    tokenizer.save(&path, true).map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
    let id =
        |t: &str| tokenizer.token_to_id(t).ok_or_else(|| Error::Tokenizer(format!("{t} is not in the vocabulary")));
    let (eot, im_end) = (id(SPECIAL_TOKENS[0])?, id(SPECIAL_TOKENS[2])?);
    let tokenizer_config = json!({
        "tokenizer_class": "Qwen2Tokenizer", "bos_token": null, "eos_token": SPECIAL_TOKENS[2],
        "pad_token": SPECIAL_TOKENS[0], "unk_token": null, "model_max_length": spec.max_position_embeddings,
        "clean_up_tokenization_spaces": false, "split_special_tokens": false, "errors": "replace",
        "chat_template": CHAT_TEMPLATE,
    });
    write_json(&dir.join("tokenizer_config.json"), &tokenizer_config)?;
    let generation = json!({"bos_token_id": eot, "eos_token_id": [im_end, eot], "pad_token_id": eot});
    write_json(&dir.join("generation_config.json"), &generation)?;
    let vocab = tokenizer.get_vocab_size(true).div_ceil(64) * 64;
    let config = ModelConfig::from_json(&model_config(spec, vocab, eot, im_end).to_string())?;
    let vs = VarStore::new(Device::Cpu);
    let _model = Decoder::new(vs.root(), &config, Kind::Float);
    fill_weights(&vs, spec)?;
    save_checkpoint(&vs, &config, dir, DEFAULT_SHARD_BYTES)?;
    write_json(&dir.join(STAMP_FILE), stamp)
}

/// `config.json` of a Qwen2ForCausalLM as `transformers` writes it (pre-v5 key names).
fn model_config(spec: &InitSpec, vocab: usize, eot: u32, im_end: u32) -> Value {
    json!({
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "attention_dropout": 0.0,
        "bos_token_id": eot, "eos_token_id": im_end, "pad_token_id": eot, "hidden_act": "silu",
        "hidden_size": spec.hidden_size, "initializer_range": spec.init_std,
        "intermediate_size": spec.intermediate_size, "max_position_embeddings": spec.max_position_embeddings,
        "max_window_layers": spec.num_hidden_layers, "num_attention_heads": spec.num_attention_heads,
        "num_hidden_layers": spec.num_hidden_layers, "num_key_value_heads": spec.num_key_value_heads,
        "rms_norm_eps": 1e-6, "rope_scaling": null, "rope_theta": spec.rope_theta, "sliding_window": null,
        "tie_word_embeddings": spec.tie_word_embeddings, "torch_dtype": "float32", "use_cache": true,
        "use_sliding_window": false, "vocab_size": vocab,
    })
}

/// Byte-level BPE as `tests/py/make_tiny_models.py` (and Qwen2) build it: NFC, a split regex (see [`Pretokenizer`]), byte-level
/// pre-tokenizer and decoder; the special tokens get ids 0..3, the tool tokens come last. Deterministic: merges are
/// picked by count, ties by token ids, and ids follow the (sorted) byte alphabet and the merge order.
pub(super) fn train_tokenizer(spec: &InitSpec, corpus: &[String]) -> Result<Tokenizer> {
    let err = |e: tokenizers::Error| Error::Tokenizer(e.to_string());
    let mut tok = Tokenizer::new(BPE::default());
    tok.with_normalizer(Some(NFC)).map_err(err)?;
    let pattern = match spec.pretokenizer {
        Pretokenizer::Qwen => QWEN_SPLIT,
        Pretokenizer::Words => WORD_SPLIT,
    };
    // BPE learns on single digits; number chunks, if any, are added by rule after.
    let split =
        Split::new(SplitPattern::Regex(pattern.into()), SplitDelimiterBehavior::Isolated, false).map_err(err)?;
    tok.with_pre_tokenizer(Some(Sequence::new(vec![split.into(), ByteLevel::new(false, true, false).into()])));
    tok.with_decoder(Some(ByteLevel::default()));
    let trainer = BpeTrainer::builder()
        .vocab_size(spec.vocab_size - spec.reserved_tokens())
        .show_progress(false)
        .special_tokens(SPECIAL_TOKENS.iter().map(|t| AddedToken::from(*t, true)).collect())
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect::<HashSet<char>>())
        .build();
    tok.train(&mut TrainerWrapper::BpeTrainer(trainer), corpus.iter()).map_err(err)?;
    if spec.numbers == Numbers::Chunks {
        tok = add_number_chunks(&tok, &spec.numbers.pattern(pattern))?;
    }
    add_whole_words(&mut tok, &spec.whole_words)?;
    tok.add_tokens(TOOL_TOKENS.split_whitespace().map(|t| AddedToken::from(t, false).normalized(false)))
        .map_err(err)?;
    Ok(tok)
}

/// Fills every parameter: ones for RMSNorm weights, zeros for biases, normal(0, init_std) for the rest.
fn fill_weights(vs: &VarStore, spec: &InitSpec) -> Result<()> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, var) in vars {
        let values = initial_values(&name, var.numel(), spec);
        let src = Tensor::from_slice(&values).reshape(var.size());
        let mut dst = var.shallow_clone();
        tch::no_grad(|| dst.f_copy_(&src)).torch()?;
    }
    Ok(())
}

/// The initial values of one parameter. Normal draws come from a blake3 stream keyed by seed and name (Box-Muller
/// in f64), so every tensor is fixed by the spec alone: no global RNG, no dependence on order or threads.
fn initial_values(name: &str, n: usize, spec: &InitSpec) -> Vec<f32> {
    if name.ends_with("norm.weight") {
        return vec![1.0; n];
    }
    if name.ends_with(".bias") {
        return vec![0.0; n];
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"webtape model init\0").update(&spec.seed.to_le_bytes()).update(name.as_bytes());
    let mut stream = hasher.finalize_xof();
    let unit = 1.0 / (1u64 << 53) as f64;
    let mut out = Vec::with_capacity(n + 1);
    let mut buf = [0u8; 4096];
    while out.len() < n {
        stream.fill(&mut buf);
        for pair in buf.chunks_exact(16) {
            let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes")) >> 11;
            let u1 = (word(&pair[..8]) + 1) as f64 * unit; // (0, 1]
            let angle = std::f64::consts::TAU * word(&pair[8..]) as f64 * unit;
            let radius = (-2.0 * u1.ln()).sqrt() * spec.init_std;
            out.extend([(radius * angle.cos()) as f32, (radius * angle.sin()) as f32]);
        }
    }
    out.truncate(n);
    out
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::json("model file", e))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}
