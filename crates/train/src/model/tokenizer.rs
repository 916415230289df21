//! The checkpoint's tokenizer (`tokenizer.json`, through the `tokenizers` crate) and its special token ids.
use std::path::Path;

use crate::{Error, Result};

/// Encodes chat-rendered text (special tokens appear in the text, so none are added) and decodes ids.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer").field("vocab_size", &self.vocab_size()).finish()
    }
}

impl TextTokenizer {
    /// Loads `dir/tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_file(&dir.join("tokenizer.json"))
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::Tokenizer(format!("{} not found", path.display())));
        }
        let inner =
            tokenizers::Tokenizer::from_file(path).map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        Ok(TextTokenizer { inner })
    }

    /// Token ids of `text`, with no special tokens added (a rendered chat already spells them out).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens included (so tool-call markers and the like survive).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The id of a token spelled exactly `token` (added tokens included).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// Reads a JSON file into a value (`None` when the file does not exist).
pub(crate) fn read_json(path: &Path) -> Result<Option<serde_json::Value>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value = serde_json::from_str(&text).map_err(|e| Error::bad_input(path.display().to_string(), e.to_string()))?;
    Ok(Some(value))
}

/// A special token given in `tokenizer_config.json` as a string or as an added-token object `{"content": ..}`.
pub(crate) fn token_text(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content").and_then(|c| c.as_str()).map(str::to_string),
        _ => None,
    }
}

/// End-of-sequence ids for generation: `generation_config.json`'s, `config.json`'s and the tokenizer's
/// `eos_token`, merged (instruct checkpoints list `<|im_end|>` and `<|endoftext|>` in different places).
pub fn eos_token_ids(dir: &Path, tokenizer: &TextTokenizer) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    for file in ["generation_config.json", "config.json"] {
        if let Some(json) = read_json(&dir.join(file))? {
            ids.extend(super::config::token_ids(json.get("eos_token_id")));
        }
    }
    if let Some(cfg) = read_json(&dir.join("tokenizer_config.json"))? {
        if let Some(id) = token_text(cfg.get("eos_token")).and_then(|t| tokenizer.token_id(&t)) {
            ids.push(id);
        }
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    Ok(ids)
}
