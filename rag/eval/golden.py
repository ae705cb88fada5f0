"""Golden files for ``rag eval``: one JSON case a line, checked field by field.

    cases = load_golden(Path("evals/golden.jsonl"))   # GoldenError names the line and the field

Nothing here runs the engine or scores answers (``run.py``, ``metrics.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GoldenError

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
    paraphrase_of: str | None = None  # the id of the question this one rewords


def _fail(where: str, message: str) -> GoldenError:
    return GoldenError(f"{where}: {message}")


def _strings(value: Any) -> bool:  # a list of non-blank strings
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def parse_case(data: Any, where: str) -> GoldenCase:
    """Validate one decoded JSON object; ``where`` (file:line) starts every error message."""
    if not isinstance(data, dict):
        raise _fail(where, "each line must be a JSON object")
    known = {"id", "question", "answer", "must_include", "sources", "answerable", "history", "category", "paraphrase_of"}
    if unknown := sorted(set(data) - known):
        raise _fail(where, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    for name in ("id", "question", "answer", "category", "paraphrase_of"):
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
        paraphrase_of=(data.get("paraphrase_of") or "").strip() or None,
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
