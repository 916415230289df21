#!/usr/bin/env bash
# `make bench-scale` (not part of `make test`): how every cost of a snapshot grows with its size, from ~50k pages to
# ~2M. Snapshots are made of sim worlds of 50,000 entities (about 50.7k pages each; world i has seed 1000+i and is
# served on port 19000+i, so page URLs never collide), each recorded once through the real recorder (a search per
# page title, its top result fetched, extracted, stored and indexed) and cached in bench-out/scale/worlds/. A size
# of N pages merges the first ceil(N / 50,734) worlds (cached in bench-out/scale/tier-W) and optimizes the index.
# At each size, in one run: record pages/s, disk bytes per page, merge and `snapshot optimize` time, `verify` time,
# cold open of `serve` (to its first answer), its RSS idle and under load, /retrieve exact-hit and BM25-fallback
# req/s, p50 and p99 at 256 connections (wrk on the same cores as the server), /browse p99 and a 4,096-call
# DeepResearcher turn. Each kind's load run follows one pass over all its queries (the steady state of a server that
# has been answering a while); that first pass, cold after the dropped page cache, is reported too. Prints a table
# and the fitted growth slopes, draws docs/scale.png (when matplotlib is
# there), and ends with `scale: <pages> pages, exact p99 <ms> ms, bm25 p99 <ms> ms, rss <MB> MB` (largest size).
# usage: scripts/bench_scale.sh [PAGES ...]   (default: 50000 500000 2000000; env SECS: seconds per load run (10);
#        WEBTAPE: the binary; ENV_ONLY_WEBTAPE: the environment-only build, served too when it exists)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${WEBTAPE:-target/release/webtape}
ENV_ONLY_BIN=${ENV_ONLY_WEBTAPE:-target/env-only/webtape}
OUT=bench-out/scale
SECS=${SECS:-10}
ENTITIES=50000
# Distinct pages a world's recording stores (measured: 47,632 of its 50,734; the rest are never a title's top hit).
WORLD_PAGES=47632
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(50000 500000 2000000)
command -v wrk >/dev/null || { echo "bench: wrk missing (apt-get install wrk)" >&2; exit 1; }
[[ -x "$BIN" ]] || { echo "bench: no $BIN (cargo build --release)" >&2; exit 1; }
mkdir -p "$OUT/worlds"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }

# Records world $1 into $OUT/worlds/w$1 unless done; its done.json holds pages, wall and CPU seconds.
record_world() {
  local i=$1 w=$OUT/worlds/w$1
  [[ -f $w/done.json ]] && return
  rm -rf "$w"; mkdir -p "$w"
  "$BIN" sim serve --port $((19000 + i)) --seed $((1000 + i)) --entities $ENTITIES > "$w/sim.log" 2>&1 &
  local sim=$!
  PIDS+=("$sim")
  for _ in $(seq 600); do grep -q http "$w/sim.log" 2>/dev/null && break; sleep 0.1; done
  local url
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$w/sim.log" | head -1) || { cat "$w/sim.log"; exit 1; }
  "$BIN" sim pages --seed $((1000 + i)) --entities $ENTITIES \
    | python3 -c 'import json, sys; [print(json.loads(l)["title"]) for l in sys.stdin]' > "$w/queries.txt"
  SERPER_API_KEY=bench /usr/bin/time -f '%e %U %S' -o "$w/time.txt" "$BIN" record --provider serper \
    --endpoint "$url" --allow-private --queries "$w/queries.txt" --snapshot "$w/snap" --pages-per-query 1 \
    --concurrency 64 --rate none --host-rate none --host-concurrency 0 --json > "$w/summary.json"
  kill "$sim"; wait "$sim" 2>/dev/null || true
  "$BIN" snapshot export-text "$w/snap" "$w/pages.jsonl" > /dev/null
  python3 -c 'import json, sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1])]' "$w/pages.jsonl" > "$w/urls.txt"
  rm "$w/pages.jsonl"
  python3 - "$w" <<'PY'
import json, sys
w = sys.argv[1]
wall, user, sys_ = map(float, open(f"{w}/time.txt").read().split())
pages = json.load(open(f"{w}/summary.json"))["pages"]
json.dump({"pages": pages, "wall_s": wall, "cpu_s": user + sys_}, open(f"{w}/done.json", "w"))
print(f"world {w}: {pages} pages recorded in {wall:.0f} s ({pages / wall:.0f} pages/s)")
PY
}

# Merges worlds 1..$1 into $OUT/tier-$1 and optimizes it, unless done (tier.json: merge and optimize seconds).
build_tier() {
  local n=$1 t=$OUT/tier-$1
  [[ -f $t/tier.json ]] && return
  rm -rf "$t"; mkdir -p "$t"
  local sources=() s
  for i in $(seq "$n"); do sources+=("$OUT/worlds/w$i/snap"); done
  s=$(now)
  "$BIN" snapshot merge "${sources[@]}" --into "$t/snap" > /dev/null
  local merge; merge=$(since "$s")
  s=$(now)
  "$BIN" snapshot optimize "$t/snap" > /dev/null
  local optimize; optimize=$(since "$s")
  echo "{\"merge_s\": $merge, \"optimize_s\": $optimize}" > "$t/tier.json"
  echo "merged $1 world(s) in $merge s, optimized in $optimize s"
}

# Query files for tier $1: exact hits (recorded titles), BM25 fallbacks (never recorded) and stored page URLs.
load_files() {
  local n=$1 t=$OUT/tier-$1
  python3 - "$OUT" "$n" "$t" <<'PY'
import json, random, sys
out, n, t = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(7)
titles, urls = [], []
for i in range(1, n + 1):
    titles += [l.rstrip("\n") for l in open(f"{out}/worlds/w{i}/queries.txt")]
    urls += [l.rstrip("\n") for l in open(f"{out}/worlds/w{i}/urls.txt")]
sample = random.sample(titles, min(20000, len(titles)))
open(f"{t}/exact.txt", "w").write("".join(json.dumps(q) + "\n" for q in sample))
open(f"{t}/bm25.txt", "w").write("".join(json.dumps(q + " history") + "\n" for q in sample))
open(f"{t}/urls.txt", "w").write("".join(u + "\n" for u in random.sample(urls, min(20000, len(urls)))))
PY
}

# wrk at 256 connections: prints `{"rps", "p50_ms", "p99_ms", "non2xx"}` (JSON) of the run whose output is in $1.
wrk_summary() {
  python3 - "$1" <<'PY'
import json, re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def pct(p):
    v, u = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", t).groups()
    return float(v) / 1000 if u == "us" else float(v) * 1000 if u == "s" else float(v)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(json.dumps({"rps": round(rps), "p50_ms": pct(50), "p99_ms": pct(99), "non2xx": int(bad.group(1)) if bad else 0}))
PY
}

# Serves tier $2's snapshot with binary $1 (page cache dropped first where allowed) and measures it; writes
# $OUT/tier-$2/serve-$3.json (open, RSS idle and peak, the three wrk runs). With $4 = turn, also the 4,096-call turn.
serve_run() {
  local bin=$1 n=$2 tag=$3 t=$OUT/tier-$2 s
  local cold=warm
  sync; if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then cold=cold; fi
  s=$(now)
  "$bin" serve --snapshot "$t/snap" --port 0 --miss bm25 > "$t/serve-$tag.log" 2>&1 &
  local srv=$!
  PIDS+=("$srv")
  for _ in $(seq 3000); do grep -q http "$t/serve-$tag.log" 2>/dev/null && break; sleep 0.01; done
  local url; url=$(grep -o 'http://[0-9.:]*' "$t/serve-$tag.log" | head -1)
  local first="{\"queries\":[$(head -1 "$t/exact.txt")],\"topk\":3}" answered=""
  for _ in $(seq 6000); do
    curl -sf -o /dev/null -X POST "$url/retrieve" -H 'content-type: application/json' -d "$first" && answered=1 && break
    kill -0 "$srv" 2>/dev/null || break
    sleep 0.01
  done
  [[ -n $answered ]] || { cat "$t/serve-$tag.log"; echo "bench: $bin serve did not answer within a minute" >&2; exit 1; }
  local open_s; open_s=$(since "$s")
  local idle; idle=$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$srv/status")
  # The cold open is measured above; the load runs measure the steady state after a pass over each kind's queries.
  local load=(wrk -t2 -c256 --latency -s benches/wrk/retrieve.lua "$url")
  for kind in exact bm25 browse; do
    local vars=(QUERIES="$t/$kind.txt")
    [[ $kind == browse ]] && vars=(URLS="$t/urls.txt")
    # First a pass over every query (URL) of the kind, as a server that has been answering a while has seen them:
    # its figures (16 connections) are the first pass's, cold after the dropped page cache; then the steady state.
    local pass=(python3 benches/py/warm_pass.py "$url" "$t/$kind.txt")
    [[ $kind == browse ]] && pass=(python3 benches/py/warm_pass.py "$url" "$t/urls.txt" --browse)
    "${pass[@]}" > "$t/pass-$tag-$kind.json"
    env "${vars[@]}" "${load[@]}" -d"${SECS}s" > "$t/wrk-$tag-$kind.txt"
  done
  [[ ${4:-} == turn ]] && SERVE_URL=$url QUERIES="$t/exact.txt" URLS="$t/urls.txt" \
    cargo bench -q --bench serve_turn 2>/dev/null > "$t/turn.txt"
  local peak; peak=$(awk '/VmHWM/ {print $2 / 1024}' "/proc/$srv/status")
  kill "$srv"; wait "$srv" 2>/dev/null || true
  echo "{\"open\": \"$cold\", \"open_s\": $open_s, \"rss_idle_mb\": $idle, \"rss_peak_mb\": $peak,
    \"exact\": $(wrk_summary "$t/wrk-$tag-exact.txt"), \"bm25\": $(wrk_summary "$t/wrk-$tag-bm25.txt"),
    \"browse\": $(wrk_summary "$t/wrk-$tag-browse.txt"), \"exact_first\": $(cat "$t/pass-$tag-exact.json"),
    \"bm25_first\": $(cat "$t/pass-$tag-bm25.json")}" > "$t/serve-$tag.json"
}

# Measures tier $1 (worlds) and writes $OUT/tier-$1/result.json: `serve` of $BIN, and of the environment-only build
# ($ENV_ONLY_BIN, which `make test` leaves in target/env-only) when there is one: it does not load libtorch.
measure() {
  local n=$1 t=$OUT/tier-$1 s
  load_files "$n"
  s=$(now)
  "$BIN" snapshot verify "$t/snap" > "$t/verify.txt"
  local verify; verify=$(since "$s")
  rm -f "$t/serve-env.json"
  serve_run "$BIN" "$n" main turn
  [[ -x $ENV_ONLY_BIN && $ENV_ONLY_BIN != "$BIN" ]] && serve_run "$ENV_ONLY_BIN" "$n" env
  python3 - "$OUT" "$n" "$t" "$verify" <<'PY'
import json, os, subprocess, sys
out, n, t, verify = sys.argv[1:]
n = int(n)
served = lambda tag: json.load(open(f"{t}/serve-{tag}.json")) if os.path.exists(f"{t}/serve-{tag}.json") else None
worlds = [json.load(open(f"{out}/worlds/w{i}/done.json")) for i in range(1, n + 1)]
info = json.loads(subprocess.run([os.environ.get("WEBTAPE", "target/release/webtape"), "snapshot", "info", "--json",
                                  f"{t}/snap"], capture_output=True, text=True, check=True).stdout)
size = int(subprocess.run(["du", "-sb", f"{t}/snap"], capture_output=True, text=True).stdout.split()[0])
pages = sum(w["pages"] for w in worlds)
turn = [json.loads(l) for l in open(f"{t}/turn.txt") if l.startswith("{")]
tier = json.load(open(f"{t}/tier.json"))
r = {"worlds": n, "pages": pages, "info": info, "bytes": size, "bytes_per_page": size / pages,
     "record_pages_per_s": pages / sum(w["wall_s"] for w in worlds),
     "record_cpu_ms_per_page": 1000 * sum(w["cpu_s"] for w in worlds) / pages,
     "merge_s": tier["merge_s"], "optimize_s": tier["optimize_s"], "verify_s": float(verify),
     **served("main"), "env_only": served("env"),
     "turn_s": min((x["wall_s"] for x in turn), default=None), "turn_ok": min((x["ok"] for x in turn), default=0)}
json.dump(r, open(f"{t}/result.json", "w"), indent=1)
PY
}

worlds_for() { python3 -c "import sys; print(max(1, round(int(sys.argv[1]) / $WORLD_PAGES)))" "$1"; }
TIERS=()
for size in "${SIZES[@]}"; do TIERS+=("$(worlds_for "$size")"); done
MAX=$(printf '%s\n' "${TIERS[@]}" | sort -n | tail -1)
echo "== recording $MAX sim worlds of $ENTITIES entities (cached in $OUT/worlds)"
for i in $(seq "$MAX"); do record_world "$i"; done
for n in "${TIERS[@]}"; do
  echo "== $n world(s): merge + optimize (cached), then measure"
  build_tier "$n"
  measure "$n"
done
python3 benches/py/scale_report.py "$OUT" "${TIERS[@]}"
