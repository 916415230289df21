//! Digit shuffling for SFT sequences: every digit outside URLs is mapped through one random permutation of
//! 0-9 per sequence, the same in the context and in the trained turns. A number then cannot be predicted from a
//! memorised fact of a training world, only copied from the context, which is what a small base must learn to
//! answer number questions about a world it has never seen. URLs (the sim web's `127.0.0.1:18088`) are kept.
use std::collections::HashMap;

use super::batch::Sequence;
use crate::model::tokenizer::TextTokenizer;

/// Bytes that end a URL in rendered text (JSON quotes and escapes, markup, whitespace).
const URL_END: &[u8] = b" \t\r\n\"'\\<>()[]{},";

/// The number tokens of a vocabulary and each token's text, for [`DigitShuffle::apply`].
#[derive(Debug, Clone)]
pub struct DigitShuffle {
    /// The id of every spelling made of ASCII digits only (one per digit, or runs of up to three with `numbers =
    /// "chunks"`); the lowest id where two ids spell the same.
    by_text: HashMap<String, u32>,
    /// The decoded text of every token id (byte-level pieces that are not whole UTF-8 come out lossy, which
    /// does not matter for finding ASCII URLs or digits).
    text: Vec<String>,
}

fn is_number(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

impl DigitShuffle {
    /// `None` when some digit is not a token of its own (then digits cannot be permuted token by token).
    pub fn new(tokenizer: &TextTokenizer) -> Option<DigitShuffle> {
        if (0..10).any(|d| tokenizer.token_id(&d.to_string()).is_none()) {
            return None;
        }
        let size = u32::try_from(tokenizer.vocab_size()).ok()?;
        let text: Vec<String> = (0..size).map(|id| tokenizer.decode(&[id]).unwrap_or_default()).collect();
        Some(DigitShuffle::from_texts(text))
    }

    fn from_texts(text: Vec<String>) -> DigitShuffle {
        let mut by_text = HashMap::new();
        for (id, t) in (0u32..).zip(&text).filter(|(_, t)| is_number(t)) {
            by_text.entry(t.clone()).or_insert(id);
        }
        DigitShuffle { by_text, text }
    }

    /// Which tokens of `ids` lie (even partly) inside a URL (`http://` or `https://` up to a [`URL_END`] byte).
    fn in_url(&self, ids: &[u32]) -> Vec<bool> {
        let mut bytes = Vec::new();
        let mut owner = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let piece = self.text.get(id as usize).map_or(&[][..], |s| s.as_bytes());
            bytes.extend_from_slice(piece);
            owner.extend(std::iter::repeat_n(i, piece.len()));
        }
        let mut out = vec![false; ids.len()];
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            if !(rest.starts_with(b"http://") || rest.starts_with(b"https://")) {
                at += 1;
                continue;
            }
            let end = rest.iter().position(|b| URL_END.contains(b)).map_or(bytes.len(), |n| at + n);
            for &i in &owner[at..end] {
                out[i] = true;
            }
            at = end;
        }
        out
    }

    /// Maps the digits of `seq` outside URLs through `perm` (a permutation of 0-9), in place. A number token
    /// whose mapped spelling is no token is left as it is.
    pub fn apply(&self, seq: &mut Sequence, perm: &[usize]) {
        debug_assert_eq!(perm.len(), 10);
        let split = seq.prompt_ids.len();
        let mut ids = std::mem::take(&mut seq.prompt_ids);
        ids.append(&mut seq.response_ids);
        let url = self.in_url(&ids);
        for (id, keep) in ids.iter_mut().zip(url) {
            let Some(digits) = self.text.get(*id as usize).filter(|t| !keep && is_number(t)) else { continue };
            let mapped: String = digits.bytes().map(|b| char::from(b'0' + perm[usize::from(b - b'0')] as u8)).collect();
            if let Some(&to) = self.by_text.get(&mapped) {
                *id = to;
            }
        }
        seq.response_ids = ids.split_off(split);
        seq.prompt_ids = ids;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy tokenizer: every ASCII byte is a token (ids in byte order).
    fn shuffle() -> DigitShuffle {
        DigitShuffle::from_texts((0u8..128).map(|b| (b as char).to_string()).collect())
    }

    fn ids(s: &str) -> Vec<u32> {
        s.bytes().map(u32::from).collect()
    }

    fn text(ids: &[u32]) -> String {
        ids.iter().map(|&i| char::from(i as u8)).collect()
    }

    #[test]
    fn digits_outside_urls_follow_the_permutation_in_prompt_and_response() {
        let s = shuffle();
        let prompt = "{\"url\":\"http://127.0.0.1:18088/wiki/a-1\",\"summary\":\"Founded: 1836, pop 800,461\"}";
        let response = "The page says Founded: 1836.<answer>1836</answer> see https://x.org/9";
        let mut seq = Sequence {
            prompt_ids: ids(prompt),
            response_ids: ids(response),
            loss_mask: vec![1; response.len()],
            old_logprobs: Vec::new(),
            advantage: 0.0,
        };
        let perm = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
        s.apply(&mut seq, &perm);
        assert_eq!(
            text(&seq.prompt_ids),
            "{\"url\":\"http://127.0.0.1:18088/wiki/a-1\",\"summary\":\"Founded: 8163, pop 199,538\"}"
        );
        assert_eq!(text(&seq.response_ids), "The page says Founded: 8163.<answer>8163</answer> see https://x.org/9");
        assert_eq!(seq.loss_mask.len(), seq.response_ids.len());
    }

    #[test]
    fn the_identity_permutation_changes_nothing() {
        let s = shuffle();
        let mut seq = Sequence {
            prompt_ids: ids("year 1911 at http://h:1/2"),
            response_ids: ids("1911"),
            loss_mask: vec![1; 4],
            old_logprobs: Vec::new(),
            advantage: 0.0,
        };
        let before = seq.clone();
        s.apply(&mut seq, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(seq.prompt_ids, before.prompt_ids);
        assert_eq!(seq.response_ids, before.response_ids);
    }

    #[test]
    fn number_chunks_map_digit_by_digit() {
        // Tokens: the ASCII bytes, then "18", "36" and "81" as chunks ("63" is no token).
        let mut texts: Vec<String> = (0u8..128).map(|b| (b as char).to_string()).collect();
        texts.extend(["18", "36", "81"].map(String::from));
        let s = DigitShuffle::from_texts(texts);
        let mut seq = Sequence {
            prompt_ids: vec![128, 129],
            response_ids: vec![130],
            loss_mask: vec![1],
            old_logprobs: Vec::new(),
            advantage: 0.0,
        };
        let swap_1_8_and_3_6 = [0, 8, 2, 6, 4, 5, 3, 7, 1, 9];
        s.apply(&mut seq, &swap_1_8_and_3_6);
        assert_eq!(seq.prompt_ids, vec![130, 129], "18 -> 81; 36 -> 63 is no token, kept");
        assert_eq!(seq.response_ids, vec![128], "81 -> 18");
    }
}
