#!/usr/bin/env bash
# Bounded-overload soak of `webtape serve` (loopback only; not part of `make test`): a recorded sim snapshot served
# with a small --max-concurrency, wrk at 256 connections for SOAK_SECONDS (default 1800) sending /retrieve and
# /search, the server's RSS sampled every 10 s. Passes when every answer is 200 or 429 (never a 5xx, never a dropped
# connection) and RSS stays flat (the last quarter's mean within 10 % or 16 MB of the second quarter's), and the
# server still shuts down cleanly with its run digest.
# usage: scripts/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-${SOAK_SECONDS:-1800}}
BIN=${WEBTAPE:-target/release/webtape}
OUT=bench-out/soak
command -v wrk >/dev/null || { echo "soak: wrk missing (apt-get install wrk, or make deps-bench)" >&2; exit 1; }
[[ -x "$BIN" ]] || { echo "soak: $BIN missing (cargo build --release --bin webtape)" >&2; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT"

# A recorded sim web: 300 entities, every page title and question searched once.
"$BIN" sim serve --port 0 --seed 11 --entities 300 > "$OUT/sim.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "http://127.0.0.1:" "$OUT/sim.log" 2>/dev/null && break; sleep 0.1; done
SIM_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/sim.log" | head -1)
"$BIN" sim questions --seed 11 --entities 300 --split train --out "$OUT/questions.jsonl"
python3 - "$OUT" "$BIN" <<'PY'
import json, subprocess, sys
out, bin_ = sys.argv[1], sys.argv[2]
pages = subprocess.run([bin_, "sim", "pages", "--seed", "11", "--entities", "300"], capture_output=True, text=True, check=True)
queries = [json.loads(l)["title"] for l in pages.stdout.splitlines()]
queries += [json.loads(l)["question"] for l in open(f"{out}/questions.jsonl")]
queries = list(dict.fromkeys(queries))
open(f"{out}/queries.txt", "w").write("\n".join(queries) + "\n")
# wrk's query file: JSON string literals, recorded queries and never-recorded ones (BM25 fallback) interleaved.
lines = [json.dumps(q) for q in queries] + [json.dumps(q + " history") for q in queries]
open(f"{out}/load.txt", "w").write("\n".join(sorted(lines, key=lambda l: hash(l) % 1000)) + "\n")
PY
SERPER_API_KEY=soak "$BIN" record --provider serper --endpoint "$SIM_URL" --allow-private --queries "$OUT/queries.txt" \
  --snapshot "$OUT/snap" --pages-per-query 3 --concurrency 32 --rate none --host-rate none --host-concurrency 0 > "$OUT/record.log"
kill $SIM; wait $SIM 2>/dev/null || true

"$BIN" serve --snapshot "$OUT/snap" --port 0 --max-concurrency 1 > "$OUT/serve.log" &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q http "$OUT/serve.log" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$OUT/serve.log" | head -1)
( while kill -0 $SRV 2>/dev/null; do
    echo "$SECONDS $(awk '/VmRSS/ {print $2}' /proc/$SRV/status 2>/dev/null)"; sleep 10
  done ) > "$OUT/rss.txt" &
SAMPLER=$!
echo "soak: $SECS s of wrk -t2 -c256 against $URL (max-concurrency 1: the excess must get 429)"
QUERIES="$OUT/load.txt" wrk -t2 -c256 -d"${SECS}s" --timeout 10s -s benches/wrk/soak.lua "$URL" > "$OUT/wrk.txt"
kill -TERM $SRV; wait $SRV || { echo "soak: serve did not exit cleanly" >&2; exit 1; }
kill $SAMPLER 2>/dev/null || true
trap - EXIT
python3 - "$OUT" "$SECS" <<'PY'
import re, sys
out, secs = sys.argv[1], int(sys.argv[2])
w = open(f"{out}/wrk.txt").read()
codes = dict((int(c), int(n)) for c, n in re.findall(r"status (\d+): (\d+)", w))
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", w)
sock = sum(map(int, errs.groups())) if errs else 0
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", w).group(1))
rss = [int(l.split()[1]) / 1024 for l in open(f"{out}/rss.txt") if len(l.split()) == 2]
q = max(1, len(rss) // 4)
early, late = sum(rss[q:2 * q]) / q, sum(rss[-q:]) / q
flat = late <= max(early * 1.10, early + 16)
other = {c: n for c, n in codes.items() if c not in (200, 429)}
digest = re.search(r"run digest (\S+)", open(f"{out}/serve.log").read())
print(f"answers: {codes}; socket errors {sock}; {rps:.0f} req/s")
print(f"rss: {rss[0] if rss else 0:.0f} MB at start, {early:.0f} MB (2nd quarter mean), {late:.0f} MB (last quarter mean), peak {max(rss or [0]):.0f} MB")
ok = not other and sock == 0 and flat and digest is not None and codes.get(200, 0) > 0
print(f"soak: {secs} s, {'PASS' if ok else 'FAIL'}: 200 {codes.get(200, 0)}, 429 {codes.get(429, 0)}, other {sum(other.values())}, "
      f"socket errors {sock}, rss {early:.0f} -> {late:.0f} MB{'' if digest else ', no run digest at shutdown'}")
sys.exit(0 if ok else 1)
PY
