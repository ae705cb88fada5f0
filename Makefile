# The two set-up commands of the README: `make run` and `make test`.
.PHONY: install index run test bench

install:
	bash scripts/install.sh

index: install
	.venv/bin/rag ingest seeds --index index

# One process: the chat UI at /chat (/ redirects there), the HTTP API at /v1, its docs at /docs.
run: index
	.venv/bin/rag serve --host 127.0.0.1 --port $${PORT:-8000}

test: install
	.venv/bin/python -m pytest

# Performance benchmark (~20-25 min on 2 idle cores; writes BENCHMARKS.md). BENCH_ARGS=--quick for a short run.
bench: install
	.venv/bin/python -m bench $(BENCH_ARGS)
