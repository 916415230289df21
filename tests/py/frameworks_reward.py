"""webtape.reward.compute_score on crafted responses: reads a JSONL of {"id", "response", "answers"} and prints
{"id": score} (the Rust side scores the same lines with `webtape score` and compares).

usage: frameworks_reward.py CASES.jsonl
"""
import json
import sys

from webtape.reward import ANSWER_SPLIT, compute_score

out = {}
for line in open(sys.argv[1], encoding="utf-8"):
    case = json.loads(line)
    truth = ANSWER_SPLIT.join(case["answers"])  # as veRL's reward_model.ground_truth holds them
    out[case["id"]] = compute_score("webtape", case["response"], truth)
print(json.dumps(out))
