"""TRL through its own code paths against a running `webtape serve`: `GRPOTrainer(environment_factory=
webtape.trl.environment_factory(url))` on a tiny random Qwen2 on CPU builds our environment, discovers its tools
and renders their schemas into the prompt; one `trainer.train()` step then runs TRL's rollout and tool loop: each
rollout's environment is `reset(**row)`, the tool calls go through TRL's tool dict to our environment and on to the
server, the observations come back into the completion, and webtape's reward scores it. A random model does not call
tools, so the policy's turns for the first rollout are scripted (search, browse the first result, answer); the
second rollout is the model's own text. Then a scripted episode straight on the environment (the browse rule).

usage: frameworks_trl.py SERVER_URL QUESTIONS.parquet   (prints a JSON summary)
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ["TRL_EXPERIMENTAL_SILENCE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

import make_tiny_models as tiny  # noqa: E402
from webtape.client import WebtapeClient  # noqa: E402
from webtape.trl import WebtapeEnvironment, environment_factory, reward_func  # noqa: E402

url, parquet = sys.argv[1:3]
row = pq.read_table(parquet).to_pylist()[0]
question = row["prompt"][-1]["content"]
gold = row["reward_model"]["ground_truth"].split("<|answer_split|>")[0]
tmp = Path(tempfile.mkdtemp(prefix="webtape-trl-"))

# A tiny random Qwen2 with Qwen2.5's chat template (TRL knows it: tool-call parsing, prefix-preserving rendering).
tok = tiny.build_tokenizer(tmp / "model")
config = tiny.model_configs(tok.get_vocab_size(), tok)["qwen2"]
config.max_position_embeddings = 16384  # room for two observations in one completion
torch.manual_seed(0)
model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
tokenizer = AutoTokenizer.from_pretrained(tmp / "model")

made = []
factory = environment_factory(url)


def counting_factory():
    env = factory()
    made.append(env)
    return env


scored = []


def reward(completions, **kwargs):
    rewards = reward_func(completions, **kwargs)
    scored.append({"rewards": rewards, "completions": completions})
    return rewards


args = GRPOConfig(
    output_dir=str(tmp / "out"), use_cpu=True, bf16=False, max_completion_length=8192, num_generations=2,
    per_device_train_batch_size=2, max_steps=1, report_to=[], logging_steps=1, save_strategy="no",
    max_tool_calling_iterations=3, seed=0,
)
trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=reward,
                      train_dataset=Dataset.from_list([row, row]), args=args, environment_factory=counting_factory)
made_at_init = len(made)
tools = sorted(t.__name__ for t in trainer.tools)
trainer.generation_config.max_new_tokens = 12  # the random model's own turns stay short (the tool budget does not)

# The policy: the model generates every turn (TRL's generation path); the first rollout's turns are then replaced by
# a scripted researcher that reads what TRL put in its prompt.
real_generate = trainer._generate_single_turn
seen = {"prompts": [], "turns": []}


def ids(text):
    return tokenizer.encode(text, add_special_tokens=False)


def scripted(prompt_text, first_turn, index):
    responses = re.findall(r"<tool_response>\n(.*?)\n</tool_response>", prompt_text, re.S)
    if first_turn:
        if index != 0:
            return None
        call = {"name": "web_search", "arguments": {"query": [question]}}
    elif not responses:
        return None
    elif "web_page_info_list" in responses[-1]:
        first = json.loads(responses[-1])[0]["web_page_info_list"][0]["url"]
        call = {"name": "browse_webpage", "arguments": {"url_list": [first]}}
    else:
        return f"<think>the page says</think>\n<answer>{gold}</answer><|im_end|>"
    return f"<think>{call['name']}</think>\n<tool_call>\n{json.dumps(call)}\n</tool_call><|im_end|>"


def generate(prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
    completion_ids, logprobs = real_generate(prompt_ids, images, multimodal_fields, num_generations, has_tool_images)
    first_turn = not seen["prompts"]
    for i, p in enumerate(prompt_ids):
        text = tokenizer.decode(p, skip_special_tokens=False)
        seen["prompts"].append(text)
        turn = scripted(text, first_turn, i)
        if turn is not None:
            completion_ids[i] = ids(turn)
            seen["turns"].append(turn.split("<|im_end|>")[0])
    return completion_ids, logprobs


trainer._generate_single_turn = generate
started = time.time()
trainer.train()
train_s = time.time() - started

# The tool schemas TRL rendered into the first prompt (Qwen2.5's template lists them inside <tools>).
block = re.search(r"<tools>\n(.*?)\n</tools>", seen["prompts"][0], re.S).group(1)
rendered = {s["function"]["name"]: sorted(s["function"]["parameters"]["properties"]) for s in map(json.loads,
                                                                                                    block.splitlines())}
rollouts = [e for e in made if e._episode is not None and e._episode.calls]
log = WebtapeClient(url).episode(rollouts[0]._episode.id) if rollouts else None
completion = scored[0]["completions"][0] if scored else []
history = trainer.state.log_history[0]
envs = len(made)

# A scripted episode straight on the environment: browsing needs a search first in the same episode.
env = factory()
assert isinstance(env, WebtapeEnvironment)
assert env.reset(**row) is None
searched = json.loads(env.web_search(query=[question]))
first = searched[0]["web_page_info_list"][0]["url"]
read = json.loads(env.browse_webpage(url_list=[first]))
env.reset(**row)  # the next rollout on this instance: a fresh episode with no search yet
refused = json.loads(env.browse_webpage(url_list=[first]))
shutil.rmtree(tmp, ignore_errors=True)

print(json.dumps({
    "train_s": round(train_s, 1),
    "tools": tools,
    "schema_params": rendered,
    "envs_at_init": made_at_init,
    "envs": envs,
    "envs_reset": sum(1 for e in made if e._episode is not None),
    "scripted_turns": len(seen["turns"]),
    "rollouts_with_calls": len(rollouts),
    "episode_calls": log["calls"] if log else None,
    "tool_roles": [m.get("name") for m in completion if isinstance(m, dict) and m.get("role") == "tool"],
    "observation_in_completion": any(first in str(m.get("content")) for m in completion if isinstance(m, dict)),
    "reward_calls": len(scored),
    "rewards": scored[0]["rewards"] if scored else None,
    "tool_call_frequency": history.get("tools/call_frequency"),
    "tool_failure_frequency": history.get("tools/failure_frequency"),
    "loss_is_finite": bool(torch.isfinite(torch.tensor(history.get("loss", float("nan"))))),
    "search_results": len(searched[0]["web_page_info_list"]),
    "browse_error": read[0].get("error"),
    "refused_error": refused[0].get("error"),
}))
