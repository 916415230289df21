"""A retrieval client that behaves like veRL's Search-R1 search tool helper: POST {"queries", "topk",
"return_scores"} to the retrieval URL with `requests`, retry on 5xx, then format each query's documents as
"Doc i (Title: ...)\\ntext" from result[i][j]["document"]["contents"] (title on the first line).

usage: verl_like_client.py RETRIEVE_URL QUERY...
"""
import sys
import time

import requests


def call(url, queries, topk=3):
    payload = {"queries": queries, "topk": topk, "return_scores": True}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    for attempt in range(3):
        r = requests.post(url, headers=headers, json=payload, timeout=30)
        if r.status_code in (500, 502, 503, 504):
            time.sleep(0.2 * (attempt + 1))
            continue
        r.raise_for_status()
        return r.json()
    raise RuntimeError("retrieval service kept failing")


def passages(docs):
    out = ""
    for i, item in enumerate(docs):
        content = item["document"]["contents"]
        title, _, text = content.partition("\n")
        out += f"Doc {i + 1} (Title: {title})\n{text}\n\n"
    return out


def main():
    url, queries = sys.argv[1], sys.argv[2:]
    response = call(url, queries)
    blocks = [passages(r) for r in response.get("result", [])]
    assert len(blocks) == len(queries), "one result list per query"
    print("\n---\n".join(blocks))


if __name__ == "__main__":
    main()
