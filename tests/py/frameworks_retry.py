"""Retries against a loopback stand-in for a busy `webtape serve`: 429 with Retry-After, then 503, then an answer;
a server that never stops refusing makes the call fail after the bounded retries; a 400 is an error observation.
The veRL tool built from configs/verl/tool_config.yaml retries the same way. Prints a JSON summary.

usage: frameworks_retry.py TOOL_CONFIG.yaml
"""
import asyncio
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

seen = []


class Busy(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen.append((self.path, self.headers.get("Authorization"), time.monotonic()))
        n = sum(1 for p, _, _ in seen if p == self.path)
        if self.path == "/tools/web_search":
            status, headers, body = [(429, {"Retry-After": "1"}, {"error": "busy"}), (503, {}, {"error": "down"})][n - 1] \
                if n <= 2 else (200, {}, {"observation": "[]"})
        elif self.path == "/tools/browse_webpage":
            status, headers, body = 429, {"Retry-After": "0"}, {"error": "busy"}
        else:
            status, headers, body = 400, {}, {"error": "`query` is missing"}
        raw = json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}"
os.environ["WEBTAPE_URL"] = url

from webtape.client import WebtapeClient, WebtapeError  # noqa: E402

client = WebtapeClient(url, backoff=0.05, max_retries=3, token="a-token-of-sixteen-chars")
t0 = time.monotonic()
answer = client.search(["q"], episode="e1")
waited = time.monotonic() - t0
gave_up = None
try:
    client.browse(["http://x.example/"], episode="e1")
except WebtapeError as e:
    gave_up = str(e)
bad = client.call_tool("fetch", {}, episode="e1")
auth = sorted({a for _, a, _ in seen})

seen.clear()
from verl.tools.tool_registry import initialize_tools_from_config  # noqa: E402

search_tool = initialize_tools_from_config(sys.argv[1])[0]


async def through_verl():
    instance, _ = await search_tool.create()
    response, _, _ = await search_tool.execute(instance, {"query": ["q"]})
    await search_tool.release(instance)
    return response.text


verl_answer = asyncio.run(through_verl())
print(json.dumps({
    "answer": answer, "auth": auth, "waited": waited, "retries": client.retries, "gave_up": gave_up, "bad_call": bad,
    "verl_answer": verl_answer, "verl_requests": len(seen), "verl_waited": seen[-1][2] - seen[0][2],
}))
