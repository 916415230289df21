//! [`TextCodec`]: a checkpoint folder's tokenizer, chat template and EOS ids without its weights, so the agent
//! side (expert trajectories, prompts, tests) can run without libtorch.
use std::path::{Path, PathBuf};

use super::chat::ChatTemplate;
use super::tokenizer::{eos_token_ids, TextTokenizer};
use crate::agent::generator::{ChatCodec, ChatMessage};
use crate::{Error, Result};

/// Tokenizer + chat template of one checkpoint folder.
#[derive(Debug)]
pub struct TextCodec {
    dir: PathBuf,
    tokenizer: TextTokenizer,
    chat: Option<ChatTemplate>,
    eos: Vec<u32>,
}

impl TextCodec {
    /// Reads `tokenizer.json`, `tokenizer_config.json` (chat template) and the EOS ids from `dir`.
    pub fn from_dir(dir: &Path) -> Result<TextCodec> {
        let tokenizer = TextTokenizer::from_dir(dir)?;
        let chat = match ChatTemplate::from_dir(dir) {
            Ok(t) => Some(t),
            Err(Error::Template(msg)) if msg.contains("no chat_template") => None,
            Err(e) => return Err(e),
        };
        let eos = eos_token_ids(dir, &tokenizer)?;
        Ok(TextCodec { dir: dir.to_path_buf(), tokenizer, chat, eos })
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }
}

impl ChatCodec for TextCodec {
    fn set_date(&self, date: &str) -> Result<()> {
        self.chat.as_ref().map_or(Ok(()), |chat| chat.set_date(date))
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text)
    }

    fn decode(&self, tokens: &[u32]) -> Result<String> {
        self.tokenizer.decode(tokens)
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: &[serde_json::Value],
        add_generation_prompt: bool,
    ) -> Result<String> {
        let chat = self
            .chat
            .as_ref()
            .ok_or_else(|| Error::Template(format!("{}: the checkpoint has no chat template", self.dir.display())))?;
        let messages: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| serde_json::to_value(m).map_err(|e| Error::Template(e.to_string())))
            .collect::<Result<_>>()?;
        chat.render(&messages, (!tools.is_empty()).then_some(tools), add_generation_prompt)
    }

    fn eos_token_ids(&self) -> &[u32] {
        &self.eos
    }
}
