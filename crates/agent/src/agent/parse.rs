//! Reading one assistant turn the way DeepResearcher's rollout does: `<think>…</think>` (the opening tag is
//! prefilled), then exactly one of `<tool_call>\n{"name": .., "arguments": ..}\n</tool_call>` or
//! `<answer>…</answer>`. Anything else is a format error, which ends the rollout with the penalty or, in
//! feedback mode, becomes an error observation.
use serde_json::Value;

/// What the policy asked for in one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `web_search` with its queries.
    Search(Vec<String>),
    /// `browse_webpage` with its URLs.
    Browse(Vec<String>),
    /// The final answer.
    Answer(String),
    /// A broken turn, with the reason.
    Invalid(String),
}

fn count(text: &str, tag: &str) -> usize {
    text.matches(tag).count()
}

/// Parses one turn's text (what the policy generated after the prefilled `<think>`).
pub fn parse_turn(text: &str) -> Action {
    let opens = 1 + count(text, "<think>");
    let closes = count(text, "</think>");
    if closes != 1 || opens != 1 {
        return Action::Invalid(format!(
            "expected one <think>…</think> block, found {opens} <think> and {closes} </think>"
        ));
    }
    let after = text.split_once("</think>").map_or("", |(_, rest)| rest).trim();
    let balanced = |open: &str, close: &str| count(after, open) == count(after, close);
    if !balanced("<answer>", "</answer>") || !balanced("<tool_call>", "</tool_call>") {
        return Action::Invalid("unbalanced <answer> or <tool_call> tags".into());
    }
    match (count(after, "<answer>"), count(after, "<tool_call>")) {
        // An empty answer is well-formed and scores 0, as in DeepResearcher's reward (not the format penalty).
        (1, 0) => Action::Answer(between(after, "<answer>", "</answer>").trim().to_string()),
        (0, 1) => parse_call(between(after, "<tool_call>", "</tool_call>")),
        (0, 0) => Action::Invalid("no <tool_call> and no <answer> after </think>".into()),
        _ => Action::Invalid("one turn must hold exactly one <tool_call> or one <answer>".into()),
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).map_or(0, |i| i + open.len());
    let end = text[start..].find(close).map_or(text.len(), |i| start + i);
    &text[start..end]
}

/// A list of non-empty strings from a JSON string or array.
fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    let list = match v? {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let list: Vec<String> = list.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    (!list.is_empty()).then_some(list)
}

fn parse_call(body: &str) -> Action {
    let call: Value = match serde_json::from_str(body.trim()) {
        Ok(v) => v,
        Err(e) => return Action::Invalid(format!("tool call is not valid JSON: {e}")),
    };
    let args = call.get("arguments");
    match call.get("name").and_then(Value::as_str) {
        Some("web_search") => match strings(args.and_then(|a| a.get("query"))) {
            Some(q) => Action::Search(q),
            None => Action::Invalid("web_search needs arguments.query: a list of strings".into()),
        },
        Some("browse_webpage") => match strings(args.and_then(|a| a.get("url_list"))) {
            Some(u) => Action::Browse(u),
            None => Action::Invalid("browse_webpage needs arguments.url_list: a list of URLs".into()),
        },
        Some(other) => Action::Invalid(format!("unknown tool {other:?} (use web_search or browse_webpage)")),
        None => Action::Invalid("tool call has no \"name\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns() {
        let search = "plan\n</think>\n<tool_call>\n{\"name\": \"web_search\", \"arguments\": {\"query\": [\"a\", \"b\"]}}\n</tool_call>";
        assert_eq!(parse_turn(search), Action::Search(vec!["a".into(), "b".into()]));
        let browse =
            "x</think><tool_call>{\"name\":\"browse_webpage\",\"arguments\":{\"url_list\":\"http://u\"}}</tool_call>";
        assert_eq!(parse_turn(browse), Action::Browse(vec!["http://u".into()]));
        assert_eq!(parse_turn("ok</think>\n<answer> Paris </answer>"), Action::Answer("Paris".into()));
        assert_eq!(parse_turn("ok</think>\n<answer> </answer>"), Action::Answer(String::new()), "empty: scores 0");
        for bad in [
            "no close tag <answer>x</answer>",
            "a</think><think>b</think><answer>x</answer>",
            "a</think><answer>x",
            "a</think>just text",
            "a</think><tool_call>{nope}</tool_call>",
            "a</think><tool_call>{\"name\":\"rm\",\"arguments\":{}}</tool_call>",
            "a</think><tool_call>{\"name\":\"web_search\",\"arguments\":{\"query\":[]}}</tool_call>",
            "a</think><answer>x</answer><tool_call>{}</tool_call>",
        ] {
            assert!(matches!(parse_turn(bad), Action::Invalid(_)), "{bad}");
        }
    }
}
