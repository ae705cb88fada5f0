"""Score ``rag check`` on a claims file: every claim judged, verdicts compared with the file's.

A claims file has one JSON object per line: ``{"id", "claim", "verdict": "supported" |
"contradicted" | "not_found", "kind", "sources", "evidence"}`` (see evals/DATASETS.md).
Metrics: 3-way accuracy, how many not-supported claims were called supported (the error that
matters most: a false "the articles say so"), per-verdict recall, evidence file precision, and
the precision/recall of "supported" at thresholds on the judge's score, so the threshold can be
chosen from a curve (on the calibration set only, never on the held-out one).

This module does not judge (``answer/check.py`` does) and renders no HTML.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import GoldenError
from ..types import ClaimCheck

if TYPE_CHECKING:
    from ..answer.engine import Assistant

VERDICTS = ("supported", "contradicted", "not_found")
CURVE_AT = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class ClaimCase:
    id: str
    claim: str
    verdict: str
    kind: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ClaimResult:
    case: ClaimCase
    check: ClaimCheck
    seconds: float

    @property
    def right(self) -> bool:
        return self.check.verdict == self.case.verdict

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.case.id, "kind": self.case.kind, "expected": self.case.verdict, "right": self.right,
                "seconds": round(self.seconds, 3), **self.check.to_dict()}


def is_claims_file(path: Path) -> bool:
    """Whether ``path`` holds claims (its first record has "claim" and "verdict")."""
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip() and not line.lstrip().startswith("#"):
                    first = json.loads(line)
                    return isinstance(first, dict) and "claim" in first and "verdict" in first
    except (OSError, ValueError):
        return False
    return False


def load_claims(path: Path) -> list[ClaimCase]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
            verdict = data["verdict"]
            if verdict not in VERDICTS or not str(data["claim"]).strip():
                raise ValueError(f"verdict must be one of {', '.join(VERDICTS)} and the claim non-empty")
            cases.append(ClaimCase(str(data["id"]), str(data["claim"]), verdict, str(data.get("kind", "")), tuple(data.get("sources") or ())))
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldenError(f"{path}:{n}: {exc}") from None
    return cases


def run_claims(assistant: Assistant, cases: list[ClaimCase], *, progress: bool = False) -> list[ClaimResult]:
    results = []
    for i, case in enumerate(cases, start=1):
        began = time.perf_counter()
        check = assistant.check(case.claim)
        results.append(ClaimResult(case, check, time.perf_counter() - began))
        if progress:
            mark = "✓" if results[-1].right else "✗"
            print(f"[{i}/{len(cases)}] {mark} {case.verdict} -> {check.verdict} ({check.score:.2f}) {case.claim[:70]}", flush=True)
    return results


def summarise_claims(results: list[ClaimResult]) -> dict[str, Any]:
    n = len(results)
    if not n:
        return {"cases": 0}
    out: dict[str, Any] = {"cases": n, "accuracy": sum(r.right for r in results) / n}
    out["false_supported"] = sum(r.check.verdict == "supported" and r.case.verdict != "supported" for r in results)
    for v in VERDICTS:
        of = [r for r in results if r.case.verdict == v]
        out[f"recall_{v}"] = sum(r.right for r in of) / len(of) if of else None
    cited = [c for r in results if r.case.sources for c in r.check.evidence]
    good = sum(c.source in r.case.sources for r in results for c in r.check.evidence if r.case.sources)
    out["evidence_precision"] = good / len(cited) if cited else None
    out["latency_p50_s"] = sorted(r.seconds for r in results)[n // 2]
    # P/R of "supported" if the judge's support score alone decided, at each threshold
    curve = []
    positives = [r for r in results if r.case.verdict == "supported"]
    for t in CURVE_AT:
        called = [r for r in results if _support_score(r) >= t]
        hit = sum(r.case.verdict == "supported" for r in called)
        curve.append({"threshold": t, "precision": hit / len(called) if called else None, "recall": hit / len(positives) if positives else None})
    out["support_curve"] = curve
    return out


def _support_score(r: ClaimResult) -> float:
    """The judge's P(supported) for the claim's best evidence (a contradicted verdict carries
    P(false) in ``score``, so its support score counts as 0)."""
    return r.check.score if r.check.verdict != "contradicted" else 0.0


def format_claims(results: list[ClaimResult]) -> str:
    s = summarise_claims(results)
    lines = [f"claims: {s['cases']}  accuracy {s['accuracy']:.3f}  called supported but not: {s['false_supported']}  p50 {s['latency_p50_s']:.2f} s"]
    lines.append("  recall: " + ", ".join(f"{v} {s[f'recall_{v}']:.3f}" for v in VERDICTS if s[f"recall_{v}"] is not None))
    if s["evidence_precision"] is not None:
        lines.append(f"  evidence from an expected file: {s['evidence_precision']:.3f}")
    lines.append("  support score threshold -> precision / recall: " + "; ".join(
        f"{c['threshold']:.1f}: {c['precision'] if c['precision'] is None else round(c['precision'], 2)} / {c['recall'] if c['recall'] is None else round(c['recall'], 2)}"
        for c in s["support_curve"]))
    for r in results:
        if not r.right:
            lines.append(f"  ✗ {r.case.id} ({r.case.kind}): expected {r.case.verdict}, got {r.check.verdict} ({r.check.score:.2f}): {r.case.claim}")
    return "\n".join(lines)
