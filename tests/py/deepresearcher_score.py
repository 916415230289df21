"""An independent Python re-implementation of DeepResearcher's rollout reward (its `compute_score` with F1), and a
question file in the shape of DeepResearcher's parquet data, to check `webtape score` against.

usage: deepresearcher_score.py make-parquet OUT.parquet
       deepresearcher_score.py score DATA.parquet PREDICTIONS.jsonl   -> {"id": reward, ...} on stdout
"""
import json
import re
import string
import sys

import pyarrow as pa
import pyarrow.parquet as pq

SPLIT = "<|answer_split|>"


def balanced(text, tag):
    opening, closing = f"<{tag}>", f"</{tag}>"
    if text.count(opening) != text.count(closing):
        return False
    pos = -1
    while True:
        start = text.find(opening, pos + 1)
        if start < 0:
            return True
        end = text.find(closing, start)
        if end < 0:
            return False
        pos = end


def clean(text):
    for ch in string.punctuation:
        text = text.replace(ch, " ")
    return re.sub(r"\s+", " ", text).strip()


def reward(response, ground_truth):
    response, ground_truth = response.lower(), ground_truth.lower()
    if not all(balanced(response, t) for t in ("tool_call", "think", "answer")):
        return -1.0
    found = re.search(r"<answer>(.*?)</answer>", response, re.DOTALL)
    if not found:
        return -1.0
    predicted = set(clean(found.group(1).strip()).split())
    best = 0.0
    for gold in ground_truth.split(SPLIT):
        gold_words = set(clean(gold).split())
        if not gold_words or not predicted:
            continue
        common = len(predicted & gold_words)
        if common:
            p, r = common / len(predicted), common / len(gold_words)
            best = max(best, 2 * p * r / (p + r))
    return best


ROWS = [
    ("hotpotqa", "Who wrote Frankenstein?", "Mary Shelley<|answer_split|>Mary Wollstonecraft Shelley"),
    ("nq", "What is the capital of Australia?", "Canberra"),
    ("nq", "Which river flows through Zürich?", "the Limmat<|answer_split|>Limmat River"),
    ("bamboogle", "Who painted the Mona Lisa?", "Leonardo da Vinci"),
    ("bamboogle", "What is the boiling point of water?", "100 °C<|answer_split|>212 °F"),
    ("musique", "Which city hosts CERN?", "Geneva–Meyrin"),
]


def make_parquet(out):
    rows = [
        {"data_source": src, "prompt": [{"role": "user", "content": q}],
         "reward_model": {"style": "rule", "ground_truth": gt}, "extra_info": {"index": i}}
        for i, (src, q, gt) in enumerate(ROWS)
    ]
    pq.write_table(pa.Table.from_pylist(rows), out)


def score(data, predictions):
    table = pq.read_table(data).to_pylist()
    golds = {str(r["extra_info"]["index"]): r["reward_model"]["ground_truth"] for r in table}
    out = {}
    for line in open(predictions, encoding="utf-8"):
        p = json.loads(line)
        if "response" in p and str(p["id"]) in golds and str(p["id"]) not in out:
            out[str(p["id"])] = reward(p["response"], golds[str(p["id"])])
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "make-parquet":
        make_parquet(sys.argv[2])
    else:
        score(sys.argv[2], sys.argv[3])
