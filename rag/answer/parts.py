"""A question that asks two things, answered as two questions and shown as one answer.

"Where did Xi make a state visit in May, and where did Trump meet Putin in August?" needs two
passages that rarely come up together, and a small model given both tends to answer one half.
``relevance.question_parts`` splits such a question; the engine answers each part on its own
(retrieval, prompt, verification) and these helpers join the answers: the second part's
citations are numbered after the first part's, and a part the articles do not answer is named
after the answered ones. Nothing here retrieves, prompts or verifies.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from ..types import Answer
from .result import REFUSAL_OPENING, build_answer

_MARKER = re.compile(r"\[(\d+)\]")


def shift_markers(text: str, offset: int) -> str:
    """``text`` with each ``[n]`` marker numbered ``n + offset``.

    >>> shift_markers("Xi went to Moscow [1][2].", 2)
    'Xi went to Moscow [3][4].'
    """
    if not offset:
        return text
    return _MARKER.sub(lambda m: f"[{int(m.group(1)) + offset}]", text)


def is_refusal(piece: str) -> bool:
    """Whether a piece a part's answer streams is its refusal (held back: the joined answer names
    the unanswered part instead)."""
    return piece.lstrip().startswith(REFUSAL_OPENING)


def unanswered(parts: Sequence[str]) -> str:
    """The line naming the parts the articles do not answer.

    >>> print(unanswered(["Where did Xi go in May?"]))
    The articles don't answer this part: “Where did Xi go in May?”
    """
    quoted = "; ".join(f"“{p[0].upper() + p[1:]}”" for p in parts)
    return f"The articles don't answer {'this part' if len(parts) == 1 else 'these parts'}: {quoted}"


def join_answers(question: str, standalone: str | None, text: str, answers: Sequence[Answer], timings: dict[str, float], began: float) -> Answer:
    """One ``Answer`` from the parts' answers, in order: citations renumbered as ``shift_markers``
    renumbered the shown text, the sentences the model wrote for the answered parts with their
    verdicts (a supported sentence is a shown one, as in any answer that is not refused; a refused
    part's sentences were never shown), the closest passages of the parts left unanswered.
    Refused only when every part is."""
    citations, sentences, closest = [], [], []
    for answer in answers:
        if answer.refused:
            closest += list(answer.closest)
            continue
        offset = len(citations)
        citations += [replace(c, n=c.n + offset) for c in answer.citations]
        sentences += [replace(s, citations=tuple(n + offset for n in s.citations)) for s in answer.sentences]
    refused = all(a.refused for a in answers)
    out = build_answer(question, standalone, text, timings, began, refused=refused, closest=closest[:3], sentences=sentences)
    return replace(out, citations=tuple(citations), sentences=tuple(sentences))
