"""Metrics of ``rag eval``: pure functions over plain ``Answer`` objects, so tests can feed
known-bad answers.

Per case: retrieval (hit@k and reciprocal rank of the expected ``sources``), correctness (every
``must_include`` group found in the answer), citation precision (cited files that are expected
sources), ALCE-style citation recall and precision (each answer sentence re-checked against the
quotes it cites with the engine's own verifier), faithfulness (supported share of every sentence
the model wrote, removed ones included), refusal accuracy; then the averages and the gate
(``load_thresholds`` reads evals/thresholds.toml, ``check_thresholds`` applies it).
Nothing here runs the engine (``run.py``) or renders reports (``report.py``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..answer.judge import SupportJudge
from ..answer.verify import Verifier
from ..errors import EvalError
from ..text.sentences import split_sentences
from ..text.words import MARKER
from ..types import Answer, Chunk, Citation, Sentence
from .golden import GoldenCase

METRICS = (
    "hit_at_k", "mrr", "correctness", "llm_judge", "citation_precision",
    "alce_citation_recall", "alce_citation_precision", "faithfulness", "refusal_accuracy",
)
_QUOTE_KEY = "\x00quote"


# -- scoring: pure functions over plain results ---------------------------------------------

def _normalise(text: str) -> str:
    text = MARKER.sub("", text).replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
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


def _quote_chunk(text: str, published: str | None = None, title: str | None = None) -> Chunk:
    spans = split_sentences(text) or [(0, len(text))]
    sentences = tuple(Sentence(text[s:e], s, e) for s, e in spans)
    return Chunk(id=_QUOTE_KEY, source=_QUOTE_KEY, start=0, end=len(text), text=text, sentences=sentences, published=published, title=title)


def quotes_support(verifier: Verifier, claim: str, quotes: Sequence[str], question: str,
                   context: Sequence[Chunk] = (), documents: dict[str, str] | None = None,
                   judge: SupportJudge | None = None, cache: dict | None = None, published: str | None = None,
                   title: str | None = None) -> bool:
    """Whether the engine's checker accepts ``claim`` citing only ``quotes``. The retrieved
    ``context`` is given as the other passages, as in the engine, so question names it holds
    may stand in the claim; a verdict that moved the citation to the context counts as no. With
    ``judge`` (the engine's ``SupportJudge``), the same semantic check as the engine's.
    ``published``, ``title``: the quotes' article date and title, when they share one (the date may
    give the question's year; the judge reads the quote under the title, as in the engine)."""
    if not quotes:
        return False
    text = " ".join(" ".join(q.split()) for q in quotes)
    checked = verifier.verify(f"{claim} [1]", [_quote_chunk(text, published, title), *context], question, {**(documents or {}), _QUOTE_KEY: text},
                              judge=judge, cache=cache)
    return bool(checked.sentences) and all(
        s.supported and s.citations and all(checked.citations[n - 1].source == _QUOTE_KEY for n in s.citations)
        for s in checked.sentences
    )


def alce_scores(answer: Answer, verifier: Verifier, question: str, context: Sequence[Chunk] = (),
                documents: dict[str, str] | None = None, judge: SupportJudge | None = None) -> tuple[float | None, float | None, int, int]:
    """ALCE citation recall and precision over the sentences shown to the user.

    Recall: share of sentences whose cited quotes, together, support them. Precision: share of
    citations that are relevant: alone they support the sentence, or the sentence loses support
    without them. Returns (recall, precision, unsupported sentences, irrelevant citations)."""
    shown = [s for s in answer.sentences if s.supported] if not answer.refused else []
    if not shown:
        return None, None, 0, 0
    by_n = {c.n: c for c in answer.citations}
    cache: dict = {}  # the judge's verdicts, asked once per (sentence, quote)

    def support(claim: str, cites: list[Citation]) -> bool:
        dates, titles = {c.published for c in cites}, {c.title for c in cites}
        return quotes_support(verifier, claim, [c.quote for c in cites], question, context, documents, judge, cache,
                              published=dates.pop() if len(dates) == 1 else None, title=titles.pop() if len(titles) == 1 else None)

    recalled = cited = relevant = 0
    for sentence in shown:
        cites = [by_n[n] for n in sentence.citations if n in by_n]
        full = support(sentence.text, cites)
        recalled += full
        for i, cite in enumerate(cites):
            cited += 1
            alone = support(sentence.text, [cite])
            needed = full and not support(sentence.text, cites[:i] + cites[i + 1:])
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


def score_case(case: GoldenCase, answer: Answer, *, retrieved: Sequence[str], verifier: Verifier, latency_s: float,
               context: Sequence[Chunk] = (), documents: dict[str, str] | None = None,
               judged: bool | None = None, support_judge: SupportJudge | None = None) -> CaseResult:
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
    recall, precision, unsupported, irrelevant = alce_scores(answer, verifier, question, context, documents, support_judge)
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


def outcome(result: CaseResult) -> str:
    """What a case came to: "right" (answered with every required part), "refused", or "wrong"."""
    if result.answer is not None and result.answer.refused:
        return "refused"
    if result.case.answerable:
        return "right" if result.metrics.get("correctness") == 1.0 else "wrong"
    return "wrong"  # an unanswerable question answered


def paraphrase_agreement(results: Sequence[CaseResult]) -> dict[str, Any] | None:
    """How far the wordings of one question come to the same outcome. A group is a question and
    its rewordings (cases whose ``paraphrase_of`` names it) among ``results``; it agrees when every
    wording is answered right, or every wording refused. None when no case rewords another."""
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(r.case.paraphrase_of or r.case.id, []).append(r)
    reworded = {root: rs for root, rs in groups.items() if len(rs) >= 2 and any(r.case.paraphrase_of for r in rs)}
    if not reworded:
        return None
    outcomes = {root: [outcome(r) for r in rs] for root, rs in reworded.items()}
    agree = [root for root, seen in outcomes.items() if len(set(seen)) == 1 and seen[0] in ("right", "refused")]
    all_right = [root for root, seen in outcomes.items() if set(seen) == {"right"}]
    return {
        "groups": len(reworded),
        "with_original": sum(any(r.case.id == root for r in rs) for root, rs in reworded.items()),
        "agreement": len(agree) / len(reworded),
        "all_right": len(all_right) / len(reworded),
        "disagreeing": {root: dict(zip((r.case.id for r in reworded[root]), seen)) for root, seen in outcomes.items() if root not in agree},
    }


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
