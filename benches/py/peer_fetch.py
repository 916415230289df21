"""Peer of the recording benchmark: the same job as `webtape record` minus the storing - for each question, one
Serper-style search, then the top result pages not fetched yet - with `requests` on a 64-thread pool (a common
way research code scrapes). Bodies are kept in memory only. Prints pages/s and CPU seconds as JSON.

usage: peer_fetch.py ENDPOINT QUESTIONS.jsonl [THREADS] [PAGES_PER_QUERY]
"""
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

local = threading.local()
seen, seen_lock = set(), threading.Lock()


def session():
    s = getattr(local, "session", None)
    if s is None:
        s = local.session = requests.Session()
    return s


def one_question(endpoint, question, pages):
    r = session().post(f"{endpoint}/search", json={"q": question.lower(), "num": 10},
                       headers={"X-API-KEY": "bench-key"}, timeout=20)
    fetched = 0
    for hit in r.json().get("organic", [])[:pages]:
        with seen_lock:
            if hit["link"] in seen:
                continue
            seen.add(hit["link"])
        fetched += len(session().get(hit["link"], timeout=20).content) > 0
    return fetched


def main():
    endpoint, path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    pages = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    questions = [json.loads(l)["question"] for l in open(path) if l.strip()]
    cpu0, t0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda q: one_question(endpoint, q, pages), questions))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(json.dumps({"pages": total, "searches": len(questions), "wall_s": wall, "cpu_s": cpu,
                      "pages_per_s": total / wall}))


if __name__ == "__main__":
    main()
