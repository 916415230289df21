"""A SkyRL-gym environment over `webtape serve`: DeepResearcher's `web_search` / `browse_webpage` turns, scored with
DeepResearcher's reward when the model answers. Importing this module registers it in skyrl-gym's registry as
`webtape` (`environment.env_class=webtape`); `register(id)` registers it under another name.

env_config: `url` (default `$WEBTAPE_URL` or http://127.0.0.1:8000), `timeout`, `max_retries`.
extras (a dataset row's): `reward_spec.ground_truth` (required: answers, or a string joined by `<|answer_split|>`),
`max_turns` (default 10), `question` or `extra_info.question` (the question pages are read for).
"""
from __future__ import annotations

from typing import Any, Dict

from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput
from skyrl_gym.envs.registration import register as _register
from skyrl_gym.envs.registration import registry

from .client import WebtapeClient, default_url
from .episode import Episode, parse_turn, wrap_observation
from .reward import score_response

ENV_ID = "webtape"


def _get(config: Any, key: str, default: Any) -> Any:
    """`key` of a dict, an OmegaConf DictConfig or a dataclass."""
    if config is None:
        return default
    return config.get(key, default) if hasattr(config, "get") else getattr(config, key, default)


class WebtapeEnv(BaseTextEnv):
    """One episode: each `step` takes the model's turn; a tool call gets the observation as the next user turn, an
    answer ends the episode with the reward of all the model's turns (−1 for a broken format or no answer)."""

    def __init__(self, env_config: Any = None, extras: Dict[str, Any] = None):
        super().__init__()
        extras = extras or {}
        spec = extras.get("reward_spec") or {}
        if "ground_truth" not in spec:
            raise ValueError("webtape env: extras.reward_spec.ground_truth (the gold answers) is required")
        self.ground_truth = spec["ground_truth"]
        self.max_turns = int(extras.get("max_turns", 10))
        question = extras.get("question") or (extras.get("extra_info") or {}).get("question") or ""
        client = WebtapeClient(
            _get(env_config, "url", None) or default_url(),
            timeout=float(_get(env_config, "timeout", 120)),
            max_retries=int(_get(env_config, "max_retries", 8)),
        )
        self.episode = Episode(client, question, prefix="skyrl")
        self.turn_texts: list = []
        self.tool_calls = 0

    def step(self, action: str) -> BaseTextEnvStepOutput:
        self.turns += 1
        self.turn_texts.append(action)
        kind, value = parse_turn(action)
        if kind == "call" and self.turns < self.max_turns:
            tool, arguments = value
            observation = self.episode.call(tool, arguments)
            self.tool_calls += 1
            info = {"tool_name": tool, "tool_input": arguments}
            new = {"role": "user", "content": wrap_observation(observation)}
            return BaseTextEnvStepOutput(observations=[new], reward=0.0, done=False, metadata=info)
        # An answer, a broken turn (the format penalty, as webtape's own rollouts give) or the last turn.
        reward = score_response("\n".join(self.turn_texts), self.ground_truth)["score"] if kind == "answer" else -1.0
        self.episode.close()
        info = {"finish": kind if kind != "call" else "max_turns", "reason": value if kind == "invalid" else None}
        return BaseTextEnvStepOutput(observations=[], reward=reward, done=True, metadata=info)

    def close(self) -> None:
        self.episode.close()

    def get_metrics(self) -> Dict[str, Any]:
        return {"tool_calls": self.tool_calls, "turns": self.turns}


def register(env_id: str = ENV_ID) -> None:
    """Registers `WebtapeEnv` in skyrl-gym's registry as `env_id` (once)."""
    if env_id not in registry:
        _register(id=env_id, entry_point="webtape.skyrl:WebtapeEnv")


register()
