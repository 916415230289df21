#!/usr/bin/env bash
# Installs what building and testing webtape needs on a fresh Debian/Ubuntu machine, and nothing that is
# already there: libclang (RocksDB's bindgen), PyTorch 2.11.0 (libtorch for tch 0.24), warcio (the reference WARC
# implementation the tests compare against), httpx and openai (the proxy test's clients), pyarrow (parquet question
# files), transformers (the reference for the policy model's parity tests), libssl-dev (reqwest's TLS), and a virtual
# environment of its own at target/pyenv-frameworks with pinned veRL, SkyRL-gym and TRL (the Python package's
# integration tests; made only when missing or when its pins differ). With --bench, also the Python peers of the
# import benchmark.
set -euo pipefail
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.11.0
TRANSFORMERS_VERSION=5.24.0   # the reference the model parity tests compare against
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
dpkg -s libclang-dev >/dev/null 2>&1 || need_apt+=(libclang-dev)
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# curves.png (plotters): fontconfig + freetype to build, one font to draw axis labels with.
dpkg -s libfontconfig1-dev >/dev/null 2>&1 || need_apt+=(libfontconfig1-dev)
dpkg -s libfreetype-dev >/dev/null 2>&1 || need_apt+=(libfreetype-dev)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need_apt+=(fonts-dejavu-core)
command -v "$PYTHON" >/dev/null || need_apt+=(python3 python3-pip)
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]} (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }

have_torch=$("$PYTHON" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [[ "$have_torch" != "$TORCH_VERSION" ]]; then
  echo "setup: installing torch==$TORCH_VERSION (found: ${have_torch:-none}); this is a large download"
  "$PYTHON" -m pip install -q "torch==$TORCH_VERSION"
fi

py_need=()
"$PYTHON" -c "import warcio" 2>/dev/null || py_need+=(warcio)
"$PYTHON" -c "import requests" 2>/dev/null || py_need+=(requests)
"$PYTHON" -c "import pyarrow" 2>/dev/null || py_need+=(pyarrow)
# The official MCP SDK: the client of the /mcp route's test.
"$PYTHON" -c "import mcp.client.streamable_http" 2>/dev/null || py_need+=("mcp==2.3.0")
# Unmodified clients of `webtape proxy`'s test: httpx and the official OpenAI SDK (beside requests).
"$PYTHON" -c 'import httpx; assert httpx.__version__ == "0.28.1"' 2>/dev/null || py_need+=("httpx==0.28.1")
"$PYTHON" -c 'import openai; assert openai.__version__ == "3.51.0"' 2>/dev/null || py_need+=("openai==3.51.0")
have_tf=$("$PYTHON" -c 'import transformers; print(transformers.__version__)' 2>/dev/null || true)
[[ "$have_tf" == "$TRANSFORMERS_VERSION" ]] || py_need+=("transformers==$TRANSFORMERS_VERSION")
if [[ "${1:-}" == "--bench" ]]; then
  "$PYTHON" -c 'import bm25s' 2>/dev/null || py_need+=(bm25s)
  "$PYTHON" -c 'import Stemmer' 2>/dev/null || py_need+=(PyStemmer)   # bench-quality's "bm25s+stem" peer
  "$PYTHON" -c 'import lxml' 2>/dev/null || py_need+=(lxml)
  "$PYTHON" -c 'import trafilatura' 2>/dev/null || py_need+=(trafilatura lxml_html_clean)
  "$PYTHON" -c 'import fastapi, uvicorn' 2>/dev/null || py_need+=(fastapi uvicorn)
  "$PYTHON" -c 'import matplotlib' 2>/dev/null || py_need+=(matplotlib)   # bench-scale's docs/scale.png
  if ! command -v wrk >/dev/null; then
    echo "setup: installing wrk (apt)"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
  fi
fi
if ((${#py_need[@]})); then
  echo "setup: installing ${py_need[*]} (pip)"
  "$PYTHON" -m pip install -q "${py_need[@]}"
fi

# The frameworks the Python package (python/, `webtape`) plugs into, pinned, in their own virtual environment (not the
# system Python the other tests use; torch and transformers come from the system site-packages). cachetools and
# fastapi: veRL's agent loop imports them without declaring them. ray: veRL's runtime (the veRL test starts a local
# CPU-only one), pinned to what veRL 0.9.1 resolved to.
FRAMEWORKS_VENV=${FRAMEWORKS_VENV:-target/pyenv-frameworks}
FRAMEWORK_PINS="verl==0.9.1 skyrl-gym==0.4.0 trl==1.16.0"
FRAMEWORK_EXTRAS="cachetools==8.0.2 fastapi==0.165.0 ray==2.60.0 requests pyarrow"
if [[ "$(cat "$FRAMEWORKS_VENV/.pins" 2>/dev/null)" != "$FRAMEWORK_PINS $FRAMEWORK_EXTRAS" ]]; then
  echo "setup: creating $FRAMEWORKS_VENV with $FRAMEWORK_PINS (a few minutes)"
  rm -rf "$FRAMEWORKS_VENV"
  mkdir -p "$(dirname "$FRAMEWORKS_VENV")"
  "$PYTHON" -m venv --system-site-packages "$FRAMEWORKS_VENV"
  # shellcheck disable=SC2086
  "$FRAMEWORKS_VENV/bin/pip" install -q $FRAMEWORK_PINS $FRAMEWORK_EXTRAS
  "$FRAMEWORKS_VENV/bin/pip" install -q --no-deps ./python   # the package installs (tests import this checkout's)
  echo "$FRAMEWORK_PINS $FRAMEWORK_EXTRAS" > "$FRAMEWORKS_VENV/.pins"
fi
