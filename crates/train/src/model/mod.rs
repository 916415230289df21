//! The policy model: Hugging Face Qwen2/Qwen2.5/Qwen3/Llama checkpoints run in libtorch (tch) — config, decoder
//! with an external KV cache, weight loading/saving, batched seeded generation — plus the tokenizer and chat
//! template, which need no libtorch.
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | `config.json` → [`config::ModelConfig`] |
//! | [`tokenizer`] | `tokenizer.json` encode/decode, EOS ids |
//! | [`chat`] | the checkpoint's Jinja chat template, rendered as `transformers` does |
//! | [`pyjson`] | Python `json.dumps` spelling for templates' `tojson` |
//! | [`sampling`] | per-sequence seeded streams and the CPU-side draw |
//! | `layers`, `attention`, `decoder` | \[train\] the network and its KV cache |
//! | `weights` | \[train\] sharded safetensors in and out of a `VarStore` |
//! | `lora`, `adapter` | \[train\] `[lora]` settings and `lora_A` init; PEFT's adapter files |
//! | `generate`, `policy` | \[train\] batched generation; the [`crate::agent::generator::Generator`] impl |
//! | `init` | \[train\] a tiny random Qwen2 checkpoint with a BPE tokenizer trained on a snapshot's text |
//! | `probe` | \[train\] logits of given ids and timed fixed-length generation, to compare with other implementations |
//! | `init_corpus` | \[train\] the text that tokenizer trains on: agent-format episodes, then snapshot pages |
//! | `init_vocab` | \[train\] tokens set by rule: numbers in runs of up to three digits, whole words |
pub mod chat;
pub mod codec;
pub mod config;
pub mod pyjson;
pub mod sampling;
pub mod tokenizer;

pub mod adapter;
pub mod attention;
pub mod decoder;
pub mod generate;
pub mod init;
mod init_corpus;
mod init_vocab;
pub mod layers;
pub mod lora;
pub mod policy;
pub mod probe;
pub mod weights;

pub use config::ModelConfig;
pub use policy::{parse_device, parse_kind, Policy};
