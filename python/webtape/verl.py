"""veRL tools: `SearchTool` (`web_search`) and `BrowseTool` (`browse_webpage`), `BaseTool` subclasses answering from a
`webtape serve` with DeepResearcher's observation JSON (see `configs/verl/tool_config.yaml`).

veRL's tool agent loop calls create -> execute -> release for every single tool call, so the episode (whose latest
search decides which URLs may be browsed) cannot live in a tool instance: it is keyed by the trajectory, the
`agent_data` object veRL passes to `execute` (an episode id is stored on it on first use). Without `agent_data`, an
`episode` in the create kwargs, else the instance id, names it. The server applies the episode's rules; this process
closes its oldest episodes on the server once more than `max_open_episodes` are open (veRL never says when a
trajectory ends).

Tool config (`config:` in the YAML): `url` (default `$WEBTAPE_URL` or http://127.0.0.1:8000), `timeout`,
`max_retries`, `max_retry_wait`, `max_open_episodes`, `token` (default `$WEBTAPE_TOKEN`: a shared server's token).
"""
from __future__ import annotations

import asyncio
import collections
import threading
import uuid
from typing import Any, Optional

from verl.tools.base_tool import BaseTool
from verl.tools.schemas import OpenAIFunctionToolSchema, ToolResponse

from .client import WebtapeClient, default_url

_EPISODE_ATTR = "_webtape_episode"


class _OpenEpisodes:
    """The episodes this process opened on one server, oldest first; beyond `limit`, the oldest are closed."""

    def __init__(self, client: WebtapeClient, limit: int):
        self.client, self.limit = client, limit
        self.lock = threading.Lock()
        self.order: "collections.OrderedDict[str, None]" = collections.OrderedDict()

    def touch(self, episode: str) -> list:
        """Marks `episode` used; the episodes to close now."""
        with self.lock:
            self.order[episode] = None
            self.order.move_to_end(episode)
            evicted = []
            while len(self.order) > self.limit:
                evicted.append(self.order.popitem(last=False)[0])
            return evicted


_SHARED: dict = {}
_SHARED_LOCK = threading.Lock()


def _shared(config: dict) -> tuple:
    """One client and one episode table per server URL in this process, shared by the search and browse tools."""
    url = (config.get("url") or default_url()).rstrip("/")
    with _SHARED_LOCK:
        if url not in _SHARED:
            client = WebtapeClient(
                url,
                timeout=float(config.get("timeout", 120)),
                max_retries=int(config.get("max_retries", 8)),
                max_wait=float(config.get("max_retry_wait", 30)),
                token=config.get("token"),
            )
            _SHARED[url] = (client, _OpenEpisodes(client, int(config.get("max_open_episodes", 16384))))
        return _SHARED[url]


def episode_of(agent_data: Any) -> str:
    """The episode id of a trajectory (veRL's `AgentData`), made on first use."""
    episode = getattr(agent_data, _EPISODE_ATTR, None)
    if episode is None:
        episode = f"verl-{uuid.uuid4().hex}"
        setattr(agent_data, _EPISODE_ATTR, episode)
    return episode


class _WebtapeTool(BaseTool):
    tool_name = ""
    default_schema: dict = {}

    def __init__(self, config: dict, tool_schema: Optional[OpenAIFunctionToolSchema] = None):
        self.client, self.episodes = _shared(config or {})
        self._instances: dict = {}
        super().__init__(config or {}, tool_schema)

    def get_openai_tool_schema(self) -> OpenAIFunctionToolSchema:
        return OpenAIFunctionToolSchema.model_validate(self.default_schema)

    async def create(self, instance_id: Optional[str] = None, **kwargs) -> tuple:
        instance_id = instance_id or uuid.uuid4().hex
        self._instances[instance_id] = dict(kwargs.get("create_kwargs") or {})
        return instance_id, ToolResponse()

    def _episode(self, instance_id: str, kwargs: dict) -> str:
        agent_data = kwargs.get("agent_data")
        if agent_data is not None:
            return episode_of(agent_data)
        return str(self._instances.get(instance_id, {}).get("episode") or f"verl-{instance_id}")

    def _arguments(self, instance_id: str, parameters: dict) -> dict:
        return dict(parameters)

    async def execute(self, instance_id: str, parameters: dict, **kwargs) -> tuple:
        episode = self._episode(instance_id, kwargs)
        arguments = self._arguments(instance_id, parameters or {})
        text = await asyncio.to_thread(self.client.call_tool, self.tool_name, arguments, episode)
        for old in self.episodes.touch(episode):
            await asyncio.to_thread(self.client.close_episode, old)
        return ToolResponse(text=text), 0.0, {"response_chars": len(text)}

    async def calc_reward(self, instance_id: str, **kwargs) -> float:
        return 0.0

    async def release(self, instance_id: str, **kwargs) -> None:
        self._instances.pop(instance_id, None)


class SearchTool(_WebtapeTool):
    """`web_search`: `{"query": [..]}` -> `[{"search_query", "web_page_info_list": [{"title", "url", "quick_summary"}]}]`."""

    tool_name = "web_search"
    default_schema = {
        "type": "function",
        "function": {
            "name": "web_search",
            "description": "Search the web. Returns the title, URL and a short summary of the top results of each "
            "query (at most 3 queries per call).",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "array", "description": "The search queries (a list of strings)."}},
                "required": ["query"],
            },
        },
    }


class BrowseTool(_WebtapeTool):
    """`browse_webpage`: `{"url_list": [..]}` -> `[{"url", "information": [{"page_number", "page_summary"}]}]`; pages
    are read for the episode's question (`tools_kwargs.browse_webpage.create_kwargs.question` in the data)."""

    tool_name = "browse_webpage"
    default_schema = {
        "type": "function",
        "function": {
            "name": "browse_webpage",
            "description": "Read web pages from the latest search results and return what they say about the question.",
            "parameters": {
                "type": "object",
                "properties": {
                    "url_list": {"type": "array", "description": "URLs from the latest search results (a list of strings)."}
                },
                "required": ["url_list"],
            },
        },
    }

    def _arguments(self, instance_id: str, parameters: dict) -> dict:
        arguments = dict(parameters)
        question = self._instances.get(instance_id, {}).get("question")
        if question and not arguments.get("question"):
            arguments["question"] = question
        return arguments
