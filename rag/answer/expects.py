"""What kind of thing a question asks for, and whether a sentence holds one it does not name.

The classic answer-type test of question answering, for ranking the sentences shown to the model
(``compact.score_sentences``). A sentence that repeats the question's words scores high on
similarity and word share, yet the sentence that answers holds what the question lacks: a person
for "Who …?", a figure for "How many …?", a date for "When …?", a place for "Where …?". Only
wording that any English question uses is read here, no entity of any corpus.

>>> asked_kind("Who attended the parade?"), asked_kind("In which year did trade peak?")
('name', 'time')
>>> holds_kind("Who attended the parade?", "name", "Premier Ana Ruiz and King Olav attended.")
True
>>> holds_kind("Who attended the parade?", "name", "The parade was attended by foreign leaders.")
False
"""

from __future__ import annotations

import re

from ..text import dates
from ..text.words import MONTH_ABBREVIATIONS, MONTH_NAMES, STOP, WEEKDAYS, counts, names, norm_word, numbers

# Nouns that ask for who or what by name: "Which leaders …", "What company …".
_NAMED_NOUNS = (
    r"(?:leaders?|people|persons?|officials?|presidents?|ministers?|players?|teams?|winners?|champions?|"
    r"candidates?|compan(?:y|ies)|firms?|countries|country|nations?|guests?|members?|heads?|executives?|"
    r"ceos?|chiefs?|spokes(?:man|men|woman|women|person|persons)|speakers?|authors?|rivals?|opponents?|"
    r"organi[sz]ations?|groups?|parties|party|clubs?|brands?|products?|agenc(?:y|ies))"
)
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("time", re.compile(r"^\W*(?:when\b|(?:in\s+|on\s+)?(?:what|which)\s+(?:year|date|day|month|weekday|time)\b)", re.IGNORECASE)),
    ("count", re.compile(
        r"^\W*(?:how\s+(?:many|much|large|big|long|old|far|high|fast)\b|"
        r"(?:what|which)\s+(?:percentage|share|number|amount|figure|price|score|margin|total|sum|rate)\b)", re.IGNORECASE)),
    ("place", re.compile(r"^\W*(?:where\b|(?:in\s+|at\s+)?(?:what|which)\s+(?:city|country|venue|place|town|state|region|stadium|location)\b)", re.IGNORECASE)),
    ("name", re.compile(rf"^\W*(?:who|whom|whose)\b|^\W*(?:which|what)\s+(?:\w+\s+)?{_NAMED_NOUNS}\b", re.IGNORECASE)),
)
_NAME_RUN = re.compile(r"\b[A-Z][\w’'\-]*(?:\s+(?:of\s+|de\s+|van\s+|von\s+)?[A-Z][\w’'\-]*)+")
_PLACE = re.compile(r"\b(?:in|at|on|to|from|near|outside|inside)\s+(?:the\s+)?([A-Z][\w’'\-]*(?:\s+[A-Z][\w’'\-]*)*)")
_CALENDAR = {*WEEKDAYS, *MONTH_NAMES, *MONTH_ABBREVIATIONS}


def asked_kind(question: str) -> str | None:
    """``"time"``, ``"count"``, ``"place"`` or ``"name"`` from the question's opening words; None
    for any other question ("What did … say?")."""
    for kind, pattern in _KINDS:
        if pattern.search(question):
            return kind
    return None


def _new(run: str, known: set[str]) -> bool:
    """Whether a run of capitalised words names something the question does not: none of its
    words is a name of the question, and it is not only a month or a weekday."""
    words = {norm_word(w) for w in re.split(r"[\s\-]+", run)} - STOP
    return bool(words) and not (words & known) and not words <= _CALENDAR


def _time_values(text: str) -> set[str]:
    """Years, months, weekdays and day numbers of dates in ``text``, lower-cased."""
    found = {m.group(0) for m in dates.YEAR.finditer(text)}
    found |= {m.group("weekday").lower() for m in dates.WEEKDAY.finditer(text)}
    for pattern in (dates.DAY_MONTH, dates.MONTH_DAY):
        for m in pattern.finditer(text):
            found |= {m.group("month").lower().rstrip("."), m.group("day")}
    return found


def holds_kind(question: str, kind: str | None, sentence: str) -> bool:
    """Whether ``sentence`` holds a thing of ``kind`` that ``question`` does not already give."""
    if kind == "time":
        return bool(_time_values(sentence) - _time_values(question))
    if kind == "count":
        return bool(set(counts(sentence).values()) - numbers(question))
    known = names(question)
    if kind == "place":
        return any(_new(m.group(1), known) for m in _PLACE.finditer(sentence))
    if kind == "name":
        return any(_new(m.group(0), known) for m in _NAME_RUN.finditer(sentence))
    return False
