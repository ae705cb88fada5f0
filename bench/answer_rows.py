"""`python -m bench.answer_rows [--every N] [--out BENCHMARKS.md]`: what a reader waits for.

Every N-th golden question without history is asked through ``Assistant.stream`` on the seeds
index with the local model, as the CLI and the chat ask it: retrieval, compaction, generation,
the check of every sentence (judge included), the relevance hold, the retry and the disagreement
statement. Per answer it keeps the engine's own timings: the first verified sentence shown
(``first_verified_s``), the first token of the draft, and the full answer. The issue-14 goals are
p50 <= 2.5 s to the first verified sentence and <= 4 s to the full answer. Writes its own
section of BENCHMARKS.md; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from .report import machine, median, percentile, vector_flags
from .store_rows import write_section

ROOT = Path(__file__).resolve().parent.parent
MARK = "answer-latency"
GOAL_FIRST_S, GOAL_FULL_S = 2.5, 4.0


def questions(every: int) -> list[str]:
    """Every ``every``-th golden question asked without a conversation before it."""
    from rag.eval.golden import load_golden

    return [c.question for c in load_golden(ROOT / "evals" / "golden.jsonl") if not c.history][::every]


def measure(asked: list[str], index_dir: Path) -> list[dict]:
    """Ask each question once through ``Assistant.stream``; one row of timings per answer."""
    from rag import Assistant, Settings
    from rag.index.embed import make_embedder
    from rag.ingest.run import ingest

    settings = Settings(index_dir=index_dir, llm_backend="local")
    embedder = make_embedder(settings)
    if not (index_dir / "current").exists():
        ingest([ROOT / "seeds"], settings, embedder)
    assistant = Assistant.from_settings(settings, embedder=embedder)
    assistant.ask("Warm-up: what do the articles say?")  # loads the model; not counted
    rows = []
    for q in asked:
        began = time.perf_counter()
        answer = assistant.stream(q).consume()  # streamed to the end, as a reader receives it
        wall = time.perf_counter() - began
        t = answer.timings
        rows.append({"question": q, "refused": answer.refused, "wall_s": wall, "first_token_s": t.get("first_token_s"),
                     "first_verified_s": t.get("first_verified_s"), "total_s": t.get("total_s", wall), "retry": "retry_s" in t,
                     "sentences": len([s for s in answer.sentences if s.supported])})
        print(f"{wall:5.1f} s  {'refused ' if rows[-1]['refused'] else 'answered'}  {q}", file=sys.stderr, flush=True)
    return rows


def markdown(rows: list[dict], command: str, seconds: float, where: str) -> str:
    answered = [r for r in rows if not r["refused"] and r["first_verified_s"] is not None]
    first = [r["first_verified_s"] for r in answered]
    total = [r["total_s"] for r in rows]
    tokens = [r["first_token_s"] for r in rows if r["first_token_s"] is not None]
    retried = sum(r["retry"] for r in rows)

    def p(values: list[float]) -> str:
        return f"{median(values):.2f} / {percentile(values, 0.95):.2f} s" if values else "—"

    verdict = lambda v, goal: ("—" if not v else ("PASS" if median(v) <= goal else "FAIL"))  # noqa: E731
    lines = [
        "## Answer latency through `Assistant.stream` (`python -m bench.answer_rows`)",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({seconds:.0f} s). Machine: {where}.",
        f"{len(rows)} golden questions (no follow-ups), each asked once with the local model after one warm-up answer; "
        f"{len(answered)} answered, {len(rows) - len(answered)} refused, {retried} needed the second try.",
        "",
        "| what the reader waits for | p50 / p95 | goal (p50) | result |",
        "|---|---|---|---|",
        f"| first verified sentence shown (answered questions) | {p(first)} | ≤ {GOAL_FIRST_S} s | {verdict(first, GOAL_FIRST_S)} |",
        f"| full answer, every question (refusals included) | {p(total)} | ≤ {GOAL_FULL_S} s | {verdict(total, GOAL_FULL_S)} |",
        f"| first token of the model's draft | {p(tokens)} | (report) | — |",
        "",
        "A sentence is shown once it is checked: when the next one begins or the draft ends, and a sentence "
        "that needs the judge only after the draft ends (the judge runs on the answering model). Most answers "
        "are one sentence, so the first verified sentence comes close to the end of the draft.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.answer_rows", description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=2, help="ask every N-th golden question (default 2)")
    parser.add_argument("--index", default=None, help="a seeds index to use (default: a fresh one in a temporary folder)")
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error("--every must be 1 or more")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rag-answer-bench-") as tmp:
        rows = measure(questions(args.every), Path(args.index) if args.index else Path(tmp) / "index")
    command = f".venv/bin/python -m bench.answer_rows --every {args.every}"
    where = machine()[0].replace(";", vector_flags() + ";", 1)
    section = markdown(rows, command, time.perf_counter() - began, where)
    print(section)
    write_section(Path(args.out), section, MARK)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
