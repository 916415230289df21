#!/usr/bin/env bash
# The current demo: build a snapshot from pages a crawler would have captured, then use it.
# Source pages: the Rust documentation installed with the toolchain (packed into a WARC by warcio), or, where it
# is missing, a small site served on loopback and captured with warcio.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/webtape
SNAP=snapshots/demo
WORK=bench-out/demo
DOCS=$(rustc --print sysroot 2>/dev/null)/share/doc/rust/html
rm -rf "$SNAP" "$WORK"
mkdir -p "$WORK"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [[ -d "$DOCS/std" ]]; then
  step "packing 5000 pages of the Rust documentation into a WARC (warcio)"
  python3 benches/py/pack_docs.py "$DOCS" "$WORK/crawl.warc.gz" --limit 5000
  QUERY="borrow checker references"
else
  step "capturing a loopback site into a WARC (warcio)"
  python3 tests/py/make_warc.py "$WORK/crawl.warc.gz" > "$WORK/site.json"
  URL=$(python3 -c 'import json;print(json.load(open("'"$WORK"'/site.json"))["base"] + "/")')
  QUERY="borrow checker"
fi

step "webtape snapshot import-warc $SNAP $WORK/crawl.warc.gz"
time "$BIN" snapshot import-warc "$SNAP" "$WORK/crawl.warc.gz"
step "webtape snapshot info $SNAP"
"$BIN" snapshot info "$SNAP"
step "webtape snapshot search $SNAP \"$QUERY\" -k 3"
"$BIN" snapshot search "$SNAP" "$QUERY" -k 3
if [[ -z "${URL:-}" ]]; then
  URL=$("$BIN" snapshot search "$SNAP" "$QUERY" -k 1 --json | python3 -c 'import json,sys;print(json.loads(sys.stdin.readline())["url"])')
fi
step "webtape snapshot get $SNAP $URL | head -15"
"$BIN" snapshot get "$SNAP" "$URL" | head -15 || true
step "webtape snapshot export-warc $SNAP $WORK/export.warc.gz"
"$BIN" snapshot export-warc "$SNAP" "$WORK/export.warc.gz"
head -c 400 "$WORK/export.cdxj"; echo
step "webtape snapshot verify $SNAP"
"$BIN" snapshot verify "$SNAP"
