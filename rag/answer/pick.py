"""Evidence-first fallback: the model points at a passage, the engine copies its sentence.

A small model asked to copy the sentence that answers a question often replies with the passage
number alone ("[1]"): it found the evidence but did not write it out. This module turns such a
reply into an answer without inventing anything: from the passage the model chose (as shown to
it, trimmed), the sentence closest to the question, word for word, cited with that number. The
caller still verifies the copy and asks the judge whether the sentence answers the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..index.embed import Embedder
from ..text.words import content_words
from .compact import Compacted

BARE_CITATION = re.compile(r"^\s*(?:passage\s*)?\[?\s*(\d{1,2})\s*\]?\s*\.?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Picked:
    n: int  # the passage number the model gave
    sentence: str  # its sentence closest to the question, verbatim as shown

    @property
    def draft(self) -> str:
        return f"{self.sentence} [{self.n}]"


def chosen_passage(reply: str, passages: int) -> int | None:
    """``"[2]"`` -> 2 when the reply is only a passage number within 1..passages."""
    match = BARE_CITATION.match(reply)
    if not match:
        return None
    n = int(match.group(1))
    return n if 1 <= n <= passages else None


def pick(question: str, reply: str, shown: Compacted, embedder: Embedder) -> Picked | None:
    """The sentence of the passage ``reply`` points at that is closest to ``question`` (cosine
    similarity plus the share of the question's content words it holds), or None when the reply
    is not a bare passage number."""
    n = chosen_passage(reply, len(shown.prompt.chunks))
    if n is None:
        return None
    chunk = shown.prompt.chunks[n - 1]
    sentences = [s.text.strip() for s in chunk.sentences if s.text.strip()] or [chunk.text.strip()]
    vectors = embedder.encode([question, *sentences])
    similarity = vectors[1:] @ vectors[0]
    asked = content_words(question)
    shares = np.array([len(asked & content_words(s)) / len(asked) if asked else 0.0 for s in sentences])
    return Picked(n, sentences[int(np.argmax(similarity + shares))])
