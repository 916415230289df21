"""SkyRL-gym through its own registry against a running `webtape serve`: `skyrl_gym.make("webtape", ...)` builds
webtape's env; a scripted episode searches, browses a result and answers. Prints a JSON summary.

usage: frameworks_skyrl.py SERVER_URL QUESTIONS.jsonl
"""
import json
import sys

import skyrl_gym

import webtape.skyrl  # noqa: F401  (registers "webtape")
from webtape.data import read_jsonl

url, questions = sys.argv[1:3]
q = read_jsonl(questions)[0]


def make():
    extras = {"reward_spec": {"method": "rule", "ground_truth": q["answers"]}, "max_turns": 5,
              "extra_info": {"question": q["question"]}}
    env = skyrl_gym.make("webtape", env_config={"url": url}, extras=extras)
    env.init([{"role": "user", "content": q["question"]}])
    return env


def call(name, arguments):
    body = json.dumps({"name": name, "arguments": arguments})
    return f"<think>I should use {name}.</think>\n<tool_call>\n{body}\n</tool_call>"


def observation(step):
    text = step["observations"][0]["content"]
    assert text.startswith("<tool_response>\n") and text.endswith("\n</tool_response>"), text[:80]
    return json.loads(text[len("<tool_response>\n"):-len("\n</tool_response>")])


env = make()
searched = env.step(call("web_search", {"query": [q["question"]]}))
first = observation(searched)[0]["web_page_info_list"][0]["url"]
read = observation(env.step(call("browse_webpage", {"url_list": [first]})))
answered = env.step(f"<think>The pages say it.</think>\n<answer>{q['answers'][0]}</answer>")

wrong_env = make()
wrong = wrong_env.step("<think>guess</think><answer>certainly not this</answer>")
broken_env = make()
broken = broken_env.step("no tags at all")
refused_env = make()
refused = observation(refused_env.step(call("browse_webpage", {"url_list": [first]})))
refused_env.close()
print(json.dumps({
    "search_done": searched["done"],
    "browse_error": read[0].get("error"),
    "done": answered["done"],
    "reward": answered["reward"],
    "metrics": env.get_metrics(),
    "wrong_reward": wrong["reward"],
    "broken_reward": broken["reward"],
    "refused_error": refused[0].get("error"),
}))
