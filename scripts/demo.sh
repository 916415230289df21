#!/usr/bin/env bash
# `make demo`: the whole system on the embedded default, with no API key, no internet and no downloaded model.
#   1. the built-in synthetic web on loopback (webtape sim serve), with a seeded world and its questions;
#   2. recorded through the real recorder into snapshots/demo; the sim web is stopped: the rest is replay;
#   3. the policy: the committed pretrained base (never trained on this world), or a tiny random one ([init]);
#   4. SFT on the scripted expert's trajectories of this world (half its train subjects), then GRPO in replay on
#      the other half;
#   5. the base, SFT and GRPO checkpoints evaluated on the held-out questions (subjects never trained on);
#   6. a live run made replayable: a short GRPO segment against the live sim web with faults, recorded, then the
#      same segment replayed with the web stopped: the same metrics, weights and run digest;
#   7. digests: a second run prints the same ones.
# Usage: scripts/demo.sh [CONFIG]   (CONFIG defaults to configs/demo.toml; env WEBTAPE (binary), SEED and
# ENTITIES (the world), PORT (of the sim web), HOST (its name in page URLs), HASTY and WORDY (the expert's hasty and wordy shares, step 4a), LIVE_STEPS (of step 6)
# override)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/demo.toml}
BIN=${WEBTAPE:-target/release/webtape}
SEED=${SEED:-7}
ENTITIES=${ENTITIES:-300}
# A fixed port: page URLs (and so the snapshot, what the policy reads and every digest) must not change between
# runs; the pretrained base was recorded on the same port.
PORT=${PORT:-18088}
LIVE_STEPS=${LIVE_STEPS:-2}
# A host name for search results to link to instead of 127.0.0.1:PORT, fetched from the loopback port
# (`--resolve`), so page URLs hold no digits; needs a base pretrained under the same name ([worlds] host in
# configs/sim-base.toml). Measured with `wiki.sim` (see the README): worse, so empty by default.
HOST=${HOST:-}
NAMED=()
[[ -z $HOST ]] || NAMED=(--resolve "$HOST=127.0.0.1:$PORT")
# A share of two-hop questions on which the demonstrator is hasty: it answers with what the first page says instead
# of searching on (`webtape expert --hasty-rate`). 0: a perfect demonstrator. Measured with 0.5 (see the README):
# SFT learns the haste and GRPO does not unlearn it.
HASTY=${HASTY:-0}
# A share of questions on which the demonstrator answers in a sentence ("The answer is Paris.") instead of the short
# phrase the prompt asks for (`webtape expert --wordy-rate`); the token-F1 reward charges for the extra words.
# Measured with 0.5 and 1 (see the README): GRPO does not drop the sentences in 20 steps.
WORDY=${WORDY:-0}
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
SFT_QUESTIONS=$RUN/sft-questions.jsonl
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$SECONDS
# Starts the sim web in the background (extra flags: faults); sets SIM (pid) and URL.
start_sim() {
  local log=$1; shift
  "$BIN" sim serve --port "$PORT" --seed "$SEED" --entities "$ENTITIES" ${HOST:+--link-base "http://$HOST"} "$@" > "$log" 2>&1 &
  SIM=$!
  for _ in $(seq 100); do grep -q "http://127.0.0.1:" "$log" 2>/dev/null && break; kill -0 $SIM 2>/dev/null || break; sleep 0.1; done
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
  [[ -n "$URL" ]] || { cat "$log"; echo "sim web did not start (is port $PORT in use?)" >&2; exit 1; }
}

rm -rf "$RUN" "$SNAP" "$SNAP-live"
mkdir -p "$RUN"
step "1. the built-in web: webtape sim serve (seed $SEED, $ENTITIES entities) on loopback"
start_sim "$RUN/sim.log"
trap 'kill $SIM 2>/dev/null || true' EXIT
"$BIN" sim questions --seed "$SEED" --entities "$ENTITIES" --split train --out "$RUN/train-all.jsonl"
"$BIN" sim questions --seed "$SEED" --entities "$ENTITIES" --split test --out "$TEST"
# The train questions' subjects in two halves: the expert's trajectories on one (SFT), GRPO's questions on the
# other, so GRPO practises on subjects the policy has not memorised, as the test does.
python3 - "$RUN/train-all.jsonl" "$SFT_QUESTIONS" "$TRAIN" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
subjects = sorted({r["expert_queries"][0] for r in rows})
sft = set(subjects[0::2])
with open(sys.argv[2], "w") as a, open(sys.argv[3], "w") as b:
    for r in rows:
        (a if r["expert_queries"][0] in sft else b).write(json.dumps(r, ensure_ascii=False) + "\n")
EOF
echo "$URL: $("$BIN" sim pages --seed "$SEED" --entities "$ENTITIES" | wc -l) pages; $(wc -l < "$RUN/train-all.jsonl") train questions" \
  "($(wc -l < "$SFT_QUESTIONS") for the SFT warm start, $(wc -l < "$TRAIN") on other subjects for GRPO) and $(wc -l < "$TEST") test questions"

step "2. record it: webtape record --provider serper --endpoint $URL (every page title + the expert's searches)"
python3 - "$RUN/train-all.jsonl" "$TEST" > "$RUN/queries.txt" <<EOF
import json, sys, subprocess
queries = [json.loads(l)["title"] for l in subprocess.run(["$BIN", "sim", "pages", "--seed", "$SEED", "--entities", "$ENTITIES"], capture_output=True, text=True, check=True).stdout.splitlines()]
for path in sys.argv[1:]:
    for line in open(path):
        q = json.loads(line)
        queries += q["expert_queries"] + [q["question"]]
print("\n".join(dict.fromkeys(queries)))
EOF
SERPER_API_KEY=demo "$BIN" record --provider serper --endpoint "$URL" --allow-private "${NAMED[@]}" --queries "$RUN/queries.txt" \
  --snapshot "$SNAP" --pages-per-query 3 --concurrency 32 --rate none --host-rate none --host-concurrency 0
kill $SIM; wait $SIM 2>/dev/null || true
trap - EXIT
echo "sim web stopped: everything below replays $SNAP"

if python3 -c 'import sys, tomllib; sys.exit("init" not in tomllib.load(open(sys.argv[1], "rb")))' "$CONFIG"; then
  step "3. tokenizer + tiny random policy: webtape model init --config $CONFIG"
  "$BIN" model init --config "$CONFIG"
else
  step "3. the policy: $MODEL"
  [[ -f "$MODEL/config.json" ]] || { echo "$MODEL holds no model; build it with: webtape model pretrain --config configs/sim-base.toml" >&2; exit 1; }
  if [[ -f "$MODEL/pretrain.json" ]]; then
    python3 - "$MODEL/pretrain.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1])); c, r = p["config"], p["report"]
print(f"a pretrained base ({r['parameters']:,} parameters, vocab {r['vocab']}) made by `webtape model pretrain`: "
      f"{len(c['worlds']['seeds'])} other sim worlds (seeds {c['worlds']['seeds'][0]}..{c['worlds']['seeds'][-1]}), "
      f"{r['trajectories']:,} expert trajectories, {c['train']['sft_steps']} steps on their turn windows"
      + (f" and {c['finish']['sft_steps']} on whole episodes. " if c.get("finish") else ". ") +
      "It has never seen this world.")
EOF
  fi
fi

step "4a. expert trajectories for the SFT warm start: webtape expert --config $CONFIG --hasty-rate $HASTY --wordy-rate $WORDY"
"$BIN" expert --config "$CONFIG" --questions "$SFT_QUESTIONS" --out "$EXPERT" --hasty-rate "$HASTY" --wordy-rate "$WORDY"
step "4b. SFT, then GRPO in replay: webtape train --config $CONFIG"
"$BIN" train --config "$CONFIG" | tee "$RUN/train.log"

step "5. evaluation on the held-out questions (greedy; their subjects were never trained on)"
FINAL=$(printf '%s/step-%06d' "$RUN" "$STEPS")
# Every saved GRPO checkpoint ([train] save_every), so the held-out F1 is seen along the run, not only at its end.
CHECKPOINTS=$(cd "$RUN" && ls -d step-* | sort)
for name in base sft $CHECKPOINTS; do
  echo "-- $name"
  model="$RUN/$name"; [[ $name == base ]] && model=$MODEL
  "$BIN" eval --config "$CONFIG" --model "$model" --out "$RUN/eval-$name" | tee "$RUN/eval-$name.log"
done
python3 - "$RUN" $CHECKPOINTS <<'EOF'
import csv, sys
run, steps = sys.argv[1], sys.argv[2:]
def row(name):
    return next(r for r in csv.DictReader(open(f"{run}/eval-{name}/table.csv")) if r["dataset"] == "all")
number = lambda s: int(s.split("-")[1])
rows = [("base (other worlds only)", row("base")), ("SFT", row("sft")), (f"GRPO, step {number(steps[-1])}", row(steps[-1]))]
print("\n| checkpoint | F1 | EM | format errors | tool calls | copy rate |\n|---|---:|---:|---:|---:|---:|")
for name, r in rows:
    copy = f"{float(r['copy_rate']):.3f}" if r["copy_rate"] else "-"
    print(f"| {name} | {float(r['f1']):.3f} | {float(r['em']):.3f} | {float(r['format_errors']):.3f} | {float(r['tool_calls']):.2f} | {copy} |")
along = " -> ".join([f"SFT {float(row('sft')['f1']):.3f}"] + [f"step {number(s)} {float(row(s)['f1']):.3f}" for s in steps])
print(f"\nheld-out F1 along GRPO (every saved checkpoint): {along}")
print(f"GRPO - SFT test F1: {float(rows[-1][1]['f1']) - float(rows[1][1]['f1']):+.3f}")
EOF
python3 - "$RUN" "$TEST" base sft $CHECKPOINTS <<'EOF'
import json, sys
run, test, names = sys.argv[1], sys.argv[2], sys.argv[3:]
hops = {q["id"]: q.get("hops", 1) for q in map(json.loads, open(test))}
print("\n| by hops | one-hop F1 | two-hop F1 | two-hop tool calls | two-hop searched twice |\n|---|---:|---:|---:|---:|")
for name in names:
    ts = [json.loads(l) for l in open(f"{run}/eval-{name}/trajectories.jsonl")]
    one = [t for t in ts if hops[t["task"]["id"]] == 1]
    two = [t for t in ts if hops[t["task"]["id"]] == 2]
    mean = lambda xs: sum(xs) / max(len(xs), 1)
    searches = lambda t: sum('"web_search"' in turn["text"] for turn in t["turns"])
    print(f"| {name} ({len(one)} + {len(two)} q) | {mean([t['score']['f1'] for t in one]):.3f} | {mean([t['score']['f1'] for t in two]):.3f} | "
          f"{mean([t['tool_calls'] for t in two]):.2f} | {mean([searches(t) >= 2 for t in two]):.3f} |")
EOF

step "6. a live run made replayable: $LIVE_STEPS GRPO steps from $(basename "$FINAL") against the live sim web (faults on), recorded into $SNAP-live; then replayed with the web stopped"
START=$FINAL
if [[ -f "$FINAL/adapter_config.json" ]]; then  # a LoRA run: fold the adapter into a full checkpoint to start from
  START=$RUN/final-merged
  "$BIN" model merge --adapter "$FINAL" --out "$START" > /dev/null
fi
LIVE=(--set "model.path=$START" --set "env.snapshot=$SNAP-live" --set train.sft_steps=0 --set "train.steps=$LIVE_STEPS")
start_sim "$RUN/sim-live.log" --faults too-many,server-error,slow --fault-rate 0.3 --slow-ms 300 --retry-after 1
trap 'kill $SIM 2>/dev/null || true' EXIT
SERPER_API_KEY=demo "$BIN" train --config "$CONFIG" "${LIVE[@]}" --run-dir "$RUN/live-record" --mode record \
  --provider serper --endpoint "$URL" --allow-private "${NAMED[@]}" --rate none --host-rate none \
  --host-concurrency 0 | tee "$RUN/live-record.log"
faults=$(curl -s "$URL/__sim/stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin).get("faults", {}).values()))' 2>/dev/null || echo "?")
kill $SIM; wait $SIM 2>/dev/null || true
trap - EXIT
echo "sim web stopped; replaying $SNAP-live"
"$BIN" train --config "$CONFIG" "${LIVE[@]}" --run-dir "$RUN/live-replay" | tee "$RUN/live-replay.log"
python3 - "$RUN" "$LIVE_STEPS" "$faults" <<'EOF'
import hashlib, json, os, re, sys
run, steps, faults = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def metrics(name):
    rows = [json.loads(l) for l in open(f"{run}/{name}/metrics.jsonl")]
    return [{k: v for k, v in r.items() if not k.startswith("env_")} for r in rows]
def digest(name):
    return re.search(r"run digest (\S+)", open(f"{run}/{name}.log").read()).group(1)
def weights(name):  # the full weights, or a LoRA run's adapter
    step = f"{run}/{name}/step-{steps:06d}"
    path = f"{step}/model.safetensors" if os.path.exists(f"{step}/model.safetensors") else f"{step}/adapter_model.safetensors"
    return hashlib.sha256(open(path, "rb").read()).hexdigest()[:16]
rec, rep = metrics("live-record"), metrics("live-replay")
print(f"\n| step | reward (record) | reward (replay) | F1 (record) | F1 (replay) | tool calls | KL |\n|---:|---:|---:|---:|---:|---:|---:|")
for a, b in zip(rec, rep):
    print(f"| {a['step']} | {a['reward_mean']:.4f} | {b['reward_mean']:.4f} | {a['f1']:.4f} | {b['f1']:.4f} | {a['tool_calls']:.2f} | {a['kl']:.5f} |")
same = rec == rep and digest("live-record") == digest("live-replay") and weights("live-record") == weights("live-replay")
print(f"record: run digest {digest('live-record')}, weights {weights('live-record')} (the sim web injected {faults} faults)")
print(f"replay: run digest {digest('live-replay')}, weights {weights('live-replay')}")
print("the live run and its replay are identical: metrics, weights and run digest" if same else "MISMATCH between the live run and its replay")
sys.exit(0 if same else 1)
EOF

step "7. digests (a second run prints the same)"
echo "training run digest: $(grep -o 'run digest .*' "$RUN/train.log" | cut -d' ' -f3)"
WEIGHTS=$FINAL/model.safetensors; [[ -f "$WEIGHTS" ]] || WEIGHTS=$FINAL/adapter_model.safetensors
echo "metrics + checkpoint + eval digest: $(cat "$RUN/metrics.jsonl" "$WEIGHTS" "$RUN"/eval-*/trajectories.jsonl | sha256sum | cut -c1-16)"
echo "live segment digest: $(grep -o 'run digest .*' "$RUN/live-replay.log" | cut -d' ' -f3)"
echo "curves: $RUN/curves.png"
echo "done in $((SECONDS - started)) s"
