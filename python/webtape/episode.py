"""One agent episode against `webtape serve`, for environments that see the model's raw text (SkyRL) or its parsed
tool calls (TRL): an episode id on the server (DeepResearcher's rules apply per episode), the question pages are read
for, and DeepResearcher's turn format (`parse_turn`, a port of webtape's `crates/agent/src/agent/parse.rs`).
"""
from __future__ import annotations

import json
import uuid
from typing import Optional, Tuple

from .client import WebtapeClient

TOOLS = ("web_search", "browse_webpage")


def wrap_observation(observation: str) -> str:
    """A tool answer as the next user turn's text (webtape's and DeepResearcher's `<tool_response>` wrapping)."""
    return f"<tool_response>\n{observation}\n</tool_response>"


def _strings(value) -> Optional[list]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    value = [v.strip() for v in value if v.strip()]
    return value or None


def _between(text: str, opening: str, closing: str) -> str:
    start = text.find(opening)
    start = 0 if start < 0 else start + len(opening)
    end = text.find(closing, start)
    return text[start:] if end < 0 else text[start:end]


def parse_turn(text: str) -> Tuple[str, object]:
    """One assistant turn: `("answer", text)`, `("call", (tool, arguments))` or `("invalid", reason)`. The turn
    is `<think>...</think>` (the opening tag may have been prefilled) then one `<tool_call>` or one `<answer>`."""
    opens = text.count("<think>") or 1
    if text.count("</think>") != 1 or opens != 1:
        return "invalid", f"expected one <think>…</think> block, found {opens} <think> and {text.count('</think>')} </think>"
    after = text.split("</think>", 1)[1].strip()
    for opening, closing in (("<answer>", "</answer>"), ("<tool_call>", "</tool_call>")):
        if after.count(opening) != after.count(closing):
            return "invalid", "unbalanced <answer> or <tool_call> tags"
    answers, calls = after.count("<answer>"), after.count("<tool_call>")
    if (answers, calls) == (1, 0):
        return "answer", _between(after, "<answer>", "</answer>").strip()
    if (answers, calls) == (0, 0):
        return "invalid", "no <tool_call> and no <answer> after </think>"
    if (answers, calls) != (0, 1):
        return "invalid", "one turn must hold exactly one <tool_call> or one <answer>"
    try:
        call = json.loads(_between(after, "<tool_call>", "</tool_call>").strip())
    except ValueError as e:
        return "invalid", f"tool call is not valid JSON: {e}"
    name = call.get("name") if isinstance(call, dict) else None
    args = call.get("arguments") if isinstance(call, dict) and isinstance(call.get("arguments"), dict) else {}
    key = {"web_search": "query", "browse_webpage": "url_list"}.get(name)
    if key is None:
        return "invalid", f"unknown tool {name!r} (use web_search or browse_webpage)" if name else 'tool call has no "name"'
    values = _strings(args.get(key))
    if values is None:
        return "invalid", f"{name} needs arguments.{key}: a list of strings"
    return "call", (name, {key: values})


class Episode:
    """An episode on the server: tool calls name it, `close()` forgets it there."""

    def __init__(self, client: WebtapeClient, question: str = "", prefix: str = "ep"):
        self.client = client
        self.question = question
        self.id = f"{prefix}-{uuid.uuid4().hex}"
        self.calls = 0

    def call(self, tool: str, arguments: dict) -> str:
        """The observation text of one tool call in this episode (browse reads pages for the episode's question)."""
        arguments = dict(arguments)
        if tool == "browse_webpage" and self.question and not arguments.get("question"):
            arguments["question"] = self.question
        self.calls += 1
        return self.client.call_tool(tool, arguments, self.id)

    def close(self) -> None:
        if self.calls:
            self.client.close_episode(self.id)
        self.calls = 0
