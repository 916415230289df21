//! What the agent needs from a policy model, without naming any tensor library: token-level generation with
//! per-sequence seeded sampling and log-probs ([`Generator`]), and text ↔ tokens ↔ chat ([`ChatCodec`]).
use serde::{Deserialize, Serialize};

use crate::Result;

/// One sequence to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenRequest {
    /// Prompt token ids (e.g. a rendered chat, encoded). Must not be empty.
    pub prompt: Vec<u32>,
    /// Names this sequence's random stream: with the same [`SamplingParams::seed`], the same prompt and
    /// stream give the same tokens whatever else is in the batch and in whatever order (log-probs may differ
    /// in the last bits, as matrix kernels round differently for different batch shapes).
    pub stream: u64,
}

/// How to pick tokens and when to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    pub max_new_tokens: usize,
    /// 0 = greedy (argmax); otherwise logits are divided by it before softmax.
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches `top_p` (1 = off).
    pub top_p: f32,
    /// Keep only the `top_k` most likely tokens (0 = off).
    pub top_k: usize,
    /// Stop once the decoded continuation contains one of these (e.g. `</tool_call>`); the text and tokens
    /// end with the token that completed it.
    pub stop: Vec<String>,
    /// Base seed; each sequence draws from a stream derived from (seed, [`GenRequest::stream`]).
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams { max_new_tokens: 256, temperature: 1.0, top_p: 1.0, top_k: 0, stop: Vec::new(), seed: 0 }
    }
}

/// Why a sequence ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FinishReason {
    /// A stop string appeared (the string).
    Stop(String),
    /// An end-of-sequence token was sampled (it is the last entry of `tokens`, and not in `text`).
    Eos,
    /// `max_new_tokens` were generated.
    Length,
}

/// The continuation of one [`GenRequest`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenOutput {
    /// New token ids (the EOS token included when that is why it stopped).
    pub tokens: Vec<u32>,
    /// Per token, the log-probability under the distribution it was sampled from *before* top-k/top-p
    /// filtering: `log_softmax(logits / temperature)` (temperature 1 when greedy). This is what GRPO/PPO
    /// trainers recompute as the old policy's log-prob.
    pub logprobs: Vec<f32>,
    /// Per token, the plain model log-probability `log_softmax(logits)` (temperature 1).
    pub model_logprobs: Vec<f32>,
    /// The decoded continuation (special tokens kept, EOS dropped, cut right after a stop string).
    pub text: String,
    pub finish: FinishReason,
}

/// One chat message as Hugging Face chat templates take it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    /// `None` renders as `null` (assistant turns that only call tools).
    pub content: Option<String>,
    /// Tool calls, `{"type": "function", "function": {"name": .., "arguments": {..}}}` or the inner object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<serde_json::Value>,
    /// Any other field a template reads (e.g. `name`, `reasoning_content`).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ChatMessage {
    /// A message with text content and nothing else.
    pub fn new(role: &str, content: &str) -> Self {
        ChatMessage {
            role: role.into(),
            content: Some(content.into()),
            tool_calls: Vec::new(),
            extra: Default::default(),
        }
    }
}

/// Tokenizer and chat template of the model behind a [`Generator`].
pub trait ChatCodec {
    /// Token ids of `text` with no special tokens added.
    fn encode(&self, text: &str) -> Result<Vec<u32>>;
    /// Text of `tokens`, special tokens included.
    fn decode(&self, tokens: &[u32]) -> Result<String>;
    /// The model's chat template applied to `messages` (and `tools`, JSON function schemas), as
    /// `transformers.apply_chat_template(..., tokenize=False)` renders it.
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: &[serde_json::Value],
        add_generation_prompt: bool,
    ) -> Result<String>;
    /// Token ids that end a sequence.
    fn eos_token_ids(&self) -> &[u32];
    /// The run's date (`YYYY-MM-DD`) for chat templates that print today's date (`strftime_now`), so prompts do
    /// not depend on the day a run is replayed. Codecs without a template ignore it.
    fn set_date(&self, _date: &str) -> Result<()> {
        Ok(())
    }
}

/// A policy that continues token sequences.
pub trait Generator {
    /// Continues every request; outputs are in request order.
    fn generate(&mut self, requests: &[GenRequest], params: &SamplingParams) -> Result<Vec<GenOutput>>;
    /// The tokenizer and chat template that go with the model.
    fn codec(&self) -> &dyn ChatCodec;
}
