"""DeepResearcher's reward, exactly as webtape's Rust code computes it (`crates/agent/src/agent/reward.rs`, `webtape score`).

A response scores -1 when its format is broken (each of `<tool_call>`, `<think>`, `<answer>` must open and close
equally often, every opening followed by its closing; tags matched lowercased) or has no `<answer>`; otherwise the
token-set F1 of its first answer against the best gold answer (lowercase, ASCII punctuation to spaces, whitespace
collapsed, articles kept). The arithmetic is done in 32-bit floats like the Rust code, so the value is the same
number, bit for bit. `compute_score` has veRL's custom reward function signature.
"""
from __future__ import annotations

import re
import string
import struct
from typing import Any, Iterable, List, Optional

ANSWER_SPLIT = "<|answer_split|>"
FORMAT_PENALTY = -1.0

# Rust's `char::is_whitespace` (Unicode White_Space), which Python's str.split() does not match exactly.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"
_SPLIT = re.compile("[" + re.escape(_WHITESPACE) + "]+")
_PUNCTUATION = frozenset(string.punctuation)  # exactly the ASCII punctuation characters


def _f32(x: float) -> float:
    """`x` rounded to a 32-bit float (one IEEE operation in f64 then rounded equals the f32 operation)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def normalize(text: str) -> str:
    """Lowercased (character by character), ASCII punctuation to spaces, whitespace collapsed."""
    mapped = "".join(" " if c in _PUNCTUATION else c.lower() for c in text)
    return " ".join(w for w in _SPLIT.split(mapped) if w)


def _tokens(text: str) -> set:
    return {w for w in normalize(text).split(" ") if w}


def f1(prediction: str, gold: str) -> float:
    """Token-set F1 between a prediction and one gold answer (a 32-bit float, as in Rust)."""
    p, g = _tokens(prediction), _tokens(gold)
    common = len(p & g)
    if common == 0:
        return 0.0
    precision, recall = _f32(common / len(p)), _f32(common / len(g))
    return _f32(_f32(2.0 * precision * recall) / _f32(precision + recall))


def gold_answers(ground_truth: Any) -> List[str]:
    """The gold answers in a ground truth: a string (split on `<|answer_split|>`, pieces trimmed, empty ones left
    out), a number, a list of those, or a `{"target": ...}` object."""
    if isinstance(ground_truth, str):
        pieces = (p.strip(_WHITESPACE) for p in ground_truth.split(ANSWER_SPLIT))
        return [p for p in pieces if p]
    if isinstance(ground_truth, bool) or ground_truth is None:
        return []
    if isinstance(ground_truth, (int, float)):
        return [str(ground_truth)]
    if isinstance(ground_truth, dict):
        return gold_answers(ground_truth["target"]) if "target" in ground_truth else []
    if isinstance(ground_truth, Iterable):
        return [a for item in ground_truth for a in gold_answers(item)]
    return []


def best_f1(prediction: str, golds: List[str]) -> float:
    """The best F1 over the gold answers (0 when there are none)."""
    return max([0.0] + [f1(prediction, g) for g in golds])


def exact_match(prediction: str, golds: List[str]) -> bool:
    p = normalize(prediction)
    return any(normalize(g) == p for g in golds)


def _tags_balance(text: str, tag: str) -> bool:
    opening, closing = f"<{tag}>", f"</{tag}>"
    if text.count(opening) != text.count(closing):
        return False
    start = text.find(opening)
    while start >= 0:
        end = text.find(closing, start)
        if end < 0:
            return False
        start = text.find(opening, end + 1)
    return True


def extract_answer(response: str) -> Optional[str]:
    """The first `<answer>...</answer>` of a well-formed response (lowercased, trimmed), or None."""
    text = response.lower()
    if not all(_tags_balance(text, t) for t in ("tool_call", "think", "answer")):
        return None
    at = text.find("<answer>")
    if at < 0:
        return None
    body = text[at + len("<answer>"):]
    end = body.find("</answer>")
    return None if end < 0 else body[:end].strip(_WHITESPACE)


def score_response(response: str, ground_truth: Any) -> dict:
    """`{"score", "f1", "em", "format_ok"}` for a whole response text (`score` is the reward: F1, or -1)."""
    golds = gold_answers(ground_truth)
    answer = extract_answer(response)
    if answer is None:
        return {"score": FORMAT_PENALTY, "f1": 0.0, "em": False, "format_ok": False}
    value = best_f1(answer, golds)
    return {"score": value, "f1": value, "em": exact_match(answer, golds), "format_ok": True}


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, **kwargs) -> float:
    """veRL's custom reward function: DeepResearcher's reward of `solution_str` against `ground_truth` (every data
    source is scored the same way)."""
    return score_response(solution_str, ground_truth)["score"]
