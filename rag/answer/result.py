"""Building the ``Answer`` every path returns, and the one wording of a refusal.

    refusal_text("No article matches that description")
    -> "The articles don't say. No article matches that description; the closest passages are listed."

``build_answer`` is the only place an ``Answer`` is made while answering (fact questions,
article lists, timelines, summaries), so its fields mean the same everywhere. Nothing here
retrieves, prompts or verifies.
"""

from __future__ import annotations

import time
from typing import Sequence

from ..types import Answer, AnswerSentence, Hit
from .verify import VerifiedAnswer


REFUSAL_OPENING = "The articles don't say."


def refusal_text(reason: str) -> str:
    """The sentence shown when the articles do not support an answer; ``reason`` says why."""
    return f"{REFUSAL_OPENING} {reason}; the closest passages are listed."


NO_SUPPORT = refusal_text("No passage in the corpus supports an answer to this question")
NO_ARTICLE = refusal_text("No article matches that description")


def build_answer(
    question: str,
    standalone: str | None,
    text: str,
    timings: dict[str, float],
    began: float,
    *,
    checked: VerifiedAnswer | None = None,
    refused: bool = False,
    closest: Sequence[Hit] = (),
    sentences: Sequence[AnswerSentence] = (),
) -> Answer:
    """The ``Answer``: citations and sentences from ``checked`` when given (else ``sentences``,
    without citations); records ``total_s`` since ``began`` in ``timings``."""
    timings["total_s"] = time.perf_counter() - began
    return Answer(
        question=question,
        answer=text,
        refused=refused,
        citations=checked.citations if checked else (),
        sentences=checked.sentences if checked else tuple(sentences),
        closest=tuple(closest),
        standalone_question=standalone,
        timings=timings,
    )
