"""Evidence-first fallback: the model points at passages, the engine copies their sentence.

A small model asked to copy the sentence that answers a question often replies with passage
numbers alone ("[1]", "[1] [2]"): it found the evidence but did not write it out. This module
turns such a reply into an answer without inventing anything: among the sentences of the passages
the model chose (as shown to it, trimmed), the one that best answers the question, word for word,
cited with its passage number. "Best" is the caller's ``rank`` (the engine asks the judge whether
each sentence answers the question) or, without one, the sentence closest to the question. The
caller still verifies the copy and checks that it speaks to the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..index.embed import Embedder
from ..text.words import LEAD_MARKERS, content_words, strip_markers
from .compact import Compacted

MARKERS_ONLY = re.compile(r"^\s*(?:passages?\s*)?(?:\[?\s*\d{1,2}\s*\]?[\s,.;&]*(?:and\s+)?)+$", re.IGNORECASE)
Rank = Callable[[Sequence[str]], Sequence[float]]  # sentences -> how well each answers the question


@dataclass(frozen=True)
class Picked:
    n: int  # the passage number of the sentence
    sentence: str  # verbatim as shown
    score: float  # its rank score (the judge's P(answers) when a judge ranked)

    @property
    def draft(self) -> str:
        return f"{self.sentence} [{self.n}]"


def chosen_passages(reply: str, passages: int) -> list[int]:
    """``"[2]"`` -> [2], ``"[1] [2]"`` -> [1, 2]: the passage numbers of a reply made of nothing
    else, each within 1..passages and once; [] for any other reply. With one passage shown, a
    reply of passage numbers points at it whatever the number: the model saw one passage (whose
    header may list two dates, a story and its reprint) and answered "[2]".

    >>> chosen_passages("[2]", 3), chosen_passages("[2]", 1), chosen_passages("[4]", 3), chosen_passages("It was 2024 [1].", 1)
    ([2], [1], [], [])
    """
    if not MARKERS_ONLY.match(reply):
        return []
    numbers = list(dict.fromkeys(int(n) for n in re.findall(r"\d+", reply)))
    if numbers and passages == 1:
        return [1]
    return numbers if numbers and all(1 <= n <= passages for n in numbers) else []


def whole_sentence(reply: str, shown: Compacted) -> str:
    """A reply that copies part of a shown sentence ("[1] opened in September 2021." for "The
    Line 3 extension opened in September 2021.") as that whole sentence, cited to its passage: a
    fragment without its subject is no answer to read. Any other reply unchanged.

    The retry asks for a sentence word for word; a small model sometimes starts it mid-way."""
    body = " ".join(strip_markers(LEAD_MARKERS.sub(" ", reply)).split()).rstrip(".").strip()
    if len(body.split()) < 3 or not body[:1].islower():
        return reply
    for n, chunk in enumerate(shown.prompt.chunks, 1):
        for sentence in chunk.sentences or ():
            flat = " ".join(sentence.text.split())
            if body in flat and flat != body:
                return f"{flat} [{n}]"
    return reply


def pick(question: str, reply: str, shown: Compacted, embedder: Embedder, rank: Rank | None = None) -> Picked | None:
    """The sentence of the passages ``reply`` points at that best answers ``question`` (``rank``,
    or cosine similarity plus the share of the question's content words it holds), or None when
    the reply is not passage numbers alone."""
    candidates = []
    for n in chosen_passages(reply, len(shown.prompt.chunks)):
        chunk = shown.prompt.chunks[n - 1]
        texts = [s.text.strip() for s in chunk.sentences if s.text.strip()] or [chunk.text.strip()]
        candidates += [(n, t) for t in texts]
    if not candidates:
        return None
    sentences = [t for _, t in candidates]
    if rank is not None:
        scores = np.asarray(rank(sentences), dtype=float)
    else:
        vectors = embedder.encode([question, *sentences])
        asked = content_words(question)
        shares = np.array([len(asked & content_words(s)) / len(asked) if asked else 0.0 for s in sentences])
        scores = vectors[1:] @ vectors[0] + shares
    best = int(np.argmax(scores))
    return Picked(candidates[best][0], sentences[best], float(scores[best]))
