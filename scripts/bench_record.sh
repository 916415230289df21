#!/usr/bin/env bash
# Recording throughput against the sim web on loopback with 64-way concurrency: pages/s, CPU % and CPU time per
# page of `webtape record` (search + fetch + extract + store + index), beside a Python `requests` peer doing the
# same searches and page fetches on 64 threads without storing anything, measured in the same run. The sim web
# runs on the same machine, so both share the cores with it.
# usage: scripts/bench_record.sh [ENTITIES]   (default 3000; about as many pages)
set -euo pipefail
cd "$(dirname "$0")/.."
ENTITIES=${1:-3000}
BIN=target/release/webtape
OUT=bench-out/record
rm -rf "$OUT"; mkdir -p "$OUT"

"$BIN" sim serve --port 0 --entities "$ENTITIES" > "$OUT/sim.log" &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q http "$OUT/sim.log" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$OUT/sim.log")
"$BIN" sim questions --entities "$ENTITIES" > "$OUT/questions.jsonl"
echo "== sim web at $URL: $(head -c 200 "$OUT/sim.log" | cut -d'(' -f1)"

echo "== webtape record, concurrency 64"
export SERPER_API_KEY=bench-key
/usr/bin/time -f '%e %U %S' -o "$OUT/time.txt" "$BIN" record --provider serper --endpoint "$URL" \
  --queries "$OUT/questions.jsonl" --snapshot "$OUT/snap" --allow-private --concurrency 64 \
  --rate none --host-rate none --host-concurrency 0 --pages-per-query 5 --json > "$OUT/summary.json"
read -r wall user sys < "$OUT/time.txt"
pages=$(python3 -c "import json;print(json.load(open('$OUT/summary.json'))['pages'])")

echo "== peer: python requests, 64 threads, same searches and pages, nothing stored"
peer=$(python3 benches/py/peer_fetch.py "$URL" "$OUT/questions.jsonl" 64 5)

python3 - "$wall" "$user" "$sys" "$pages" "$peer" <<'PY'
import json, sys
wall, user, sys_, pages = map(float, sys.argv[1:5])
peer = json.loads(sys.argv[5])
cpu = user + sys_
ours = pages / wall
print(f"webtape record : {int(pages)} pages in {wall:.2f} s = {ours:.0f} pages/s, CPU {100*cpu/wall:.0f}% "
      f"({1000*cpu/pages:.2f} ms CPU per page, incl. search, extraction, RocksDB, tantivy)")
print(f"python requests: {peer['pages']} pages in {peer['wall_s']:.2f} s = {peer['pages_per_s']:.0f} pages/s, "
      f"{1000*peer['cpu_s']/peer['pages']:.2f} ms CPU per page (same searches and fetches, nothing stored)")
print(f"ratio          : webtape records at {ours/peer['pages_per_s']:.2f}x the pages/s of the fetch-only peer")
PY
