"""`python -m bench [--quick] [--skip-llm] [--out BENCHMARKS.md]`: measure rag-news against its
limits and against the llama-index default pipeline; print a table and write BENCHMARKS.md.

Full mode takes ~20-25 min on 2 idle cores (10k chunks embedded for real, twice); --quick uses
small sizes for development. Corpora, vectors and indexes are cached under
~/.cache/rag-news/bench (never in the repository). Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SIZES = {  # chunks: (growth small, main = real embeddings, big = shortcut vectors)
    "full": (1_000, 10_000, 100_000),
    "quick": (200, 600, 5_000),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for development (a few minutes)")
    parser.add_argument("--skip-llm", action="store_true", help="leave out the local-model rows")
    parser.add_argument("--out", default="BENCHMARKS.md", help="where to write the report")
    args = parser.parse_args(argv)
    from . import run

    started = time.time()
    mode = "quick" if args.quick else "full"
    rows, details, raw = run.run_all(SIZES[mode], skip_llm=args.skip_llm, log=lambda m: print(m, file=sys.stderr, flush=True))
    from .report import KEEP_BELOW, markdown, table

    print(table(rows))
    command = ".venv/bin/python -m bench" + (" --quick" if args.quick else "") + (" --skip-llm" if args.skip_llm else "")
    out = Path(args.out)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    kept = old[old.index(KEEP_BELOW):] if KEEP_BELOW in old else ""  # sections of other benchmarks
    out.write_text(markdown(rows, details, command, mode, started) + ("\n" + kept if kept else ""), encoding="utf-8")
    raw_path = run.CACHE / f"last-{mode}.json"
    raw_path.write_text(json.dumps(raw, indent=2, default=str), encoding="utf-8")
    print(f"\nwrote {args.out}; raw figures in {raw_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
