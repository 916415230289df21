"""TRL's environment contract against a running `webtape serve`: the tools GRPOTrainer would discover on
`webtape.trl.WebtapeEnvironment` (its own rule: public functions but `reset` / `get_reward`), their schemas as
transformers renders them, a scripted episode per rollout, and the reward function. Prints a JSON summary.

usage: frameworks_trl.py SERVER_URL QUESTIONS.parquet
"""
import inspect
import json
import sys

import pyarrow.parquet as pq
import trl  # noqa: F401  (the pinned TRL is installed)
from transformers.utils import get_json_schema

from webtape.trl import environment_factory, reward_func

url, parquet = sys.argv[1:3]
row = pq.read_table(parquet).to_pylist()[0]
question = row["prompt"][-1]["content"]

factory = environment_factory(url)
env = factory()
tools = [n for n, _ in inspect.getmembers(type(env), predicate=inspect.isfunction)
         if n not in ("reset", "get_reward") and not n.startswith("_")]
schemas = {n: get_json_schema(getattr(env, n)) for n in tools}

assert env.reset(**row) is None
searched = json.loads(env.web_search(query=[question]))
first = searched[0]["web_page_info_list"][0]["url"]
read = json.loads(env.browse_webpage(url_list=[first]))
env.reset(**row)  # the next rollout on this instance: a fresh episode with no search yet
refused = json.loads(env.browse_webpage(url_list=[first]))

gold = row["reward_model"]["ground_truth"].split("<|answer_split|>")[0]
completions = [
    [{"role": "assistant", "content": "<think>search</think>", "tool_calls": [{"type": "function"}]},
     {"role": "tool", "name": "web_search", "content": "[...]"},
     {"role": "assistant", "content": f"<think>found</think><answer>{gold}</answer>"}],
    f"<think>guess</think><answer>not it</answer>",
    "<think>unclosed",
]
rewards = reward_func(completions=completions, reward_model=[row["reward_model"]] * 3, prompts=[None] * 3)
print(json.dumps({
    "tools": tools,
    "schema_params": {n: sorted(s["function"]["parameters"]["properties"]) for n, s in schemas.items()},
    "search_results": len(searched[0]["web_page_info_list"]),
    "browse_error": read[0].get("error"),
    "refused_error": refused[0].get("error"),
    "rewards": rewards,
}))
