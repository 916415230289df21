//! A scripted expert agent, as a [`Generator`]: for each question it knows a plan (one search query per hop,
//! which result to browse, the answer) and writes its turns in the exact chat/tool format the policy must learn.
//! It drives the real environment like the policy does, so its trajectories are SFT data (the demo's warm start)
//! and a check that the rollout engine, tools and reward agree end to end.
use std::collections::BTreeMap;

use serde_json::json;

use super::generator::{ChatCodec, FinishReason, GenOutput, GenRequest, Generator, SamplingParams};
use crate::error::{Error, Result};

/// What the expert does for one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertPlan {
    /// One search query per hop.
    pub queries: Vec<String>,
    /// Per hop, a suffix of the URL to browse among that search's results (e.g. the page path).
    pub targets: Vec<String>,
    /// The final answer.
    pub answer: String,
    /// Per hop, the fact read on that hop's page (`Employer: Zas Motorenwerke`), said in the next turn's thinking
    /// before it is used; empty for plans without notes.
    pub notes: Vec<String>,
    /// Stumble once: the first browse asks for a misspelt URL, gets the environment's error, and the next turn
    /// reads the right one — a recovery for the policy to learn (the misspelt turn is kept out of the loss).
    pub stumble: bool,
    /// Stop one hop short: on a multi-hop plan, answer with what the first page says (the next hop's entity,
    /// e.g. the employer when the question asks for the employer's country) instead of searching on. A hasty
    /// demonstrator's typical slip, which GRPO can learn to avoid because it costs the reward.
    pub hasty: bool,
    /// Answer in a sentence (`The answer is Zas Motorenwerke.`) instead of the short phrase the prompt asks for:
    /// the habit of demonstrators that write whole sentences, which the token-F1 reward charges for every extra
    /// word and GRPO can learn to drop.
    pub wordy: bool,
}

/// How a wordy demonstrator wraps its answer (see [`ExpertPlan::wordy`]).
pub fn wordy_answer(answer: &str) -> String {
    format!("The answer is {answer}.")
}

/// The environment's answer to a browse of a URL that was not among the latest search results.
pub const MISSED_URL: &str = "URL was not in the latest search results";

/// The expert's thinking before a browse.
const READ: &str = "I will read the most relevant result.";

/// How the expert's turn after a missed browse begins.
pub const RECOVERY_TURN: &str = "That URL was not in the results;";

/// The expert: plans by question text, and the codec of the policy it teaches.
pub struct Expert<'a> {
    codec: &'a dyn ChatCodec,
    plans: BTreeMap<String, ExpertPlan>,
}

impl<'a> Expert<'a> {
    pub fn new(codec: &'a dyn ChatCodec, plans: BTreeMap<String, ExpertPlan>) -> Expert<'a> {
        Expert { codec, plans }
    }

    /// The next turn's text for a conversation so far (`context` is the decoded prompt + response).
    fn next_turn(&self, context: &str) -> Result<String> {
        let plan = self
            .plans
            .iter()
            .find(|(q, _)| context.contains(q.as_str()))
            .map(|(_, p)| p)
            .ok_or_else(|| Error::internal("expert: no plan for this question"))?;
        let missed = context.matches(MISSED_URL).count();
        let done = context.matches("<tool_response>").count().saturating_sub(missed);
        let (hop, browse) = (done / 2, done % 2 == 1);
        // What the page just read says, when the plan knows (after each browse).
        let read = match hop.checked_sub(1).and_then(|h| plan.notes.get(h)) {
            Some(note) if !browse => format!("The page says {note}. "),
            _ => String::new(),
        };
        let hops = if plan.hasty { plan.queries.len().min(1) } else { plan.queries.len() };
        if hop >= hops {
            let found = if read.is_empty() { "I have found what the question asks. " } else { &read };
            // A hasty plan answers with the value of the first page's fact (`Employer: Zas Motorenwerke`).
            let answer = match plan.notes.first() {
                Some(note) if hops < plan.queries.len() => note.split_once(": ").map_or(note.as_str(), |(_, v)| v),
                _ => plan.answer.as_str(),
            };
            let answer = if plan.wordy { wordy_answer(answer) } else { answer.to_string() };
            return Ok(format!("{}\n</think>\n<answer>{answer}</answer>", found.trim_end()));
        }
        if !browse {
            let call = json!({"name": "web_search", "arguments": {"query": [plan.queries[hop]]}});
            return Ok(format!(
                "{read}I should search for {}.\n</think>\n<tool_call>\n{call}\n</tool_call>",
                plan.queries[hop]
            ));
        }
        // The latest search's results (a missed browse's error came after them).
        let mut responses = context.rsplit("<tool_response>").peekable();
        let just_missed = responses.peek().is_some_and(|o| o.contains(MISSED_URL));
        let urls = result_urls(responses.find(|o| !o.contains(MISSED_URL)).unwrap_or(""));
        let target = urls.iter().find(|u| u.ends_with(plan.targets[hop].as_str())).or(urls.first());
        let url = target.cloned().unwrap_or_default();
        let (think, url) = match (plan.stumble && hop == 0 && missed == 0, just_missed) {
            (true, _) => (READ.to_string(), misspell(&url)),
            (false, true) => (format!("{RECOVERY_TURN} I will copy the right one."), url),
            _ => (READ.to_string(), url),
        };
        let call = json!({"name": "browse_webpage", "arguments": {"url_list": [url]}});
        Ok(format!("{think}\n</think>\n<tool_call>\n{call}\n</tool_call>"))
    }
}

/// `url` with two neighbouring letters of its last path segment swapped (a copying slip), or an extra letter
/// where no two differ.
fn misspell(url: &str) -> String {
    let start = url.rfind('/').map_or(0, |i| i + 1);
    let mut chars: Vec<char> = url[start..].chars().collect();
    let n = chars.len();
    let swap = (0..n.saturating_sub(1)).map(|k| (n / 2 + k) % (n - 1)).find(|&i| {
        chars[i] != chars[i + 1] && chars[i].is_ascii_alphanumeric() && chars[i + 1].is_ascii_alphanumeric()
    });
    match swap {
        Some(i) => chars.swap(i, i + 1),
        None => chars.push('x'),
    }
    format!("{}{}", &url[..start], chars.into_iter().collect::<String>())
}

/// The `"url"` values of a search observation, also when it was cut short (not valid JSON any more).
fn result_urls(observation: &str) -> Vec<String> {
    let end = observation.find("</tool_response>").unwrap_or(observation.len());
    let mut rest = &observation[..end];
    let mut urls = Vec::new();
    while let Some(at) = rest.find("\"url\":") {
        rest = rest[at + 6..].trim_start();
        let Some(body) = rest.strip_prefix('"') else { continue };
        let mut escaped = false;
        let close = body.char_indices().find(|&(_, c)| {
            let hit = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            hit
        });
        let Some((close, _)) = close else { break };
        if let Ok(url) = serde_json::from_str::<String>(&rest[..close + 2]) {
            urls.push(url);
        }
        rest = &body[close + 1..];
    }
    urls
}

impl Generator for Expert<'_> {
    fn generate(&mut self, requests: &[GenRequest], params: &SamplingParams) -> Result<Vec<GenOutput>> {
        let mut out = Vec::with_capacity(requests.len());
        for req in requests {
            let context = self.codec.decode(&req.prompt)?;
            let text = self.next_turn(&context)?;
            let mut tokens = self.codec.encode(&text)?;
            let finish = if tokens.len() > params.max_new_tokens {
                tokens.truncate(params.max_new_tokens);
                FinishReason::Length
            } else {
                let stop = params.stop.iter().find(|s| text.ends_with(s.as_str())).cloned();
                stop.map_or(FinishReason::Length, FinishReason::Stop)
            };
            let text = self.codec.decode(&tokens)?;
            let n = tokens.len();
            out.push(GenOutput { tokens, logprobs: vec![0.0; n], model_logprobs: vec![0.0; n], text, finish });
        }
        Ok(out)
    }

    fn codec(&self) -> &dyn ChatCodec {
        self.codec
    }
}

#[cfg(test)]
mod tests {
    use super::{misspell, result_urls};

    #[test]
    fn a_misspelt_url_differs_in_its_last_segment_only() {
        assert_eq!(misspell("http://h:1/wiki/dartkiak-giastshin"), "http://h:1/wiki/dartkiak-igastshin");
        assert_eq!(misspell("http://h:1/wiki/aa"), "http://h:1/wiki/aax");
        assert_eq!(misspell(""), "x");
    }

    #[test]
    fn urls_are_found_in_whole_and_cut_observations() {
        let obs = r#"[{"search_query":"a","web_page_info_list":[{"title":"T \"q\"","url":"http://x/a?b=\"1\"","quick_summary":"s"},{"title":"U","url":"http://x/b","quick_summary":"long"#;
        assert_eq!(result_urls(obs), ["http://x/a?b=\"1\"", "http://x/b"]);
        assert_eq!(result_urls(&format!("{obs}\"}}]}}]\n</tool_response>")), ["http://x/a?b=\"1\"", "http://x/b"]);
        assert_eq!(result_urls(r#"[{"url":"http://x/c"#), Vec::<String>::new(), "a URL cut in half is not used");
    }
}
