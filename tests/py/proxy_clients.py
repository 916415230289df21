"""Unmodified Python clients doing a deep-research agent's web traffic, configured only by the environment
(HTTPS_PROXY / HTTP_PROXY, REQUESTS_CA_BUNDLE / SSL_CERT_FILE, SERPER_API_KEY, OPENAI_API_KEY):

- requests: Serper search at https://google.serper.dev/search, as DeepResearcher calls it (X-API-KEY, JSON string);
- httpx: the top result pages, over HTTPS;
- requests: robots.txt (a text page) and the sim's request counter (a JSON API: a generic HTTP exchange);
- openai: the reading model (chat completions) at READER_BASE_URL, asked about the first page.

Prints one JSON object: per call, the status, every response header and the sha256 of the body, so two runs
(record, then replay) can be compared byte for byte.

usage: proxy_clients.py QUERY [QUERY ...]
"""
import hashlib
import json
import os
import re
import sys

import httpx
import openai
import requests


def seen(what, status, headers, body):
    # Hop-by-hop and per-connection headers are the transport's, not the answer's.
    kept = {k.lower(): v for k, v in headers.items() if k.lower() not in ("connection", "keep-alive", "date")}
    return {"what": what, "status": status, "headers": dict(sorted(kept.items())),
            "len": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def main():
    queries = sys.argv[1:]
    key = os.environ["SERPER_API_KEY"]
    calls, links = [], []
    for q in queries:
        r = requests.post("https://google.serper.dev/search", data=json.dumps({"q": q}),
                          headers={"X-API-KEY": key, "Content-Type": "application/json"}, timeout=60)
        calls.append(seen(f"search {q}", r.status_code, r.headers, r.content))
        r.raise_for_status()
        links += [o["link"] for o in r.json().get("organic", [])[:2]]
    pages = []
    with httpx.Client(timeout=60) as client:
        for link in links:
            resp = client.get(link)
            calls.append(seen(f"page {link}", resp.status_code, resp.headers, resp.content))
            pages.append(resp.text)
    for path in ("/robots.txt", "/__sim/stats"):
        r = requests.get("https://sim.test" + path, timeout=60)
        calls.append(seen(f"get {path}", r.status_code, r.headers, r.content))
    reader = openai.OpenAI(base_url=os.environ["READER_BASE_URL"], max_retries=0)
    text = re.sub(r"<[^>]+>", " ", pages[0])[:3000] if pages else ""
    prompt = f"{queries[0]}\n\n{text}"
    raw = reader.chat.completions.with_raw_response.create(
        model="sim-reader", messages=[{"role": "user", "content": prompt}], temperature=0)
    calls.append(seen("chat", raw.http_response.status_code, raw.http_response.headers, raw.http_response.content))
    answer = raw.parse().choices[0].message.content
    print(json.dumps({"calls": calls, "links": links, "reader_answer": answer}))


if __name__ == "__main__":
    main()
