#!/usr/bin/env bash
# Retrieval quality of the BM25 fallback (`webtape serve --miss bm25`, POST /retrieve on loopback) against bm25s
# (and Pyserini when it can run) over the same texts, on two question sets:
#  - rust_docs: the 80 hand-written questions of benches/quality/rust_docs.jsonl over ALL HTML pages of the Rust
#    documentation installed with the toolchain, packed into a WARC (warcio) and imported with import-warc;
#    the peers index the same pages' lxml-extracted text.
#  - sim: a Search-R1 / FlashRAG-style JSONL corpus made from the sim world (every page's text) and imported with
#    import-jsonl; 450 questions (one-hop, two-hop, and "reverse" ones that describe a person without naming them);
#    the peers index the same JSONL.
# Prints recall@1, recall@5, MRR@10, nDCG@10 per system and set; ranked lists and summaries land in bench-out/quality.
# usage: scripts/bench_quality.sh   (WEBTAPE=path/to/webtape: another binary; PYSERINI_PYTHON=a Python that has
#        pyserini, e.g. a venv made with --system-site-packages and `pip install pyserini`: it needs Java 21)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${WEBTAPE:-target/release/webtape}
DOCS=${DOCS:-$(rustc --print sysroot)/share/doc/rust/html}
OUT=bench-out/quality
PY=${PYSERINI_PYTHON:-python3}
[[ -d "$DOCS/std" ]] || { echo "bench: no Rust documentation at $DOCS (rustup component add rust-docs)" >&2; exit 1; }
mkdir -p "$OUT"
seconds() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); python3 -c "print(f'{$e - $s:.1f}')"; }

echo "== question set: checking every supporting page of benches/quality/rust_docs.jsonl against $DOCS"
python3 benches/py/quality_questions.py "$DOCS" benches/quality/rust_docs_draft.tsv "$OUT/rust_docs.checked.jsonl"
cmp -s "$OUT/rust_docs.checked.jsonl" benches/quality/rust_docs.jsonl \
  || echo "note: these docs give other supporting pages than benches/quality/rust_docs.jsonl (another toolchain?); using the checked set"

echo "== rust_docs: all pages packed into a WARC (warcio) and imported"
[[ -f "$OUT/docs.warc.gz" && -f "$OUT/docs.txt" ]] || python3 benches/py/pack_docs.py "$DOCS" "$OUT/docs.warc.gz" --list "$OUT/docs.txt"
rm -rf "$OUT/snap-docs"
echo "import-warc: $(wc -l < "$OUT/docs.txt") pages in $(seconds "$BIN" snapshot import-warc "$OUT/snap-docs" "$OUT/docs.warc.gz") s"
"$BIN" snapshot optimize "$OUT/snap-docs" > /dev/null

echo "== sim: FlashRAG-style JSONL corpus from the sim world (3,000 entities) on loopback"
rm -rf "$OUT/sim"; mkdir -p "$OUT/sim"
"$BIN" sim serve --port 0 --entities 3000 > "$OUT/sim/sim.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q http "$OUT/sim/sim.log" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/sim/sim.log" | head -1)
"$BIN" sim pages --entities 3000 --out "$OUT/sim/pages.jsonl"
"$BIN" sim questions --entities 3000 --out "$OUT/sim/questions-all.jsonl"
python3 benches/py/quality_sim_corpus.py "$URL" "$OUT/sim/pages.jsonl" "$OUT/sim/questions-all.jsonl" \
  "$OUT/sim/corpus.jsonl" "$OUT/sim/questions.jsonl"
kill $SIM; wait $SIM 2>/dev/null || true
"$BIN" snapshot import-jsonl "$OUT/sim/snap" "$OUT/sim/corpus.jsonl" --url-base https://corpus.invalid/sim/ > /dev/null
"$BIN" snapshot optimize "$OUT/sim/snap" > /dev/null

echo "== retrieval (top 10 per question)"
"$PY" benches/py/quality.py --name rust_docs --questions "$OUT/rust_docs.checked.jsonl" --snapshot "$OUT/snap-docs" \
  --bin "$BIN" --out "$OUT" --docs "$DOCS" --docs-list "$OUT/docs.txt" --pyserini | tee "$OUT/rust_docs.txt"
"$PY" benches/py/quality.py --name sim --questions "$OUT/sim/questions.jsonl" --snapshot "$OUT/sim/snap" \
  --bin "$BIN" --out "$OUT" --texts "$OUT/sim/corpus.jsonl" --id-prefix https://corpus.invalid/sim/ --pyserini \
  | tee "$OUT/sim.txt"
python3 - "$OUT" <<'PY'
import json, sys
s = {n: json.load(open(f"{sys.argv[1]}/{n}-summary.json")) for n in ("rust_docs", "sim")}
print("quality: " + "; ".join(f"{n}: webtape r@5 {v['webtape']['r@5']:.3f}, bm25s r@5 {v['bm25s']['r@5']:.3f}"
                              for n, v in s.items()))
PY
