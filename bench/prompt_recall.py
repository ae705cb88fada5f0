"""How often the answer reaches the model: for each answerable case of golden files, whether every
``must_include`` group is in the retrieved passages and in the compacted prompt the model is shown.

No model runs (the fake backend): this measures retrieval and compaction alone, in seconds, so a
change to either can be judged on every set before a live ``rag eval``. A case whose answer is not
in the prompt can only be answered by the retry's copy from the untrimmed passages, or not at all.

    .venv/bin/python -m bench.prompt_recall evals/golden.jsonl evals/paraphrases.jsonl
    .venv/bin/python -m bench.prompt_recall evals/editions_golden.jsonl --corpus evals/corpora/editions
    .venv/bin/python -m bench.prompt_recall evals/holdout.jsonl --misses   # list the cases lost

Two-part questions are measured part by part, as the engine answers them: a group counts as shown
when one part's prompt has it. Article questions (lists, summaries, timelines) are left out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.answer.relevance import question_parts
from rag.errors import RagError
from rag.eval.golden import load_golden
from rag.eval.metrics import must_include_coverage
from rag.eval.run import eval_assistant
from rag.settings import Settings

ARTICLE_CATEGORIES = ("article_list", "article_summary", "timeline")


def texts_for(assistant, question: str) -> tuple[str, str]:  # noqa: ANN001 - an Assistant
    """(retrieved passages, compacted prompt) for ``question``, each part of it joined."""
    parts = question_parts(question) if assistant.settings.split_questions else [question]
    found_text, shown_text = [], []
    for part in parts:
        found = assistant.context(part)
        shown = assistant.compact(part, found)
        found_text += [c.text for c in found.chunks]
        shown_text += [c.text for c in shown.prompt.chunks]
    return " ".join(found_text), " ".join(shown_text)


def measure(path: Path, settings: Settings, corpus: Path | None, misses: bool) -> tuple[int, int, int]:
    cases = [c for c in load_golden(path) if c.answerable and not c.history and c.category not in ARTICLE_CATEGORIES]
    retrieved = shown = 0
    with eval_assistant(settings, corpus) as assistant:
        for case in cases:
            found_text, shown_text = texts_for(assistant, case.question)
            in_found = must_include_coverage(found_text, case.must_include)[0] == 1.0
            in_shown = must_include_coverage(shown_text, case.must_include)[0] == 1.0
            retrieved += in_found
            shown += in_shown
            if misses and not in_shown:
                where = "compaction" if in_found else "retrieval"
                print(f"  lost at {where}: {case.id}: {case.question}", file=sys.stderr)
    return len(cases), retrieved, shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prompt_recall", description=__doc__.splitlines()[0])
    parser.add_argument("golden", nargs="+", help="golden JSONL files")
    parser.add_argument("--corpus", help="build a temporary index from this folder (as rag eval --corpus)")
    parser.add_argument("--index", default="index", help="the index to use without --corpus (default: index)")
    parser.add_argument("--misses", action="store_true", help="list the cases whose answer the prompt lacks")
    args = parser.parse_args(argv)
    settings = Settings(index_dir=Path(args.index), llm_backend="fake")
    corpus = Path(args.corpus) if args.corpus else None
    print("| set | answerable cases | answer in retrieved passages | answer in the prompt |")
    print("|---|---:|---:|---:|")
    for name in args.golden:
        try:
            total, retrieved, shown = measure(Path(name), settings, corpus, args.misses)
        except (RagError, OSError) as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            return 2
        print(f"| {Path(name).name} | {total} | {retrieved} | {shown} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
