"""TRL: an environment class for `GRPOTrainer(environment_factory=...)` and DeepResearcher's reward as a TRL reward
function.

    from webtape.trl import environment_factory, reward_func
    trainer = GRPOTrainer(model=..., train_dataset=ds, reward_funcs=reward_func,
                          environment_factory=environment_factory("http://127.0.0.1:8000"))

TRL makes every public method of the class a tool (its docstring is the tool description), so `WebtapeEnvironment`
has exactly `reset`, `web_search` and `browse_webpage`. `reset(**row)` opens a fresh episode on the server for each
rollout. The dataset needs a `prompt` column and the gold answers in `reward_model` (`{"ground_truth": ...}`, as
`webtape.data` writes) or `answers`.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional

from .client import WebtapeClient, default_url
from .data import _prompt_text
from .episode import Episode
from .reward import score_response


class WebtapeEnvironment:
    """webtape's replayed web: `web_search` and `browse_webpage` with DeepResearcher's rules per rollout."""

    def __init__(self, url: Optional[str] = None, client: Optional[WebtapeClient] = None):
        self._client = client or WebtapeClient(url or default_url())
        self._episode: Optional[Episode] = None

    def reset(self, **kwargs) -> None:
        """Starts a new episode (the previous one is closed on the server)."""
        if self._episode is not None:
            self._episode.close()
        extra = kwargs.get("extra_info") or {}
        question = kwargs.get("question") or extra.get("question") or _prompt_text(kwargs.get("prompt")) or ""
        self._episode = Episode(self._client, question, prefix="trl")
        return None

    def web_search(self, query: List[str]) -> str:
        """
        Search the web. Returns the title, URL and a short summary of the top results of each query (at most 3 queries per call).

        Args:
            query: The search queries.

        Returns:
            The results of each query as JSON.
        """
        return self._session().call("web_search", {"query": query})

    def browse_webpage(self, url_list: List[str]) -> str:
        """
        Read web pages from the latest search results and return what they say about the question.

        Args:
            url_list: URLs from the latest search results.

        Returns:
            What each page says, as JSON.
        """
        return self._session().call("browse_webpage", {"url_list": url_list})

    def _session(self) -> Episode:
        if self._episode is None:
            self.reset()
        return self._episode


def environment_factory(url: Optional[str] = None, **client_options: Any) -> Callable[[], WebtapeEnvironment]:
    """A factory for `GRPOTrainer(environment_factory=...)`: one `WebtapeEnvironment` per call, talking to `url`."""
    url = url or default_url()
    return lambda: WebtapeEnvironment(client=WebtapeClient(url, **client_options))


def _completion_text(completion: Any) -> str:
    """The model's own text of a completion: a string, or its assistant messages' contents joined."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion or []:
        if isinstance(message, dict) and message.get("role") == "assistant":
            content = message.get("content") or ""
            if isinstance(content, list):
                content = "".join(c.get("text", "") for c in content if isinstance(c, dict))
            parts.append(content)
    return "\n".join(parts)


def reward_func(completions: List[Any], reward_model: Optional[List[Any]] = None, answers: Optional[List[Any]] = None,
                **kwargs) -> List[float]:
    """DeepResearcher's reward of each completion (TRL reward-function signature)."""
    if reward_model is not None:
        truths = [(r or {}).get("ground_truth") for r in reward_model]
    elif answers is not None:
        truths = list(answers)
    else:
        raise ValueError("webtape reward: the dataset needs a `reward_model` ({ground_truth}) or `answers` column")
    return [score_response(_completion_text(c), t)["score"] for c, t in zip(completions, truths)]
