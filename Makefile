# webtape: `make demo` (the main job on the embedded default) and `make test`. Both install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
export LIBTORCH_USE_PYTORCH := 1

.PHONY: deps deps-bench test fuzz demo demo-warc bench bench-quality bench-scale clean-demo

deps:
	@bash scripts/setup.sh

deps-bench:
	@bash scripts/setup.sh --bench

# In the release profile, like `make demo`: one compiled dependency set for both commands (`cargo test` without
# --release is the quick edit-compile loop while developing).
test: deps
	bash scripts/check_env_only.sh
	cargo build --release --bins
	cargo test --release --no-run --benches
	cargo test --release --workspace --no-fail-fast

# Mutation fuzzing of every parser that sees outside bytes (stable Rust, tests/fuzz/): FUZZ_SECONDS per target,
# FUZZ_SEED to repeat a run, FUZZ_TARGETS=warc,html to choose. Crashing inputs land in fuzz/regressions/.
FUZZ_SECONDS ?= 600
FUZZ_CARGO_FLAGS ?= --release
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test $(FUZZ_CARGO_FLAGS) --test fuzz -- --ignored --nocapture

demo: deps
	cargo build --release --bin webtape
	bash scripts/demo.sh configs/demo.toml

# Snapshot tools on a real crawl: the Rust docs packed into a WARC, imported, searched, exported, verified.
demo-warc: deps
	cargo build --release --bin webtape
	bash scripts/demo_warc.sh

bench: deps-bench
	cargo build --release --bin webtape
	bash scripts/bench_import.sh
	bash scripts/bench_record.sh
	bash scripts/bench_serve.sh
	cargo bench --bench snapshot_ops

# Retrieval quality of the BM25 fallback vs bm25s (Pyserini when it runs) on the Rust docs and a sim JSONL corpus.
bench-quality: deps-bench
	cargo build --release --bin webtape
	bash scripts/bench_quality.sh

# How every cost of a snapshot grows from ~50k to ~2M pages (sim worlds recorded once and cached in
# bench-out/scale; with the smaller sizes, the 2M size needs about 40 GB of disk and 45 minutes of recording on 2
# cores the first time; SCALE_PAGES="50000 500000" measures fewer sizes).
bench-scale: deps-bench
	cargo build --release --bin webtape
	bash scripts/bench_scale.sh $(SCALE_PAGES)

clean-demo:
	rm -rf snapshots/demo runs/demo bench-out
