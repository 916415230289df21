#!/usr/bin/env bash
# `make demo`: the whole system on the embedded default, with no API key, no internet and no downloaded model.
#   1. the built-in synthetic web on loopback (webtape sim serve), with a seeded world and its questions;
#   2. recorded through the real recorder into snapshots/demo; the sim web is stopped: the rest is replay;
#   3. a BPE tokenizer trained on the snapshot text and a tiny Qwen2-config policy (configs/demo.toml [init]);
#   4. SFT on the scripted expert's trajectories, then GRPO in replay;
#   5. the SFT and GRPO checkpoints evaluated on the held-out questions;
#   6. digests: a second run prints the same ones.
# Usage: scripts/demo.sh [CONFIG]   (CONFIG defaults to configs/demo.toml; env WEBTAPE (binary), SEED and
# ENTITIES (the world), PORT (of the sim web) override)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/demo.toml}
BIN=${WEBTAPE:-target/release/webtape}
SEED=${SEED:-7}
ENTITIES=${ENTITIES:-300}
# A fixed port: page URLs (and so the snapshot, the tokenizer and every digest) must not change between runs.
PORT=${PORT:-18088}
value() { # value SECTION KEY: a string value from the config
  python3 - "$CONFIG" "$1" "$2" <<'EOF'
import sys, tomllib
cfg = tomllib.load(open(sys.argv[1], "rb"))
section = cfg if sys.argv[2] == "" else cfg[sys.argv[2]]
print(section[sys.argv[3]])
EOF
}
RUN=$(value "" run_dir)
SNAP=$(value env snapshot)
MODEL=$(value model path)
TRAIN=$(value data train)
TEST=$(value data test)
EXPERT=$(value data sft)
STEPS=$(value train steps)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$SECONDS

rm -rf "$RUN" "$SNAP"
mkdir -p "$RUN"
step "1. the built-in web: webtape sim serve (seed $SEED, $ENTITIES entities) on loopback"
"$BIN" sim serve --port "$PORT" --seed "$SEED" --entities "$ENTITIES" > "$RUN/sim.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "http://127.0.0.1:" "$RUN/sim.log" 2>/dev/null && break; kill -0 $SIM 2>/dev/null || break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$RUN/sim.log" | head -1)
[[ -n "$URL" ]] || { cat "$RUN/sim.log"; echo "sim web did not start" >&2; exit 1; }
"$BIN" sim questions --seed "$SEED" --entities "$ENTITIES" --split train --out "$TRAIN"
"$BIN" sim questions --seed "$SEED" --entities "$ENTITIES" --split test --out "$TEST"
echo "$URL: $("$BIN" sim pages --seed "$SEED" --entities "$ENTITIES" | wc -l) pages; $(wc -l < "$TRAIN") train and $(wc -l < "$TEST") test questions"

step "2. record it: webtape record --provider serper --endpoint $URL (every page title + the expert's searches)"
python3 - "$TRAIN" "$TEST" > "$RUN/queries.txt" <<EOF
import json, sys, subprocess
queries = [json.loads(l)["title"] for l in subprocess.run(["$BIN", "sim", "pages", "--seed", "$SEED", "--entities", "$ENTITIES"], capture_output=True, text=True, check=True).stdout.splitlines()]
for path in sys.argv[1:]:
    for line in open(path):
        q = json.loads(line)
        queries += q["expert_queries"] + [q["question"]]
print("\n".join(dict.fromkeys(queries)))
EOF
SERPER_API_KEY=demo "$BIN" record --provider serper --endpoint "$URL" --allow-private --queries "$RUN/queries.txt" \
  --snapshot "$SNAP" --pages-per-query 3 --concurrency 32 --rate none --host-rate none --host-concurrency 0
kill $SIM; wait $SIM 2>/dev/null || true
trap - EXIT
echo "sim web stopped: everything below replays $SNAP"

if python3 -c 'import sys, tomllib; sys.exit("init" not in tomllib.load(open(sys.argv[1], "rb")))' "$CONFIG"; then
  step "3. tokenizer + tiny policy: webtape model init --config $CONFIG"
  "$BIN" model init --config "$CONFIG"
else
  step "3. policy: the checkpoint at $MODEL (the config has no [init] section)"
fi

step "4a. expert trajectories for the SFT warm start: webtape expert --config $CONFIG"
"$BIN" expert --config "$CONFIG" --out "$EXPERT"
step "4b. SFT, then GRPO in replay: webtape train --config $CONFIG"
"$BIN" train --config "$CONFIG" | tee "$RUN/train.log"

step "5. evaluation on the held-out questions (greedy)"
FINAL=$(printf '%s/step-%06d' "$RUN" "$STEPS")
for name in sft "$(basename "$FINAL")"; do
  echo "-- $name"
  "$BIN" eval --config "$CONFIG" --model "$RUN/$name" --out "$RUN/eval-$name" | tee "$RUN/eval-$name.log"
done
python3 - "$RUN" "$(basename "$FINAL")" <<'EOF'
import csv, sys
run, final = sys.argv[1], sys.argv[2]
def row(name):
    return next(r for r in csv.DictReader(open(f"{run}/eval-{name}/table.csv")) if r["dataset"] == "all")
sft, grpo = row("sft"), row(final)
print("\n| checkpoint | F1 | EM | format errors | tool calls |\n|---|---:|---:|---:|---:|")
for name, r in (("SFT", sft), (f"GRPO ({final})", grpo)):
    print(f"| {name} | {float(r['f1']):.3f} | {float(r['em']):.3f} | {float(r['format_errors']):.3f} | {float(r['tool_calls']):.2f} |")
print(f"\nGRPO - SFT test F1: {float(grpo['f1']) - float(sft['f1']):+.3f}")
EOF

step "6. digests (a second run prints the same)"
echo "training run digest: $(grep -o 'run digest .*' "$RUN/train.log" | cut -d' ' -f3)"
echo "metrics + checkpoint + eval digest: $(cat "$RUN/metrics.jsonl" "$FINAL/model.safetensors" "$RUN"/eval-*/trajectories.jsonl | sha256sum | cut -c1-16)"
echo "curves: $RUN/curves.png"
echo "done in $((SECONDS - started)) s"
