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

# llama-cpp-python has no usable wheel here: build it for the CPU it runs on. rag/llm/cpu.py derives
# the ggml flags from /proc/cpuinfo (AVX2, AVX-512 only where present, never AMX or a native
# build); the stamp records them, so a .venv carried to another kind of CPU is rebuilt instead of
# dying with "Illegal instruction". Never from pip's cache: a cached wheel may carry other flags.
STAMP=.venv/llama-cpu.json
WANT=$("$PY" -P rag/llm/cpu.py stamp)
if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('llama_cpp_python') == '0.3.36'" 2>/dev/null \
   || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "building llama.cpp for this CPU ($("$PY" -P rag/llm/cpu.py describe)); about 5 minutes on 2 cores..."
  rm -f "$STAMP"
  LOG=.venv/llama-build.log
  CMAKE_ARGS="$("$PY" -P rag/llm/cpu.py cmake-args)" "$PIP" install --no-cache-dir --force-reinstall --no-deps \
    "llama-cpp-python==0.3.36" >"$LOG" 2>&1 &
  BUILD=$!
  START=$SECONDS
  while kill -0 "$BUILD" 2>/dev/null; do
    sleep 15
    kill -0 "$BUILD" 2>/dev/null && printf '  still building llama.cpp: %d s\n' $((SECONDS - START))
  done
  if ! wait "$BUILD"; then
    echo "error: building llama-cpp-python failed; the last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  echo "$WANT" >"$STAMP"
  echo "  built in $((SECONDS - START)) s"
fi

# PYTHONWARNINGS: setuptools prints a wall of deprecation text for editable installs otherwise.
PYTHONWARNINGS=ignore "$PIP" install -q -c constraints.txt -e ".[local,dev]"

# Debian packages: chromium for the browser test (Playwright must not download its own) and
# GNU time, which `make bench` uses to read the peak memory of `rag ask`.
PKGS=""
if [ "${RAG_SKIP_CHROMIUM:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then PKGS="chromium"; fi
[ -x /usr/bin/time ] || PKGS="$PKGS time"
if [ -n "$PKGS" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null
fi

# Assemble and checksum the local model once (about 10 s), then prove the runtime works on this
# CPU: a real load and a few generated tokens in a child process. A broken build fails the
# install here, with the fix, instead of killing the first question.
.venv/bin/rag model >/dev/null
echo "checking the installation (rag doctor)..."
.venv/bin/rag doctor --no-index
