"""veRL through its own code paths against a running `webtape serve`: the tool registry loads
configs/verl/tool_config.yaml; ToolAgentLoop._call_tool (create -> execute(agent_data=...) -> release, then its
response truncation) runs both tools for two trajectories; veRL's custom-reward loader loads webtape's reward. Then
the way veRL runs tools at scale: a local CPU-only Ray (loopback, no dashboard, no usage stats) and, inside a Ray
actor (as veRL's AgentLoopWorker does), the tool registry loads the same config and runs search + browse for one
trajectory; its observations must equal the in-process ones.

usage: frameworks_verl.py SERVER_URL QUESTIONS.parquet TOOL_CONFIG.yaml   (prints a JSON summary)
"""
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid

url, parquet, tool_config = sys.argv[1:4]
os.environ["WEBTAPE_URL"] = url  # the YAML reads ${oc.env:WEBTAPE_URL,...}; Ray's workers inherit it
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # Ray never phones home
os.environ["RAY_DISABLE_IMPORT_WARNING"] = "1"

import pyarrow.parquet as pq  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from verl.experimental.agent_loop.tool_agent_loop import AgentData, ToolAgentLoop  # noqa: E402
from verl.experimental.agent_loop.tool_parser import FunctionCall  # noqa: E402
from verl.tools.tool_registry import initialize_tools_from_config  # noqa: E402
from verl.trainer.ppo.reward import get_custom_reward_fn  # noqa: E402

import webtape.reward  # noqa: E402
from webtape.client import WebtapeClient  # noqa: E402

row = pq.read_table(parquet).to_pylist()[0]
question = row["prompt"][-1]["content"]
tools = initialize_tools_from_config(tool_config)
assert [t.name for t in tools] == ["web_search", "browse_webpage"], [t.name for t in tools]
assert all(t.client.url == url for t in tools), "the YAML's url follows $WEBTAPE_URL"


def tool_loop(max_len):
    """veRL's ToolAgentLoop with only what _call_tool reads (no model, no Ray)."""
    loop = ToolAgentLoop.__new__(ToolAgentLoop)
    loop.tools = {t.name: t for t in tools}
    loop.max_tool_response_length = max_len
    loop.tool_response_truncate_side = "middle"
    return loop


def trajectory():
    return AgentData(messages=list(row["prompt"]), image_data=None, video_data=None, audio_data=None,
                     mm_processor_kwargs=None, metrics={}, request_id=uuid.uuid4().hex,
                     tools_kwargs=row["extra_info"]["tools_kwargs"])


async def call(loop, agent, name, arguments):
    tool_call = FunctionCall(name=name, arguments=json.dumps(arguments))
    response, reward, _metrics = await loop._call_tool(tool_call, agent.tools_kwargs, agent)
    return response.text


async def main():
    loop, a, b = tool_loop(16384), trajectory(), trajectory()
    searched = await call(loop, a, "web_search", {"query": [question]})
    results = json.loads(searched)
    first = results[0]["web_page_info_list"][0]["url"]
    read_text = await call(loop, a, "browse_webpage", {"url_list": [first]})
    read = json.loads(read_text)
    refused = json.loads(await call(loop, b, "browse_webpage", {"url_list": [first]}))
    # Two calls in one trajectory share its episode; the other trajectory has its own.
    episode = a._webtape_episode
    log = WebtapeClient(url).episode(episode)
    # The same call without veRL in between: the same bytes (the server's in-process observation text).
    direct = WebtapeClient(url).search([question], episode="direct-check")
    truncated = await call(tool_loop(256), trajectory(), "web_search", {"query": [question]})
    cfg = OmegaConf.create({"reward": {"custom_reward_function": {
        "path": webtape.reward.__file__, "name": "compute_score"}}})
    score = get_custom_reward_fn(cfg)
    gold = row["reward_model"]["ground_truth"]
    first_gold = gold.split("<|answer_split|>")[0]
    right = score(data_source=row["data_source"], solution_str=f"<think>x</think><answer>{first_gold}</answer>",
                  ground_truth=gold, extra_info=row["extra_info"])
    wrong = score(data_source=row["data_source"], solution_str="<think>x<answer>nope</answer>", ground_truth=gold)
    return searched, read_text, {
        "search_results": len(results[0]["web_page_info_list"]),
        "search_chars": len(searched),
        "search_equals_direct": searched == direct,
        "browse_error": read[0].get("error"),
        "browse_summary_chars": len(read[0]["information"][0]["page_summary"]) if read[0]["information"] else 0,
        "refused_error": refused[0].get("error"),
        "episode_calls": log["calls"] if log else None,
        "default_length_truncates": "(truncated)" in truncated,
        "reward_right": right,
        "reward_wrong": wrong,
    }


searched, read, summary = asyncio.run(main())


def in_ray(tool_config, row, question):
    """Search + browse for one trajectory inside a Ray actor whose tools come from veRL's registry."""
    import ray

    @ray.remote(num_cpus=1)
    class ToolWorker:
        """What veRL's AgentLoopWorker holds for the tool agent loop: the registry's tools in a worker process."""

        def __init__(self, tool_config):
            from verl.tools.tool_registry import initialize_tools_from_config as load

            self.loop = ToolAgentLoop.__new__(ToolAgentLoop)
            self.loop.tools = {t.name: t for t in load(tool_config)}
            self.loop.max_tool_response_length = 16384
            self.loop.tool_response_truncate_side = "middle"

        async def trajectory(self, row, question):
            agent = AgentData(messages=list(row["prompt"]), image_data=None, video_data=None, audio_data=None,
                              mm_processor_kwargs=None, metrics={}, request_id=uuid.uuid4().hex,
                              tools_kwargs=row["extra_info"]["tools_kwargs"])
            searched = await call(self.loop, agent, "web_search", {"query": [question]})
            first = json.loads(searched)[0]["web_page_info_list"][0]["url"]
            read = await call(self.loop, agent, "browse_webpage", {"url_list": [first]})
            return {"pid": os.getpid(), "search": searched, "browse": read, "episode": agent._webtape_episode,
                    "url": self.loop.tools["web_search"].client.url}

    started = time.time()
    session = tempfile.mkdtemp(prefix="wtray")  # short: Ray's socket paths must fit 107 bytes
    ray.init(num_cpus=1, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=session,
             log_to_driver=False, configure_logging=False)
    try:
        worker = ToolWorker.remote(tool_config)
        out = ray.get(worker.trajectory.remote(row, question), timeout=120)
    finally:
        ray.shutdown()
        shutil.rmtree(session, ignore_errors=True)
    out["seconds"] = time.time() - started
    return out


remote = in_ray(tool_config, row, question)
log = WebtapeClient(url).episode(remote["episode"])
summary.update({
    "ray_other_process": remote["pid"] != os.getpid(),
    "ray_url": remote["url"],
    "ray_search_equals_in_process": remote["search"] == searched,
    "ray_browse_equals_in_process": remote["browse"] == read,
    "ray_episode_calls": log["calls"] if log else None,
    "ray_seconds": round(remote["seconds"], 1),
})
print(json.dumps(summary))
