#!/usr/bin/env bash
# `webtape serve` under load on a ~52k-page snapshot (the Rust docs import + a recorded sim web), with wrk on
# loopback: /retrieve exact-hit throughput and latency at 256 connections, BM25-fallback throughput, server RSS,
# and a 4,096-call turn. Peer in the same run: a Search-R1-style FastAPI + bm25s retriever over the same texts.
# usage: scripts/bench_serve.sh [SECONDS]   (default 10 per load run)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
BIN=target/release/webtape
OUT=bench-out/serve
command -v wrk >/dev/null || { echo "bench: wrk missing (apt-get install wrk)" >&2; exit 1; }
[[ -d bench-out/snap-all ]] || bash scripts/bench_import.sh
[[ -d bench-out/record/snap ]] || bash scripts/bench_record.sh
rm -rf "$OUT"; mkdir -p "$OUT"
"$BIN" snapshot merge bench-out/snap-all bench-out/record/snap --into "$OUT/snap" > /dev/null
"$BIN" snapshot optimize "$OUT/snap"
"$BIN" snapshot export-text "$OUT/snap" "$OUT/corpus.jsonl"
python3 - "$OUT" <<'PY'
import json, random, sys
out = sys.argv[1]
random.seed(7)
qs = [json.loads(l)["question"] for l in open("bench-out/record/questions.jsonl")]
open(f"{out}/exact.txt", "w").write("".join(json.dumps(q) + "\n" for q in qs))
docs = [json.loads(l) for l in open(f"{out}/corpus.jsonl")]
titles = [d["contents"].split("\n")[0].strip('"') for d in docs if "127.0.0.1" not in d["id"]]
random.shuffle(titles)
open(f"{out}/fallback.txt", "w").write("".join(json.dumps(t + " examples") + "\n" for t in titles[:3000]))
open(f"{out}/urls.txt", "w").write("".join(d["id"] + "\n" for d in docs[::7]))
PY
echo "== $(wc -l < "$OUT/corpus.jsonl") pages, $(wc -l < "$OUT/exact.txt") recorded queries"

"$BIN" serve --snapshot "$OUT/snap" --port 0 > "$OUT/serve.log" &
SRV=$!
PEER=""
trap 'kill $SRV $PEER 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q http "$OUT/serve.log" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$OUT/serve.log")

load() { QUERIES=$2 wrk -t2 -c256 -d"${SECS}s" --latency -s benches/wrk/retrieve.lua "$1" > "$3"; }
summ() { python3 - "$1" "$2" <<'PY'
import re, sys
t = open(sys.argv[2]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def pct(p):
    m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", t)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{sys.argv[1]:<34} {rps:>9.0f} req/s   p50 {pct(50):6.2f} ms   p99 {pct(99):6.2f} ms   non-2xx {errors.group(1) if errors else 0}")
PY
}
echo "== load: wrk -t2 -c256 -d${SECS}s, one query per /retrieve"
load "$URL" "$OUT/exact.txt" "$OUT/wrk-exact.txt"; summ "webtape exact hits" "$OUT/wrk-exact.txt"
load "$URL" "$OUT/fallback.txt" "$OUT/wrk-bm25.txt"; summ "webtape BM25 fallback" "$OUT/wrk-bm25.txt"
rss=$(grep VmHWM /proc/$SRV/status | awk '{print $2}')
echo "webtape serve peak RSS: $((rss / 1024)) MB"
echo "== 4,096 concurrent tool calls (half 3-query searches, half browses)"
SERVE_URL=$URL QUERIES="$OUT/exact.txt" URLS="$OUT/urls.txt" cargo bench -q --bench serve_turn 2>/dev/null | tee "$OUT/turn.txt"

echo "== peer: FastAPI + uvicorn + bm25s over the same $(wc -l < "$OUT/corpus.jsonl") texts"
python3 benches/py/peer_retriever.py "$OUT/corpus.jsonl" 8765 > "$OUT/peer.log" 2>&1 &
PEER=$!
for _ in $(seq 1200); do curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"queries":["x"]}' http://127.0.0.1:8765/retrieve && break; sleep 0.25; done
load "http://127.0.0.1:8765" "$OUT/fallback.txt" "$OUT/wrk-peer.txt"; summ "peer (FastAPI + bm25s) BM25" "$OUT/wrk-peer.txt"
python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
rps = lambda f: float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{out}/{f}").read()).group(1))
print(f"ratio: webtape BM25 fallback = {rps('wrk-bm25.txt') / rps('wrk-peer.txt'):.1f}x the peer; exact hits = {rps('wrk-exact.txt') / rps('wrk-peer.txt'):.1f}x")
PY
