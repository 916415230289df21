"""One pass over every item of a wrk item file against `webtape serve`, each sent once: the warm-up that leaves a
server in the state of one that has been answering a while (scripts/bench_scale.sh runs it before each load run).
Items are JSON string literals (queries, POST /retrieve with topk 3) or, with --browse, URLs (POST /browse).
Prints one JSON line: {"requests", "seconds", "rps", "p50_ms", "p99_ms", "failed"} (answers other than 200, which
scale_report.py notes).
usage: warm_pass.py URL FILE [--browse] [--connections N]
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("file")
    ap.add_argument("--browse", action="store_true")
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    items = [line.rstrip("\n") for line in open(args.file, encoding="utf-8") if line.strip()]
    if args.browse:
        path, bodies = "/browse", [json.dumps({"url": item}) for item in items]
    else:
        path, bodies = "/retrieve", ['{"queries":[' + item + '],"topk":3,"return_scores":true}' for item in items]
    target = urllib.parse.urlsplit(args.url)
    latencies, failed, lock = [], [0], threading.Lock()
    next_item = iter(range(len(bodies)))

    def worker():
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        mine, bad = [], 0
        while True:
            with lock:
                i = next(next_item, None)
            if i is None:
                break
            start = time.perf_counter()
            conn.request("POST", path, bodies[i], {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            bad += response.status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            failed[0] += bad

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    latencies.sort()
    pct = lambda p: round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else None
    print(json.dumps({"requests": len(latencies), "seconds": round(seconds, 2), "rps": round(len(latencies) / seconds),
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99), "failed": failed[0]}))


if __name__ == "__main__":
    main()
