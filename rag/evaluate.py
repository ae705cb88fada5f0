"""Score the engine against a golden set of questions written by reading the articles.

Per case: retrieval (hit@k and reciprocal rank of the expected ``sources``), correctness (every
``must_include`` group found in the answer; plus an LLM judge against the reference answer when
the backend is ``openai``), citation precision (cited files that are expected sources), ALCE-style
citation recall and precision (each answer sentence re-checked against the quotes it cites with
the engine's own support checker), faithfulness (supported share of every sentence the model
wrote, removed ones included), refusal accuracy and latency. Aggregated overall and per category.

The scoring functions are pure and take plain ``Answer`` objects, so tests can feed known-bad
answers. This module does not render tables or reports (``eval_report.py``) or parse arguments.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .clean import split_sentences
from .errors import LLMTimeoutError, RagError
from .settings import Settings
from .types import Answer, Chunk, Hit, Sentence

METRICS = (
    "hit_at_k", "mrr", "correctness", "llm_judge", "citation_precision",
    "alce_citation_recall", "alce_citation_precision", "faithfulness", "refusal_accuracy",
)
_QUOTE_KEY = "\x00quote"


class EvalError(RagError):
    """The evaluation could not run (bad options, empty corpus, ...)."""


class GoldenError(EvalError):
    """A line of the golden file is not a valid case."""


@dataclass(frozen=True)
class GoldenCase:
    """One question with what a right answer must contain and where it must come from."""

    id: str
    question: str
    must_include: tuple[tuple[str, ...], ...] = ()
    sources: tuple[str, ...] = ()
    answerable: bool = True
    answer: str | None = None
    history: tuple[tuple[str, str], ...] = ()
    category: str = "general"


def _fail(where: str, message: str) -> GoldenError:
    return GoldenError(f"{where}: {message}")


def _strings(value: Any) -> bool:  # a list of non-blank strings
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def parse_case(data: Any, where: str) -> GoldenCase:
    """Validate one decoded JSON object; ``where`` (file:line) starts every error message."""
    if not isinstance(data, dict):
        raise _fail(where, "each line must be a JSON object")
    known = {"id", "question", "answer", "must_include", "sources", "answerable", "history", "category"}
    if unknown := sorted(set(data) - known):
        raise _fail(where, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    for name in ("id", "question", "answer", "category"):
        required, value = name in ("id", "question"), data.get(name)
        if (required or value is not None) and (not isinstance(value, str) or not value.strip()):
            raise _fail(where, f"{name!r} must be a non-empty string")
    answerable = data.get("answerable", True)
    if not isinstance(answerable, bool):
        raise _fail(where, "'answerable' must be true or false")
    must = data.get("must_include", [])
    if not isinstance(must, list) or not all(_strings(group) and group for group in must):
        raise _fail(where, "'must_include' must be a list of non-empty lists of strings, e.g. [[\"244.8\"], [\"20\", \"twenty\"]]")
    if answerable and not must:
        raise _fail(where, "an answerable case needs at least one 'must_include' group")
    sources = data.get("sources", [])
    if not _strings(sources) or (answerable and not sources):
        raise _fail(where, "'sources' must be a list of file names (at least one for an answerable case)")
    history = data.get("history", [])
    if not isinstance(history, list) or not all(_strings(turn) and len(turn) == 2 for turn in history):
        raise _fail(where, "'history' must be a list of [user, assistant] string pairs")
    return GoldenCase(
        id=data["id"].strip(),
        question=data["question"],
        must_include=tuple(tuple(group) for group in must),
        sources=tuple(sources),
        answerable=answerable,
        answer=data.get("answer"),
        history=tuple((u, a) for u, a in history),
        category=(data.get("category") or "general").strip(),
    )


def load_golden(path: Path) -> list[GoldenCase]:
    """Read a golden JSONL file (blank lines and ``#`` comments allowed); ids must be unique."""
    if not path.is_file():
        raise GoldenError(f"golden file {path} not found; pass one, e.g. rag eval evals/golden.jsonl")
    cases: list[GoldenCase] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(where, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        case = parse_case(data, where)
        if case.id in seen:
            raise _fail(where, f"duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise GoldenError(f"golden file {path} has no cases")
    return cases


# -- scoring: pure functions over plain results ---------------------------------------------

def _normalise(text: str) -> str:
    text = re.sub(r"\s*\[\d+\]", "", text).replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).lower()


def must_include_coverage(text: str, must_include: Sequence[Sequence[str]]) -> tuple[float, list[list[str]]]:
    """Share of groups with at least one alternative in ``text`` (case-insensitive), and the
    groups that had none."""
    if not must_include:
        return 1.0, []
    said = _normalise(text)
    missing = [list(group) for group in must_include if not any(_normalise(alt).strip() in said for alt in group)]
    return 1 - len(missing) / len(must_include), missing


def retrieval_scores(retrieved: Sequence[str], expected: Sequence[str]) -> tuple[float, float]:
    """hit@k (1 if any expected source was retrieved) and reciprocal rank of the first one."""
    for rank, source in enumerate(retrieved, start=1):
        if source in expected:
            return 1.0, 1.0 / rank
    return 0.0, 0.0


def citation_precision(answer: Answer, expected: Sequence[str]) -> float | None:
    """Share of citations that point into an expected source file; None without citations."""
    if not answer.citations:
        return None
    return sum(c.source in expected for c in answer.citations) / len(answer.citations)


def faithfulness(answer: Answer) -> float | None:
    """Share of everything the model claimed (removed sentences included) that was supported."""
    if not answer.sentences:
        return None
    return sum(s.supported for s in answer.sentences) / len(answer.sentences)


def refusal_correct(answer: Answer, answerable: bool) -> bool:
    return answer.refused != answerable


def _quote_chunk(text: str) -> Chunk:
    spans = split_sentences(text) or [(0, len(text))]
    sentences = tuple(Sentence(text[s:e], s, e) for s, e in spans)
    return Chunk(id=_QUOTE_KEY, source=_QUOTE_KEY, start=0, end=len(text), text=text, sentences=sentences)


def quotes_support(verifier: Any, claim: str, quotes: Sequence[str], question: str,
                   context: Sequence[Chunk] = (), documents: dict[str, str] | None = None) -> bool:
    """Whether the engine's checker accepts ``claim`` citing only ``quotes``. The retrieved
    ``context`` is given as the other passages, as in the engine, so question names it holds
    may stand in the claim; a verdict that moved the citation to the context counts as no."""
    if not quotes:
        return False
    text = " ".join(" ".join(q.split()) for q in quotes)
    checked = verifier.verify(f"{claim} [1]", [_quote_chunk(text), *context], question, {**(documents or {}), _QUOTE_KEY: text})
    return bool(checked.sentences) and all(
        s.supported and s.citations and all(checked.citations[n - 1].source == _QUOTE_KEY for n in s.citations)
        for s in checked.sentences
    )


def alce_scores(answer: Answer, verifier: Any, question: str, context: Sequence[Chunk] = (),
                documents: dict[str, str] | None = None) -> tuple[float | None, float | None, int, int]:
    """ALCE citation recall and precision over the sentences shown to the user.

    Recall: share of sentences whose cited quotes, together, support them. Precision: share of
    citations that are relevant: alone they support the sentence, or the sentence loses support
    without them. Returns (recall, precision, unsupported sentences, irrelevant citations)."""
    shown = [s for s in answer.sentences if s.supported] if not answer.refused else []
    if not shown:
        return None, None, 0, 0
    by_n = {c.n: c.quote for c in answer.citations}
    recalled = cited = relevant = 0
    for sentence in shown:
        quotes = [by_n[n] for n in sentence.citations if n in by_n]
        full = quotes_support(verifier, sentence.text, quotes, question, context, documents)
        recalled += full
        for i, quote in enumerate(quotes):
            cited += 1
            alone = quotes_support(verifier, sentence.text, [quote], question, context, documents)
            others = quotes[:i] + quotes[i + 1:]
            needed = full and not quotes_support(verifier, sentence.text, others, question, context, documents)
            relevant += alone or needed
    precision = relevant / cited if cited else 0.0
    return recalled / len(shown), precision, len(shown) - recalled, cited - relevant


@dataclass(frozen=True)
class CaseResult:
    """A case, what the engine answered, each metric (None where it does not apply) and why
    the case failed, if it did."""

    case: GoldenCase
    answer: Answer | None
    retrieved: tuple[str, ...]
    metrics: dict[str, float | None]
    latency_s: float
    missing: tuple[tuple[str, ...], ...] = ()
    failures: tuple[str, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        c = self.case
        return {
            "id": c.id, "category": c.category, "question": c.question, "answerable": c.answerable,
            "history": [list(t) for t in c.history], "reference": c.answer, "sources": list(c.sources),
            "must_include": [list(g) for g in c.must_include], "passed": self.passed,
            "failures": list(self.failures), "notes": list(self.notes), "missing": [list(g) for g in self.missing],
            "metrics": {k: (None if v is None else round(v, 4)) for k, v in self.metrics.items()},
            "latency_s": round(self.latency_s, 3), "retrieved": list(self.retrieved), "error": self.error,
            "result": self.answer.to_dict() if self.answer else None,
        }


def score_case(case: GoldenCase, answer: Answer, *, retrieved: Sequence[str], verifier: Any, latency_s: float,
               context: Sequence[Chunk] = (), documents: dict[str, str] | None = None,
               judged: bool | None = None) -> CaseResult:
    """Every metric of one answered case, and a one-line reason for each thing that failed."""
    m: dict[str, float | None] = dict.fromkeys(METRICS)
    failures: list[str] = []
    missing: list[list[str]] = []
    question = answer.standalone_question or case.question
    if case.answerable:
        m["hit_at_k"], m["mrr"] = retrieval_scores(retrieved, case.sources)
        if not m["hit_at_k"]:
            failures.append(f"retrieval missed the expected source(s) {', '.join(case.sources)}")
        coverage, missing = must_include_coverage(answer.answer, case.must_include)
        correct = not answer.refused and not missing
        m["correctness"] = float(correct)
        if answer.refused:
            failures.append("refused a question the articles answer")
        elif missing:
            failures.append("answer lacks " + "; ".join(" or ".join(repr(a) for a in g) for g in missing))
    elif not answer.refused:
        failures.append("answered a question the articles do not answer")
    m["refusal_accuracy"] = float(refusal_correct(answer, case.answerable))
    if judged is not None:
        m["llm_judge"] = float(judged)
        if not judged:
            failures.append("LLM judge: the answer does not match the reference")
    m["citation_precision"] = citation_precision(answer, case.sources) if case.sources else None
    if m["citation_precision"] is not None and m["citation_precision"] < 1:
        outside = sorted({c.source for c in answer.citations if c.source not in case.sources})
        failures.append(f"cites {', '.join(outside)}, not an expected source")
    recall, precision, unsupported, irrelevant = alce_scores(answer, verifier, question, context, documents)
    m["alce_citation_recall"], m["alce_citation_precision"] = recall, precision
    if unsupported:
        failures.append(f"{unsupported} sentence(s) not supported by the quotes they cite")
    if irrelevant:
        failures.append(f"{irrelevant} citation(s) that support nothing")
    m["faithfulness"] = faithfulness(answer)
    # Removed sentences never reach the user: they lower faithfulness but do not fail the case.
    removed = sum(not s.supported for s in answer.sentences)
    notes = (f"{removed} unsupported sentence(s) removed by the checker",) if removed else ()
    return CaseResult(case, answer, tuple(retrieved), m, latency_s, tuple(tuple(g) for g in missing), tuple(failures), notes=notes)


# -- aggregation and gate ----------------------------------------------------------------------

def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def summarise(results: Sequence[CaseResult]) -> dict[str, float | int | None]:
    latencies = [r.latency_s for r in results]
    out: dict[str, float | int | None] = {"cases": len(results), "passed": sum(r.passed for r in results)}
    for name in METRICS:
        out[name] = _mean([r.metrics.get(name) for r in results])
    out["latency_p50_s"] = float(np.percentile(latencies, 50)) if latencies else None
    out["latency_p95_s"] = float(np.percentile(latencies, 95)) if latencies else None
    return out


def load_thresholds(path: Path) -> dict[str, dict[str, float]]:
    """``[min]`` and ``[max]`` tables of metric names to bounds."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EvalError(f"cannot read thresholds {path}: {exc}") from None
    known = set(METRICS) | {"latency_p50_s", "latency_p95_s"}
    for table in ("min", "max"):
        for name, value in data.get(table, {}).items():
            if name not in known or not isinstance(value, (int, float)):
                raise EvalError(f"{path}: [{table}] {name} = {value!r} is not a known metric with a number")
    return {"min": dict(data.get("min", {})), "max": dict(data.get("max", {}))}


def check_thresholds(overall: dict[str, Any], thresholds: dict[str, dict[str, float]]) -> list[str]:
    """One line per metric outside its bound (a metric with no value is not checked)."""
    problems = []
    for name, bound in thresholds.get("min", {}).items():
        if overall.get(name) is not None and overall[name] < bound:
            problems.append(f"{name} {overall[name]:.3f} is below the threshold {bound}")
    for name, bound in thresholds.get("max", {}).items():
        if overall.get(name) is not None and overall[name] > bound:
            problems.append(f"{name} {overall[name]:.3f} is above the threshold {bound}")
    return problems


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
    def gate_failures(self) -> list[str]:
        return check_thresholds(self.overall, self.thresholds) if self.thresholds else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "info": self.info, "overall": self.overall, "by_category": self.by_category,
            "thresholds": self.thresholds, "gate_failures": self.gate_failures,
            "cases": [r.to_dict() for r in self.results],
        }


# -- running -----------------------------------------------------------------------------------

def llm_judge(assistant: Any, case: GoldenCase, answer: Answer) -> bool | None:
    """Ask the assistant's LLM whether the answer agrees with the reference; None if unsure."""
    from .prompts import render

    prompt = render("eval_judge", question=case.question, reference=case.answer, answer=answer.answer)
    s = assistant.settings
    reply = "".join(assistant.llm.stream([{"role": "user", "content": prompt}], max_tokens=8, temperature=0.0, timeout=s.llm_timeout_s))
    verdict = reply.strip().upper()
    return False if verdict.startswith("INCORRECT") else True if verdict.startswith("CORRECT") else None


def evaluate_case(assistant: Any, case: GoldenCase, *, chunks_by_id: dict[str, Chunk], documents: dict[str, str],
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
                      context=context, documents=documents, judged=judged)


def run_eval(assistant: Any, cases: Sequence[GoldenCase], *, progress: bool = False) -> EvalRun:
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
def eval_assistant(settings: Settings, corpus: Path | None = None) -> Iterator[Any]:
    """An Assistant on ``settings.index_dir``, or on a temporary index built from ``corpus``."""
    from .embed import make_embedder
    from .engine import Assistant
    from .ingest import ingest

    if corpus is None:
        yield Assistant.from_settings(settings)
        return
    if not corpus.is_dir():
        raise EvalError(f"--corpus {corpus} is not a folder of articles")
    embedder = make_embedder(settings)
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        temp_settings = settings.model_copy(update={"index_dir": Path(tmp) / "index"})
        report = ingest([corpus], temp_settings, embedder)
        if not report.chunks:
            raise EvalError(f"--corpus {corpus}: no article could be indexed ({len(report.skipped)} skipped)")
        yield Assistant.from_settings(temp_settings, embedder=embedder)


def evaluate_file(golden: Path, settings: Settings, *, corpus: Path | None = None, limit: int | None = None,
                  progress: bool = False) -> EvalRun:
    """Load and validate ``golden``, answer its cases, and attach ``thresholds.toml`` if one
    sits beside it."""
    cases = load_golden(golden)[: limit or None]
    thresholds_path = golden.parent / "thresholds.toml"
    thresholds = load_thresholds(thresholds_path) if thresholds_path.is_file() else None
    with eval_assistant(settings, corpus) as assistant:
        run = run_eval(assistant, cases, progress=progress)
    run.info.update({"golden": str(golden), "corpus": str(corpus) if corpus else None})
    if corpus:
        run.info["index_dir"] = f"(temporary index of {corpus})"
    run.thresholds = thresholds
    return run

