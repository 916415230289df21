"""webtape as the environment of large-scale RL trainers.

- `webtape.client`: `WebtapeClient`, a client of `webtape serve` (tool calls by name, episodes, run digests;
  bounded retries honouring 429 `Retry-After` and 5xx).
- `webtape.reward`: DeepResearcher's reward exactly as webtape computes it (`compute_score`: veRL's custom reward).
- `webtape.data`: webtape question JSONL <-> veRL / DeepResearcher parquet.
- `webtape.verl` (needs veRL): `SearchTool`, `BrowseTool`; `webtape.skyrl` (needs skyrl-gym): `WebtapeEnv`, registered
  as `webtape`; `webtape.trl` (needs TRL): `WebtapeEnvironment`, `environment_factory`, `reward_func`.
"""
from .client import WebtapeClient, WebtapeError
from .reward import compute_score

__all__ = ["WebtapeClient", "WebtapeError", "compute_score"]
__version__ = "0.1.0"
