#!/usr/bin/env bash
# The environment-only build (`--no-default-features`), as `make test` checks it:
#   1. no training-only crate is in its dependency tree (`cargo tree`);
#   2. it builds, its help lists no training command, and `webtape train` names the build that has it (exit 2);
#   3. it records the sim web on loopback, replays it over HTTP and verifies the snapshot, end to end.
# The binary is copied to target/env-only/ (the default build puts its own back in target/release;
# CARGO_TARGET_DIR is honoured).
set -euo pipefail
cd "$(dirname "$0")/.."
FORBIDDEN='webtape-train|tch|torch-sys|safetensors|tokenizers|plotters|minijinja|minijinja-contrib'
fail() { echo "env-only check: $*" >&2; exit 1; }

crept=$(cargo tree -e normal --no-default-features --prefix none | grep -oE "^($FORBIDDEN) v[^ ]*" | sort -u || true)
[[ -z "$crept" ]] || fail "training-only crates in the environment-only build: $(echo $crept)"

cargo build --release --no-default-features --bin webtape
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$TARGET/env-only"
cp "$TARGET/release/webtape" "$TARGET/env-only/webtape"
BIN=$TARGET/env-only/webtape
"$BIN" --help | grep -qE '^  (train|eval|expert|generate|model) ' && fail "--help lists a training command"
set +e; msg=$("$BIN" train --config configs/demo.toml 2>&1); rc=$?; set -e
[[ $rc == 2 && $msg == *"environment-only build"* && $msg == *"cargo install --path ."* ]] \
  || fail "\`webtape train\` should say how to get it (exit 2), got $rc: $msg"

WORK=$(mktemp -d)
trap 'kill $SIM $SRV 2>/dev/null || true; rm -rf "$WORK"' EXIT
SIM=""; SRV=""
"$BIN" sim serve --port 0 --entities 30 > "$WORK/sim.log" 2>&1 & SIM=$!
for _ in $(seq 100); do grep -q 'http://127.0.0.1:' "$WORK/sim.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/sim.log" | head -1)
[[ -n "$URL" ]] || fail "sim serve did not start: $(cat "$WORK/sim.log")"
"$BIN" sim pages --entities 30 | head -5 | python3 -c 'import json,sys; [print(json.loads(l)["title"]) for l in sys.stdin]' \
  > "$WORK/queries.txt"
SERPER_API_KEY=ci "$BIN" record --provider serper --endpoint "$URL" --allow-private --queries "$WORK/queries.txt" \
  --snapshot "$WORK/snap" --pages-per-query 2 > "$WORK/record.log" 2>&1 || fail "record: $(tail -5 "$WORK/record.log")"
kill $SIM; SIM=""
"$BIN" snapshot verify "$WORK/snap" > /dev/null || fail "snapshot verify failed"
"$BIN" serve --snapshot "$WORK/snap" --port 0 > "$WORK/serve.log" 2>&1 & SRV=$!
for _ in $(seq 100); do grep -q 'http://' "$WORK/serve.log" && break; sleep 0.1; done
SERVE=$(grep -o 'http://[0-9.:]*' "$WORK/serve.log" | head -1)
query=$(head -1 "$WORK/queries.txt")
answer=$(python3 - "$SERVE" "$query" <<'EOF'
import json, sys, urllib.request
body = json.dumps({"queries": [sys.argv[2]], "topk": 2}).encode()
req = urllib.request.Request(sys.argv[1] + "/retrieve", body, {"content-type": "application/json"})
print(json.dumps(json.load(urllib.request.urlopen(req, timeout=10))))
EOF
)
[[ $answer == *"127.0.0.1"* ]] || fail "replayed /retrieve for \"$query\" returned no recorded page: $answer"
echo "env-only build: no training-only crate, $(du -h "$BIN" | cut -f1) (release), records, verifies and replays"
