"""Run ``rag eval``: answer every golden case with an ``Assistant`` (on an existing index, or on
a temporary one built from a corpus folder), score it with ``metrics.py`` and keep the run.

An LLM judge compares the answer with the reference when the backend is ``openai``. This
module does not parse golden files (``golden.py``), render reports (``report.py``) or parse
arguments (``faces/cli.py``).
"""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ..answer.prompt import user_message
from ..errors import EvalError, LLMTimeoutError
from ..settings import Settings
from ..types import Answer, Chunk, Hit
from .golden import GoldenCase, load_golden
from .metrics import METRICS, CaseResult, check_thresholds, load_thresholds, paraphrase_agreement, score_case, summarise

if TYPE_CHECKING:
    from ..answer.engine import Assistant

@dataclass
class EvalRun:
    results: list[CaseResult]
    info: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, dict[str, float]] | None = None

    @property
    def overall(self) -> dict[str, Any]:
        return summarise(self.results)

    @property
    def by_category(self) -> dict[str, dict[str, Any]]:
        cats = sorted({r.case.category for r in self.results})
        return {c: summarise([r for r in self.results if r.case.category == c]) for c in cats}

    @property
    def paraphrases(self) -> dict[str, Any] | None:
        return paraphrase_agreement(self.results)

    @property
    def gate_failures(self) -> list[str]:
        return check_thresholds(self.overall, self.thresholds) if self.thresholds else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "info": self.info, "overall": self.overall, "by_category": self.by_category, "paraphrases": self.paraphrases,
            "thresholds": self.thresholds, "gate_failures": self.gate_failures,
            "cases": [r.to_dict() for r in self.results],
        }


# -- running -----------------------------------------------------------------------------------

def llm_judge(assistant: Assistant, case: GoldenCase, answer: Answer) -> bool | None:
    """Ask the assistant's LLM whether the answer agrees with the reference; None if unsure."""
    messages = user_message("eval_judge", question=case.question, reference=case.answer, answer=answer.answer)
    s = assistant.settings
    reply = "".join(assistant.llm.stream(messages, max_tokens=8, temperature=0.0, timeout=s.llm_timeout_s))
    verdict = reply.strip().upper()
    return False if verdict.startswith("INCORRECT") else True if verdict.startswith("CORRECT") else None


def evaluate_case(assistant: Assistant, case: GoldenCase, *, chunks_by_id: dict[str, Chunk], documents: dict[str, str],
                  use_judge: bool = False) -> CaseResult:
    began = time.perf_counter()
    try:
        answer = assistant.chat(list(case.history), case.question) if case.history else assistant.ask(case.question)
    except LLMTimeoutError as exc:  # one slow answer fails its case, not the run
        m: dict[str, float | None] = {**dict.fromkeys(METRICS), "refusal_accuracy": 0.0, "correctness": 0.0 if case.answerable else None}
        return CaseResult(case, None, (), m, time.perf_counter() - began, failures=(f"error: {exc}",), error=str(exc))
    latency = time.perf_counter() - began
    hits: list[Hit] = assistant.search(answer.standalone_question or case.question)
    context = [chunks_by_id[h.chunk_id] for h in hits if h.chunk_id in chunks_by_id]
    judged = llm_judge(assistant, case, answer) if use_judge and case.answerable and case.answer and not answer.refused else None
    return score_case(case, answer, retrieved=[h.source for h in hits], verifier=assistant.verifier, latency_s=latency,
                      context=context, documents=documents, judged=judged, support_judge=assistant.judge)


def run_eval(assistant: Assistant, cases: Sequence[GoldenCase], *, progress: bool = False) -> EvalRun:
    """Answer every case with ``assistant`` and score it. The LLM judge runs only on ``openai``."""
    from tqdm import tqdm

    use_judge = assistant.settings.llm_backend == "openai"
    chunks_by_id = {c.id: c for c in assistant.index.chunks}
    documents = {name: doc.text for name, doc in assistant.index.documents.items()}
    results = [
        evaluate_case(assistant, case, chunks_by_id=chunks_by_id, documents=documents, use_judge=use_judge)
        for case in tqdm(cases, desc="eval", unit="q", disable=not progress, dynamic_ncols=True)
    ]
    info = {"backend": assistant.settings.llm_backend, "top_k": assistant.settings.top_k,
            "index_dir": str(assistant.settings.index_dir), "llm_judge": use_judge}
    return EvalRun(results, info)


@contextmanager
def eval_assistant(settings: Settings, corpus: Path | None = None, filters: dict[str, str | None] | None = None) -> Iterator[Assistant]:
    """An Assistant on ``settings.index_dir``, or on a temporary index built from ``corpus``;
    ``filters`` (``since``, ``until``, ``source``) go to ``Assistant.filtered``."""
    from ..index.embed import make_embedder
    from ..answer.engine import Assistant
    from ..ingest.run import ingest

    if corpus is None:
        yield Assistant.from_settings(settings).filtered(**(filters or {}))
        return
    if not corpus.is_dir():
        raise EvalError(f"--corpus {corpus} is not a folder of articles")
    embedder = make_embedder(settings)
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        # Never the configured database: a corpus ingest would prune everything else in it. With
        # store=postgres the temporary index gets its own embedded server under ``tmp``.
        temp_settings = settings.model_copy(update={"index_dir": Path(tmp) / "index", "database_url": ""})
        report = ingest([corpus], temp_settings, embedder)
        if not report.chunks:
            raise EvalError(f"--corpus {corpus}: no article could be indexed ({len(report.skipped)} skipped)")
        yield Assistant.from_settings(temp_settings, embedder=embedder).filtered(**(filters or {}))


def with_originals(cases: list[GoldenCase], originals: Sequence[GoldenCase]) -> list[GoldenCase]:
    """``cases`` after the questions of ``originals`` that they reword (``paraphrase_of``), so
    that one run scores every wording of a question together."""
    wanted = {c.paraphrase_of for c in cases if c.paraphrase_of} - {c.id for c in cases}
    if missing := sorted(wanted - {c.id for c in originals}):
        raise EvalError(f"--originals has no case {', '.join(repr(m) for m in missing[:3])}, which paraphrase_of names")
    return [c for c in originals if c.id in wanted] + cases


def evaluate_file(golden: Path, settings: Settings, *, corpus: Path | None = None, limit: int | None = None,
                  progress: bool = False, filters: dict[str, str | None] | None = None, originals: Path | None = None) -> EvalRun:
    """Load and validate ``golden``, answer its cases (and, with ``originals``, the questions
    they reword), and attach ``thresholds.toml`` if one sits beside ``golden``."""
    cases = load_golden(golden)[: limit or None]
    if originals is not None:
        cases = with_originals(cases, load_golden(originals))
    thresholds_path = golden.parent / "thresholds.toml"
    thresholds = load_thresholds(thresholds_path) if thresholds_path.is_file() else None
    with eval_assistant(settings, corpus, filters) as assistant:
        run = run_eval(assistant, cases, progress=progress)
    run.info.update({"golden": str(golden), "corpus": str(corpus) if corpus else None})
    if originals is not None:
        run.info["originals"] = str(originals)
    if filters and any(filters.values()):
        run.info["filter"] = {k: v for k, v in filters.items() if v}
    if corpus:
        run.info["index_dir"] = f"(temporary index of {corpus})"
    run.thresholds = thresholds
    return run
