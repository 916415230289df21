"""Question files both ways: webtape's JSONL (`id`, `question`, `answers`, `data_source`) and the parquet rows veRL
and DeepResearcher train on (`id`, `data_source`, `prompt` as a chat list, `reward_model.ground_truth` with the gold
answers joined by `<|answer_split|>`, `extra_info` with `index`, `question` and the per-tool `tools_kwargs`).
Parquet needs pyarrow (`pip install './python[data]'`); the row conversion itself needs nothing.

    python -m webtape.data to-parquet questions.jsonl train.parquet --date 2025-01-15
    python -m webtape.data to-jsonl train.parquet questions.jsonl
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Dict, Iterable, List, Optional

from .reward import ANSWER_SPLIT, gold_answers


def system_prompt(date: str) -> str:
    """webtape's system prompt (`crates/agent/src/agent/prompt.rs`); `date` is "today" (the snapshot's date in replay)."""
    return (
        "You are a research agent. Answer the user's question by searching the web and reading web pages. "
        f"Today is {date}.\n\n"
        "In every turn, first think step by step inside <think> </think>. Then either call exactly one tool inside "
        "<tool_call> </tool_call>, or, once you know the answer, write it inside <answer> </answer> as a short phrase "
        "(a name, a place, a number or a date), with no explanation."
    )


def _prompt_text(prompt: Any) -> Optional[str]:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, (list, tuple)):
        for message in reversed(list(prompt)):
            if isinstance(message, dict) and message.get("role", "user") == "user":
                return message.get("content")
    return None


def question_from_row(row: Dict[str, Any], fallback_id: str) -> Dict[str, Any]:
    """A webtape question from one JSON object or parquet row, read like webtape's Rust reader (`crates/core/src/data.rs`)."""
    text = next((row[k] for k in ("question", "query", "q") if isinstance(row.get(k), str)), None)
    extra = row.get("extra_info") or {}
    if text is None:
        text = extra.get("question") if isinstance(extra.get("question"), str) else _prompt_text(row.get("prompt"))
    if not text or not text.strip():
        raise ValueError(f"{fallback_id}: no `question` (or `query`, `prompt`) text field")
    qid = row.get("id", extra.get("index"))
    answers: List[str] = []
    reward_model = row.get("reward_model") or {}
    for found in (row.get("answers"), row.get("golden_answers"), row.get("answer"), reward_model.get("ground_truth")):
        answers = gold_answers(found) if found is not None else []
        if answers:
            break
    out = {"id": str(qid) if qid is not None else fallback_id, "question": text.strip(), "answers": answers}
    if isinstance(row.get("data_source"), str):
        out["data_source"] = row["data_source"]
    return out


def read_jsonl(path: str) -> List[Dict[str, Any]]:
    """webtape question JSONL (blank lines skipped; plain-text lines are questions without answers)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            row = json.loads(line) if line.startswith("{") else {"question": line}
            out.append(question_from_row(row, f"line-{n}"))
    return out


def to_verl_row(q: Dict[str, Any], index: int, date: str, split: str = "train", data_source: str = "webtape") -> dict:
    """One veRL / DeepResearcher row for a webtape question."""
    return {
        "id": str(q.get("id", index)),
        "data_source": q.get("data_source") or data_source,
        "prompt": [
            {"role": "system", "content": system_prompt(date)},
            {"role": "user", "content": q["question"]},
        ],
        "ability": "research",
        "agent_name": "tool_agent",
        "reward_model": {"style": "rule", "ground_truth": ANSWER_SPLIT.join(q.get("answers") or [])},
        "extra_info": {
            "index": index,
            "split": split,
            "question": q["question"],
            # The browse tool reads pages for the episode's question (as webtape's own rollouts do).
            "tools_kwargs": {"browse_webpage": {"create_kwargs": {"question": q["question"]}}},
        },
    }


def to_verl_rows(questions: Iterable[Dict[str, Any]], date: str, split: str = "train", data_source: str = "webtape") -> list:
    return [to_verl_row(q, i, date, split, data_source) for i, q in enumerate(questions)]


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError("parquet files need pyarrow: pip install './python[data]'") from e
    return pyarrow


def write_parquet(rows: List[dict], path: str) -> None:
    pa = _pyarrow()
    pa.parquet.write_table(pa.Table.from_pylist(rows), path)


def read_parquet(path: str) -> List[Dict[str, Any]]:
    """webtape questions from a veRL / DeepResearcher / Search-R1 parquet file."""
    pa = _pyarrow()
    rows = pa.parquet.read_table(path).to_pylist()
    return [question_from_row(r, f"row-{n}") for n, r in enumerate(rows, 1)]


def write_jsonl(questions: Iterable[Dict[str, Any]], path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for q in questions:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m webtape.data", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    to_pq = sub.add_parser("to-parquet", help="webtape JSONL -> veRL parquet")
    to_pq.add_argument("input")
    to_pq.add_argument("output")
    to_pq.add_argument("--date", required=True, help='"today" in the prompt: the snapshot\'s date (GET /healthz `date`)')
    to_pq.add_argument("--split", default="train")
    to_pq.add_argument("--data-source", default="webtape", help="for questions that name none")
    to_jl = sub.add_parser("to-jsonl", help="veRL / DeepResearcher parquet -> webtape JSONL")
    to_jl.add_argument("input")
    to_jl.add_argument("output")
    a = ap.parse_args(argv)
    if a.cmd == "to-parquet":
        questions = read_jsonl(a.input)
        write_parquet(to_verl_rows(questions, a.date, a.split, a.data_source), a.output)
    else:
        questions = read_parquet(a.input)
        write_jsonl(questions, a.output)
    print(f"{len(questions)} questions: {a.input} -> {a.output}")


if __name__ == "__main__":
    main()
