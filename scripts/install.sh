#!/usr/bin/env bash
# Create .venv and install everything the project needs, offline except for the package
# registries. Safe to re-run: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/pip"
"$PIP" install -q --upgrade pip

# torch first, pinned: a CPU wheel ships on these machines; anything else pulls CUDA builds.
"$PIP" install -q torch==2.13.0

# llama-cpp-python has no usable wheel here: build it, with flags that avoid the AMX crash
# (see OFFLINE.md), and never from pip's cache (a cached wheel may carry other flags).
if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('llama_cpp_python') == '0.3.36'" 2>/dev/null; then
  echo "building llama-cpp-python (about 4 minutes)..."
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_CPU_REPACK=OFF" \
    "$PIP" install -q --no-cache-dir "llama-cpp-python==0.3.36"
fi

"$PIP" install -q -c constraints.txt -e ".[local,dev]"

# Debian packages: chromium for the browser test (Playwright must not download its own) and
# GNU time, which `make bench` uses to read the peak memory of `rag ask`.
PKGS=""
if [ "${RAG_SKIP_CHROMIUM:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then PKGS="chromium"; fi
[ -x /usr/bin/time ] || PKGS="$PKGS time"
if [ -n "$PKGS" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null
fi

# Assemble and checksum the local model once (about 10 s), so the first question is not slow.
.venv/bin/rag model
