#!/usr/bin/env bash
# The GPU check (issue 20): parity of our decoder with transformers, generation throughput against transformers and
# the memory-bandwidth limit, one GRPO step (Qwen2.5-0.5B shape) and one LoRA step (7B shape) with their time split
# and peak GPU memory, and whether two runs of a step agree, on random-weight checkpoints built there from a seed.
#
#   scripts/gpu_check.sh --package            here: release build, stripped, with fallback system libraries, packed
#                                             into target/gpu-check/webtape-gpu.tar.gz (carry target/gpu-check)
#   scripts/gpu_check.sh OUT_DIR [OPTIONS]    on the GPU machine: run the check, write OUT_DIR/gpu_check.{json,md,log}
#   scripts/gpu_check.sh OUT_DIR --device cpu --bin target/debug/webtape    the CPU dry run (tiny models; make test)
#
# OPTIONS go to scripts/gpu_check/check.py (--help): --parts, --budget-s, --work, --keep-work, --lora-rank, ...
# The binary is --bin, else $WEBTAPE_BIN, else the packed one, else target/release/webtape. It links libtorch from
# the Python torch wheel (LD_LIBRARY_PATH=<torch>/lib); $PYTHON (default python3) must import torch and transformers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKG=$ROOT/target/gpu-check
PYTHON=${PYTHON:-python3}

package() {
  cd "$ROOT"
  LIBTORCH_USE_PYTORCH=1 cargo build --release --bin webtape
  local built=${CARGO_TARGET_DIR:-$ROOT/target}/release/webtape stage=$PKG/stage
  rm -rf "$PKG" && mkdir -p "$stage/lib"
  strip -o "$stage/webtape" "$built"
  # System libraries the binary needs beyond glibc and libtorch, for a machine that lacks them (used only then).
  ldd "$built" | awk '/=> \// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libresolv.so*|libutil.so*|ld-linux*) continue ;;
    esac
    [[ "$lib" == */site-packages/* || "$lib" == */dist-packages/* ]] && continue
    cp -L "$lib" "$stage/lib/"
  done
  local commit dirty=""
  commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD 2>/dev/null || dirty="+uncommitted changes"
  printf '{"commit": "%s%s", "built_at": "%s", "rustc": "%s", "binary_bytes": %s, "unstripped_bytes": %s}\n' \
    "$commit" "$dirty" "$(date -u +%FT%TZ)" "$(rustc --version)" "$(stat -c %s "$stage/webtape")" \
    "$(stat -c %s "$built")" > "$stage/BUILD.json"
  tar -C "$stage" -czf "$PKG/webtape-gpu.tar.gz" .
  rm -rf "$stage"
  local size
  size=$(stat -c %s "$PKG/webtape-gpu.tar.gz")
  local libs
  libs=$(tar -tzf "$PKG/webtape-gpu.tar.gz" | grep -c '^./lib/.')
  echo "packed $PKG/webtape-gpu.tar.gz: $((size / 1024 / 1024)) MiB (stripped binary + $libs fallback libraries)"
  if ((size > 48 * 1024 * 1024)); then
    echo "error: the package is over 48 MiB; the working tree that travels to the GPU machine is limited to 64 MiB" >&2
    exit 1
  fi
}

# Writes a gpu_check.json that says why the check could not start, then fails.
cannot_start() {
  mkdir -p "$OUT"
  "$PYTHON" -c 'import json,sys; print(json.dumps({"format": 1, "ok": False, "parts": {}, "error": sys.argv[1]}))' \
    "$1" > "$OUT/gpu_check.json" 2>/dev/null || true
  echo "error: $1" >&2
  exit 1
}

if [[ "${1:-}" == "--package" ]]; then
  package
  exit 0
fi
if [[ $# -lt 1 || "$1" == -* ]]; then
  sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  exit 2
fi
OUT=$1
shift
BIN=${WEBTAPE_BIN:-}
args=()
while (($#)); do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --bin=*) BIN=${1#--bin=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ -z "$BIN" && -f "$PKG/webtape-gpu.tar.gz" ]]; then
  unpacked=$(mktemp -d "${TMPDIR:-/tmp}/webtape-gpu-XXXXXX")
  tar -C "$unpacked" -xzf "$PKG/webtape-gpu.tar.gz"
  BIN=$unpacked/webtape
fi
BIN=${BIN:-$ROOT/target/release/webtape}
[[ -x "$BIN" ]] || cannot_start "no webtape binary at $BIN (build one, or scripts/gpu_check.sh --package here first)"

TORCH_LIB=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null) \
  || cannot_start "$PYTHON cannot import torch (set PYTHON to the interpreter that has torch and transformers)"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! probe=$("$BIN" --version 2>&1); then
  fallback=$(dirname "$BIN")/lib
  [[ -d "$fallback" ]] || cannot_start "the binary does not start: $probe"
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$fallback"
  probe=$("$BIN" --version 2>&1) || cannot_start "the binary does not start, even with $fallback: $probe"
  echo "gpu_check: using the packed fallback libraries in $fallback" >&2
fi
status=0
"$PYTHON" "$ROOT/scripts/gpu_check/check.py" "$OUT" --bin "$BIN" --python "$PYTHON" ${args[@]+"${args[@]}"} || status=$?
[[ -n "${unpacked:-}" ]] && rm -rf "$unpacked"
exit "$status"
