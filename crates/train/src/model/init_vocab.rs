//! Tokens `webtape model init` puts into a trained BPE vocabulary by rule rather than by count: numbers cut into
//! chunks of up to three digits with every chunk one token, and whole words (tool names) that stay one token.
use serde_json::Value;
use tokenizers::{AddedToken, Tokenizer};

use crate::{Error, Result};

/// How numbers become tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Numbers {
    /// One token per digit (Qwen2): `1836` is four tokens, each of ten values. A small model copies such a
    /// number's first digit from a page and then loses its place among the page's other digits.
    #[default]
    Digits,
    /// Runs of up to three digits from the left, every run one token (1,110 tokens: `0`–`9`, `00`–`99`,
    /// `000`–`999`): `1836` is `183` `6`, `325,622` is `325` `,` `622`. Each token is one of a thousand, so a
    /// model can find where it is in a number it copies, as it does in a name.
    Chunks,
}

impl Numbers {
    pub fn is_digits(&self) -> bool {
        *self == Numbers::Digits
    }

    /// Vocabulary entries the rule adds on top of the trained merges.
    pub fn extra_tokens(self) -> usize {
        match self {
            Numbers::Digits => 0,
            Numbers::Chunks => 100 + 1000,
        }
    }

    /// The split regex with its single-digit alternative widened to this rule's runs.
    pub fn pattern(self, split: &str) -> String {
        match self {
            Numbers::Digits => split.to_string(),
            Numbers::Chunks => split.replacen(r"\p{N}|", r"\p{N}{1,3}|", 1),
        }
    }
}

/// Adds the number chunks to a BPE tokenizer trained with single-digit pre-tokens (so it learnt no digit merges)
/// and switches its split to `pattern`: each 2- and 3-digit string becomes a token, reachable by merges from either
/// side (`1 8` → `18`, `18 3` and `1 83` → `183`), ids following the trained vocabulary in numeric order.
pub fn add_number_chunks(tokenizer: &Tokenizer, pattern: &str) -> Result<Tokenizer> {
    let err = |what: &str| Error::Tokenizer(format!("adding number tokens: {what}"));
    let text = tokenizer.to_string(false).map_err(|e| Error::Tokenizer(e.to_string()))?;
    let mut json: Value = serde_json::from_str(&text).map_err(|e| err(&e.to_string()))?;
    set_split_pattern(&mut json, pattern).ok_or_else(|| err("the pre-tokenizer has no split regex"))?;
    let model = json.get_mut("model").and_then(Value::as_object_mut).ok_or_else(|| err("no BPE model"))?;
    let vocab = model.get_mut("vocab").and_then(Value::as_object_mut).ok_or_else(|| err("no vocab"))?;
    let mut next = vocab.values().filter_map(Value::as_u64).max().map_or(0, |m| m + 1);
    let mut merges = Vec::new();
    for len in [2usize, 3] {
        for n in 0..10usize.pow(len as u32) {
            let chunk = format!("{n:0len$}");
            if vocab.contains_key(&chunk) {
                return Err(err(&format!("{chunk} is already a token (the tokenizer was trained with digit merges)")));
            }
            vocab.insert(chunk.clone(), Value::from(next));
            next += 1;
            for cut in 1..len {
                let (left, right) = chunk.split_at(cut);
                merges.push(Value::from(vec![left.to_string(), right.to_string()]));
            }
        }
    }
    let list = model.get_mut("merges").and_then(Value::as_array_mut).ok_or_else(|| err("no merges"))?;
    list.extend(merges);
    json.to_string().parse::<Tokenizer>().map_err(|e| err(&e.to_string()))
}

/// Points the first `Split` pre-tokenizer of the sequence at `pattern`; `None` when there is none.
fn set_split_pattern(json: &mut Value, pattern: &str) -> Option<()> {
    let list = json.get_mut("pre_tokenizer")?.get_mut("pretokenizers")?.as_array_mut()?;
    let split = list.iter_mut().find(|p| p.get("type").and_then(Value::as_str) == Some("Split"))?;
    *split.get_mut("pattern")? = serde_json::json!({ "Regex": pattern });
    Some(())
}

/// Adds `words` as tokens that are matched whole before the split and stay text (not special).
pub fn add_whole_words(tokenizer: &mut Tokenizer, words: &[String]) -> Result<()> {
    if let Some(bad) = words.iter().find(|w| w.is_empty() || w.chars().any(char::is_whitespace)) {
        return Err(Error::Config(format!("model init: whole_words entry {bad:?} must be one word without spaces")));
    }
    tokenizer
        .add_tokens(words.iter().map(|w| AddedToken::from(w.clone(), false).normalized(false)))
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_pattern_widens_only_the_digit_alternative() {
        let words = r"\p{L}+|\p{N}|[^\s\p{L}\p{N}]+|\s+";
        assert_eq!(Numbers::Chunks.pattern(words), r"\p{L}+|\p{N}{1,3}|[^\s\p{L}\p{N}]+|\s+");
        assert_eq!(Numbers::Digits.pattern(words), words);
        assert_eq!(Numbers::Chunks.extra_tokens(), 1100);
    }
}

#[cfg(test)]
mod tokenizer_tests {
    use super::super::init::{train_tokenizer, InitSpec};
    use super::Numbers;

    fn corpus() -> Vec<String> {
        let page = "Kobaxgrad was founded in 1424 and has a population of 325,622. Call web_search or browse_webpage.";
        vec![page.to_string(); 50]
    }

    fn tokens(spec: &InitSpec, text: &str) -> Vec<String> {
        let tok = train_tokenizer(spec, &corpus()).expect("trains");
        tok.encode(text, false).expect("encodes").get_tokens().to_vec()
    }

    #[test]
    fn chunks_make_each_run_of_three_digits_one_token_and_whole_words_stay_whole() {
        let words = vec!["web_search".to_string(), "browse_webpage".to_string()];
        let spec = InitSpec { vocab_size: 1500, numbers: Numbers::Chunks, whole_words: words, ..InitSpec::default() };
        assert_eq!(tokens(&spec, "1836"), ["183", "6"]);
        assert_eq!(tokens(&spec, "325,622"), ["325", ",", "622"]);
        assert_eq!(tokens(&spec, "07"), ["07"]);
        let call = tokens(&spec, "{\"name\":\"web_search\"}");
        assert!(call.iter().any(|t| t == "web_search") && !call.iter().any(|t| t == "search"), "{call:?}");
        let tok = train_tokenizer(&spec, &corpus()).expect("trains");
        let text = "born 1911, population 9,040,001 at web_search";
        let ids = tok.encode(text, false).expect("encodes").get_ids().to_vec();
        assert_eq!(tok.decode(&ids, false).expect("decodes"), text);
    }

    #[test]
    fn digits_stay_one_token_each_by_default() {
        let spec = InitSpec { vocab_size: 400, ..InitSpec::default() };
        assert_eq!(tokens(&spec, "1836"), ["1", "8", "3", "6"]);
    }

    #[test]
    fn a_vocabulary_too_small_for_the_rules_is_refused_by_name() {
        let spec = InitSpec { vocab_size: 1200, numbers: Numbers::Chunks, ..InitSpec::default() };
        let err = spec.validate().expect_err("1,108 set by rule leave too little").to_string();
        assert!(err.contains("vocab_size (1200)") && err.contains("1108"), "{err}");
    }
}
