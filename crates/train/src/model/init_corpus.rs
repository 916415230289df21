//! The text `webtape model init` trains its tokenizer on: sample episodes in the agent's exact chat/tool format,
//! then the pages of a snapshot (through its JSONL text export).
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use super::chat::ChatTemplate;
use super::init::{CHAT_TEMPLATE, SPECIAL_TOKENS};
use crate::agent::prompt::{system_prompt, tool_schemas, TurnFormat};
use crate::snapshot::Snapshot;
use crate::{Error, Result};

/// The tokenizer's training text: the agent's own format (system prompt with tools, tool calls, observations,
/// answers; repeated so these strings get merges), then page titles and texts in the snapshot's key order (the
/// latest usable capture of each URL), at most `max_chars` characters of them.
/// Each agent-format episode is in it `agent_repeats` times, so the prompt's and the tool format's strings get merges
/// of their own (a large corpus of page text takes a small vocabulary's merges otherwise).
pub fn corpus_from_snapshot(snapshot: &Snapshot, max_chars: usize, agent_repeats: usize) -> Result<Vec<String>> {
    corpus_from_snapshots(&[snapshot], max_chars, agent_repeats)
}

/// As [`corpus_from_snapshot`] over several snapshots in turn, each giving at most its share of `max_chars`.
pub fn corpus_from_snapshots(snapshots: &[&Snapshot], max_chars: usize, agent_repeats: usize) -> Result<Vec<String>> {
    let mut texts = agent_texts(agent_repeats)?;
    let share = max_chars / snapshots.len().max(1);
    for snapshot in snapshots {
        texts.extend(page_texts(snapshot, share)?);
    }
    Ok(texts)
}

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// "Title\ntext" per page, through the snapshot's JSONL text export (the public way to walk its pages).
fn page_texts(snapshot: &Snapshot, max_chars: usize) -> Result<Vec<String>> {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!("webtape-init-{}-{}.jsonl", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let export = TempFile(std::env::temp_dir().join(name));
    crate::snapshot::export_text(snapshot, &export.0)?;
    let file = std::fs::File::open(&export.0).map_err(|e| Error::io(&export.0, e))?;
    let (mut left, mut texts) = (max_chars, Vec::new());
    for line in std::io::BufReader::new(file).lines() {
        if left == 0 {
            break;
        }
        let line = line.map_err(|e| Error::io(&export.0, e))?;
        let doc: Value = serde_json::from_str(&line).map_err(|e| Error::bad_input("text export", e.to_string()))?;
        let contents = doc["contents"].as_str().unwrap_or_default();
        // `"Title"\ntext` → `Title\ntext`
        let text = match contents.strip_prefix('"').and_then(|c| c.split_once("\"\n")) {
            Some((title, body)) => format!("{title}\n{body}"),
            None => contents.to_string(),
        };
        let text = match text.char_indices().nth(left) {
            Some((cut, _)) => text[..cut].to_string(),
            None => text,
        };
        left -= text.chars().count();
        texts.push(text);
    }
    Ok(texts)
}

/// Sample episodes, one a line: question | search query | URL | page summary | answer.
const SAMPLES: &str = "\
What is the capital of France?|capital of France|https://en.wikipedia.org/wiki/Paris|Paris is the capital.|Paris
Who wrote Pride and Prejudice?|Pride and Prejudice author|https://example.org/books/pride?id=1813|An 1813 novel by \
Jane Austen.|Jane Austen
When did people first walk on the Moon?|first Moon landing|https://example.com/apollo-11|Apollo 11 landed on the \
Moon on 20 July 1969.|1969";

/// Whole sample episodes in the exact text of a rollout: chat-templated prompt, `<think>` prefill, tool calls
/// (compact JSON as the expert writes it, and spaced as the template renders it), observations, the answer.
fn agent_texts(repeats: usize) -> Result<Vec<String>> {
    let specials = vec![("eos_token".into(), SPECIAL_TOKENS[2].into()), ("pad_token".into(), SPECIAL_TOKENS[0].into())];
    let template = ChatTemplate::new(CHAT_TEMPLATE.to_string(), specials)?;
    let tools = tool_schemas(crate::env::EnvConfig::default().max_queries);
    let format = TurnFormat::default();
    let mut texts = Vec::new();
    for sample in SAMPLES.lines() {
        let [question, query, url, summary, answer] = sample.splitn(5, '|').collect::<Vec<_>>()[..] else {
            unreachable!("five fields per sample")
        };
        let title = format!("{answer} - Wikipedia");
        let messages = [
            json!({"role": "system", "content": system_prompt("2026-01-01")}),
            json!({"role": "user", "content": question}),
        ];
        let prompt = template.render(&messages, Some(&tools), true)?;
        let search = json!({"name": "web_search", "arguments": {"query": [query]}});
        let spaced = format!(r#"{{"name": "browse_webpage", "arguments": {{"url_list": [{}]}}}}"#, json!(url));
        let results = json!([{"search_query": query, "web_page_info_list": [
            {"title": title, "url": url, "quick_summary": summary}]}]);
        let page = json!([{"url": url, "information": [{"page_number": 1, "page_summary": summary}]}]);
        let episode = format!(
            "{prompt}{think}I should search for {query}.\n</think>\n<tool_call>\n{search}\n</tool_call>{obs}\
             I will read the most relevant result.\n</think>\n<tool_call>\n{spaced}\n</tool_call>{page}\
             I have found what the question asks.\n</think>\n<answer>{answer}</answer><|im_end|>\n",
            think = format.think_prefill,
            obs = format.observation(&results.to_string()),
            page = format.observation(&page.to_string()),
        );
        texts.extend(std::iter::repeat_n(episode, repeats));
    }
    Ok(texts)
}
