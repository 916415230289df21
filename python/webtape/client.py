"""A client of `webtape serve`: tool calls by name (`POST /tools/{name}`), episodes, run digests.

Every request is retried a bounded number of times on 429 (waiting what `Retry-After` says), on 5xx and on
connection errors; a tool call the server calls wrong (400) comes back as the observation `{"error": ...}`, the text
the in-process environment gives for an invalid action, because tool failures are observations, not exceptions.
"""
from __future__ import annotations

import email.utils
import json
import os
import threading
import time
import urllib.parse
from typing import Any, Optional

import requests

DEFAULT_URL = "http://127.0.0.1:8000"


class WebtapeError(RuntimeError):
    """The server could not be reached, or kept refusing, within the retry budget."""


def default_url() -> str:
    """`$WEBTAPE_URL`, else the local `webtape serve` on its default port."""
    return os.environ.get("WEBTAPE_URL", DEFAULT_URL)


def compact(value: Any) -> str:
    """JSON without spaces and with non-ASCII kept, as the Rust server writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def retry_after_seconds(header: Optional[str]) -> Optional[float]:
    """A `Retry-After` value in seconds: delay-seconds or an HTTP date; None when absent or unreadable."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class WebtapeClient:
    """Talks to one `webtape serve` (thread-safe; one connection pool per client).

    max_retries: retries after the first try (so at most max_retries + 1 requests per call).
    backoff: the first wait when the server gives no `Retry-After` (doubled each retry); max_wait caps any wait.
    token: the server's bearer token (default `$WEBTAPE_TOKEN`), needed by a server bound beyond loopback.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        timeout: float = 120.0,
        max_retries: int = 8,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        token: Optional[str] = None,
    ):
        self.url = (url or default_url()).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.token = token if token is not None else os.environ.get("WEBTAPE_TOKEN")
        self.retries = 0  # retries made so far (all calls), for metrics and tests
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(self, method: str, path: str, body: Any = None, episode: Optional[str] = None) -> requests.Response:
        """One request with bounded retries; the final response (any status below 500 other than 429)."""
        headers = {"x-webtape-episode": episode} if episode else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            wait = min(self.backoff * (2**attempt), self.max_wait)
            try:
                resp = self._session().request(
                    method, self.url + path, json=body, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as e:
                last = f"{type(e).__name__}: {e}"
            else:
                if resp.status_code != 429 and resp.status_code < 500:
                    return resp
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                told = retry_after_seconds(resp.headers.get("Retry-After"))
                if told is not None:
                    wait = min(told, self.max_wait)
            if attempt == self.max_retries:
                break
            self.retries += 1
            time.sleep(wait)
        raise WebtapeError(f"{method} {self.url}{path} failed after {self.max_retries + 1} tries: {last}")

    def call_tool(self, name: str, arguments: dict, episode: Optional[str] = None) -> str:
        """The observation text of tool `name` (`web_search`, `browse_webpage`, `fetch`) called with `arguments`."""
        resp = self.request("POST", f"/tools/{name}", {"arguments": arguments}, episode)
        if resp.status_code == 200:
            return resp.json()["observation"]
        if resp.status_code == 400:
            return compact({"error": _error(resp)})
        raise WebtapeError(f"POST {self.url}/tools/{name}: HTTP {resp.status_code}: {_error(resp)}")

    def search(self, queries, episode: Optional[str] = None) -> str:
        """`web_search`: DeepResearcher's search observation for `queries` (a string or a list)."""
        return self.call_tool("web_search", {"query": queries}, episode)

    def browse(self, urls, question: str = "", episode: Optional[str] = None) -> str:
        """`browse_webpage`: DeepResearcher's browse observation for `urls`, read for `question`."""
        return self.call_tool("browse_webpage", {"url_list": urls, "question": question}, episode)

    def episode(self, episode: str) -> Optional[dict]:
        """The episode's log and digest (`GET /episodes/{id}`); None when the server has no such episode."""
        resp = self.request("GET", "/episodes/" + urllib.parse.quote(episode, safe=""))
        return resp.json() if resp.status_code == 200 else None

    def close_episode(self, episode: str) -> bool:
        """Forgets the episode on the server (`DELETE /episodes/{id}`); False when it had none."""
        return self.request("DELETE", "/episodes/" + urllib.parse.quote(episode, safe="")).status_code == 200

    def health(self) -> dict:
        """`GET /healthz`: mode, snapshot, `date` (the prompts' "today"), rules."""
        return self.request("GET", "/healthz").json()

    def digest(self, since: Optional[str] = None) -> dict:
        """`GET /digest[?since=TOKEN]`: this server's run-digest parts (`webtape digest combine` adds servers up)."""
        return self.request("GET", "/digest" + ("?since=" + urllib.parse.quote(since, safe="") if since else "")).json()

    def mark(self, token: str) -> dict:
        """`POST /digest {"mark": token}`: remember the parts now, to ask for the calls since later."""
        return self.request("POST", "/digest", {"mark": token}).json()


def _error(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("error", resp.text))
    except ValueError:
        return resp.text
