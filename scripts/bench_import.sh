#!/usr/bin/env bash
# Import + extract + index throughput on the Rust documentation, against Python peers on the same pages:
# lxml + bm25s and trafilatura + bm25s. Then the whole documentation folder through webtape alone.
# usage: scripts/bench_import.sh [SAMPLE_PAGES]   (default 3000)
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLE=${1:-3000}
BIN=target/release/webtape
DOCS=${DOCS:-$(rustc --print sysroot)/share/doc/rust/html}
OUT=bench-out
[[ -d "$DOCS" ]] || { echo "bench: no Rust documentation at $DOCS (set DOCS=folder of HTML pages)" >&2; exit 1; }
mkdir -p "$OUT"
rm -rf "$OUT"/snap-*

echo "== packing pages (untimed)"
python3 benches/py/pack_docs.py "$DOCS" "$OUT/sample.warc.gz" --limit "$SAMPLE" --list "$OUT/sample.txt"
[[ -f "$OUT/all.warc.gz" ]] || python3 benches/py/pack_docs.py "$DOCS" "$OUT/all.warc.gz" --list "$OUT/all.txt"
sample_pages=$(wc -l < "$OUT/sample.txt")
all_pages=$(wc -l < "$OUT/all.txt")

calc() { python3 -c "print($1)"; }
seconds() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); calc "$e - $s"; }

echo "== same $sample_pages pages (a spread sample): webtape vs peers"
t_rust=$(seconds "$BIN" snapshot import-warc "$OUT/snap-sample" "$OUT/sample.warc.gz")
lxml=$(python3 benches/py/peer_index.py lxml "$OUT/sample.txt")
traf=$(python3 benches/py/peer_index.py trafilatura "$OUT/sample.txt")
rust_pps=$(calc "$sample_pages / $t_rust")
lxml_pps=$(echo "$lxml" | python3 -c 'import json,sys;print(json.load(sys.stdin)["pages_per_s"])')
traf_pps=$(echo "$traf" | python3 -c 'import json,sys;print(json.load(sys.stdin)["pages_per_s"])')
printf "webtape import-warc     %8.1f pages/s  (%.2f s, %s cores)\n" "$rust_pps" "$t_rust" "$(nproc)"
printf "lxml + bm25s            %8.1f pages/s  (1 core)   webtape is %.1fx\n" "$lxml_pps" "$(calc "$rust_pps / $lxml_pps")"
printf "trafilatura + bm25s     %8.1f pages/s  (1 core)   webtape is %.1fx\n" "$traf_pps" "$(calc "$rust_pps / $traf_pps")"

echo "== whole folder, $all_pages pages: webtape vs lxml + bm25s"
t_all=$(seconds "$BIN" snapshot import-warc "$OUT/snap-all" "$OUT/all.warc.gz")
all_pps=$(calc "$all_pages / $t_all")
lxml_all=$(python3 benches/py/peer_index.py lxml "$OUT/all.txt")
lxml_all_pps=$(echo "$lxml_all" | python3 -c 'import json,sys;print(json.load(sys.stdin)["pages_per_s"])')
printf "webtape import-warc     %8.1f pages/s  (%.2f s for %s pages, %s MB WARC, %s cores)\n" \
  "$all_pps" "$t_all" "$all_pages" "$(( $(stat -c %s "$OUT/all.warc.gz") >> 20 ))" "$(nproc)"
printf "lxml + bm25s            %8.1f pages/s  (1 core)   webtape is %.1fx\n" "$lxml_all_pps" "$(calc "$all_pps / $lxml_all_pps")"
"$BIN" snapshot info "$OUT/snap-all"
