//! The reward, as DeepResearcher's code scores rollouts: −1 when the format is broken (unbalanced tags, no
//! `<answer>`), otherwise the token-set F1 of the answer against the best gold answer (lowercase, ASCII
//! punctuation → space, whitespace collapsed, articles kept). Exact match is reported beside it.
//! [`score_response`] scores a whole response text exactly as DeepResearcher's `compute_score` does (for
//! `webtape score`); rollouts check the format turn by turn (see `parse`).
use std::collections::BTreeSet;

/// The reward for a broken format.
pub const FORMAT_PENALTY: f32 = -1.0;

/// `text` lowercased, every ASCII punctuation character (Python's `string.punctuation`, which DeepResearcher
/// strips) replaced by a space, whitespace collapsed. Other symbols (`–`, `°`, `’`) stay part of their word.
pub fn normalize(text: &str) -> String {
    let mapped: String =
        text.chars().map(|c| if c.is_ascii_punctuation() { ' ' } else { c }).flat_map(char::to_lowercase).collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Token-set F1 between a prediction and one gold answer.
pub fn f1(prediction: &str, gold: &str) -> f32 {
    let p: BTreeSet<String> = normalize(prediction).split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect();
    let g: BTreeSet<String> = normalize(gold).split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect();
    let common = p.intersection(&g).count() as f32;
    if common == 0.0 {
        return 0.0;
    }
    let (precision, recall) = (common / p.len() as f32, common / g.len() as f32);
    2.0 * precision * recall / (precision + recall)
}

/// The best F1 over the gold answers (0 when there are none).
pub fn best_f1(prediction: &str, golds: &[String]) -> f32 {
    golds.iter().map(|g| f1(prediction, g)).fold(0.0, f32::max)
}

/// Whether the normalized prediction equals a normalized gold answer.
pub fn exact_match(prediction: &str, golds: &[String]) -> bool {
    let p = normalize(prediction);
    golds.iter().any(|g| normalize(g) == p)
}

/// A scored rollout.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Score {
    pub reward: f32,
    pub f1: f32,
    pub em: bool,
    pub format_ok: bool,
}

/// Scores a final answer (`None` when the rollout broke the format or never answered).
pub fn score(answer: Option<&str>, golds: &[String]) -> Score {
    match answer {
        None => Score { reward: FORMAT_PENALTY, f1: 0.0, em: false, format_ok: false },
        Some(a) => {
            let f = best_f1(a, golds);
            Score { reward: f, f1: f, em: exact_match(a, golds), format_ok: true }
        }
    }
}

/// Scores a whole response text as DeepResearcher's `compute_score` does: the text is lowercased; each of
/// `<tool_call>`, `<think>` and `<answer>` must open and close equally often, every opening followed by its
/// closing; the first `<answer>…</answer>` is the answer. A broken format or no answer scores −1.
pub fn score_response(response: &str, golds: &[String]) -> Score {
    let text = response.to_lowercase();
    let balanced = ["tool_call", "think", "answer"].iter().all(|tag| tags_balance(&text, tag));
    let answer = text.find("<answer>").and_then(|at| {
        let body = &text[at + "<answer>".len()..];
        body.find("</answer>").map(|end| &body[..end])
    });
    match (balanced, answer) {
        (true, Some(a)) => score(Some(a.trim()), golds),
        _ => score(None, golds),
    }
}

/// DeepResearcher's tag check: as many `<tag>` as `</tag>`, and scanning left to right, each opening has a
/// closing after it (the next opening is looked for after that closing).
fn tags_balance(text: &str, tag: &str) -> bool {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    if text.matches(&open).count() != text.matches(&close).count() {
        return false;
    }
    let mut from = 0;
    while let Some(start) = text.get(from..).and_then(|t| t.find(&open)).map(|i| from + i) {
        match text[start..].find(&close) {
            Some(end) => from = start + end + 1,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_and_f1() {
        assert_eq!(normalize("  The Eiffel-Tower, Paris!  "), "the eiffel tower paris");
        assert_eq!(f1("the Eiffel Tower", "Eiffel Tower"), 2.0 * (2.0 / 3.0) / (2.0 / 3.0 + 1.0));
        assert_eq!(f1("Paris", "Lyon"), 0.0);
        assert_eq!(f1("paris paris", "Paris"), 1.0, "a token set, not a bag");
        let golds = vec!["Wobymville".to_string(), "Woby".to_string()];
        assert_eq!(best_f1("wobymville.", &golds), 1.0);
        assert!(exact_match("WOBYMVILLE", &golds));
        assert!(!exact_match("in Wobymville", &golds));
        assert_eq!(score(None, &golds).reward, -1.0);
        assert_eq!(score(Some("Woby"), &golds), Score { reward: 1.0, f1: 1.0, em: true, format_ok: true });
        assert_eq!(best_f1("x", &[]), 0.0);
        assert_eq!(normalize("Zürich – 5°C, l’été"), "zürich – 5°c l’été", "only ASCII punctuation goes");
    }

    #[test]
    fn whole_responses_are_scored_like_deepresearcher() {
        let golds = vec!["Ada Lovelace".to_string()];
        let r = |t: &str| score_response(t, &golds).reward;
        assert_eq!(r("<think>x</think><answer>ADA LOVELACE.</answer>"), 1.0);
        assert_eq!(r("<think>x</think><answer>Ada</answer> <answer>Ada Lovelace</answer>"), f1("ada", "ada lovelace"));
        assert_eq!(r("<think>x<answer>Ada Lovelace</answer>"), -1.0, "unclosed think");
        assert_eq!(r("</answer><answer>Ada Lovelace"), -1.0, "closing before opening");
        assert_eq!(r("<think>x</think>no answer"), -1.0);
        assert_eq!(r("<THINK>x</THINK><ANSWER>Ada Lovelace</ANSWER>"), 1.0, "tags are matched lowercased");
        assert_eq!(r("<answer></answer>"), 0.0, "an empty answer is well-formed and scores 0");
    }
}
