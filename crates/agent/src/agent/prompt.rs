//! The agent's prompt: DeepResearcher's two tools as Qwen2.5 function-calling schemas, the system prompt (with
//! the snapshot's date in replay), the prefilled `<think>`, and how tool responses are wrapped between turns
//! (a user turn `<tool_response>\n…\n</tool_response>` in ChatML).
use serde_json::{json, Value};

use super::generator::{ChatCodec, ChatMessage};
use crate::Result;

/// The function schemas of `web_search` and `browse_webpage`, as the chat template renders them.
pub fn tool_schemas(max_queries: usize) -> Vec<Value> {
    vec![
        json!({"type": "function", "function": {
            "name": "web_search",
            "description": format!("Search the web. Returns the title, URL and a short summary of the top results of each query (at most {max_queries} queries per call)."),
            "parameters": {"type": "object", "properties": {
                "query": {"type": "array", "items": {"type": "string"}, "description": "The search queries."}
            }, "required": ["query"]}
        }}),
        json!({"type": "function", "function": {
            "name": "browse_webpage",
            "description": "Read web pages from the latest search results and return what they say about the question.",
            "parameters": {"type": "object", "properties": {
                "url_list": {"type": "array", "items": {"type": "string"}, "description": "URLs from the latest search results."}
            }, "required": ["url_list"]}
        }}),
    ]
}

/// The system prompt; `date` is "today" (the snapshot's date in replay).
pub fn system_prompt(date: &str) -> String {
    format!(
        "You are a research agent. Answer the user's question by searching the web and reading web pages. \
         Today is {date}.\n\n\
         In every turn, first think step by step inside <think> </think>. Then either call exactly one tool inside \
         <tool_call> </tool_call>, or, once you know the answer, write it inside <answer> </answer> as a short phrase \
         (a name, a place, a number or a date), with no explanation."
    )
}

/// How turns are stitched together at the token level (never re-tokenizing what the policy wrote).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnFormat {
    /// Appended to the prompt and after every observation: the policy starts each turn inside a `<think>`.
    pub think_prefill: String,
    /// Between the policy's turn and the tool response (closes the assistant turn, opens a user turn).
    pub observation_prefix: String,
    /// After the tool response (closes the user turn, opens the next assistant turn).
    pub observation_suffix: String,
}

impl Default for TurnFormat {
    fn default() -> Self {
        TurnFormat {
            think_prefill: "<think>\n".into(),
            observation_prefix: "<|im_end|>\n<|im_start|>user\n<tool_response>\n".into(),
            observation_suffix: "\n</tool_response><|im_end|>\n<|im_start|>assistant\n".into(),
        }
    }
}

impl TurnFormat {
    /// The text inserted after a policy turn: the wrapped observation and the next turn's prefill.
    pub fn observation(&self, observation: &str) -> String {
        format!("{}{observation}{}{}", self.observation_prefix, self.observation_suffix, self.think_prefill)
    }
}

/// The initial prompt text of an episode: the chat template over system + user with the tools, the generation
/// prompt, and the `<think>` prefill.
pub fn initial_prompt(
    codec: &dyn ChatCodec,
    question: &str,
    date: &str,
    max_queries: usize,
    format: &TurnFormat,
) -> Result<String> {
    let messages = [ChatMessage::new("system", &system_prompt(date)), ChatMessage::new("user", question)];
    let rendered = codec.render_chat(&messages, &tool_schemas(max_queries), true)?;
    Ok(format!("{rendered}{}", format.think_prefill))
}
