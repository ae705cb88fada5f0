"""The values a factual sentence pins down (year, month, weekday, number, name, negation), and
where a claim and a piece of evidence give different values of the same kind.

"Trade reached $244.8 billion in 2023" against "… reached 244.8 billion U.S. dollars in 2024":
the same statement with one value changed (the year) is a contradiction. Against "… in 2024"
with another figure as well, two values differ: the evidence is about something else (another
year's trade), and says nothing of the claim.

    conflicts("Trump and Putin met in Helsinki on Aug. 15.", "Trump met Putin in Anchorage, Alaska, on Aug. 15.")
    -> [Conflict(kind="name", said=("helsinki",), given=("alaska", "anchorage"))]

Words only: no model, no list of entities. The caller decides what a conflict means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .words import MONTHS, WEEKDAYS, content_words, names, norm_word, numbers, stem, unmatched_names

YEAR = re.compile(r"\b(?:19|20)\d\d\b")
NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without|denied|denies|deny|refused|refuses|refuse|"
                      r"refrained|refrains|refrain|avoided|avoids|declined|declines|failed|fails)\b|n[’']t\b", re.IGNORECASE)
KINDS = ("year", "month", "weekday", "number", "name")


@dataclass(frozen=True)
class Conflict:
    kind: str  # one of KINDS, or "negation"
    said: tuple[str, ...]  # the claim's values the evidence lacks
    given: tuple[str, ...]  # the evidence's values of that kind the claim lacks

    def describe(self) -> str:
        if self.kind == "negation":
            return "the evidence says the opposite" if self.given else "the evidence negates it"
        return f"the evidence gives {', '.join(self.given)}, not {', '.join(self.said)}"


def values(text: str, published: str | None = None) -> dict[str, set[str]]:
    """The text's values of each kind. ``published`` (YYYY-MM-DD) adds the year of publication
    when the text dates something by month, day or weekday without a year ("on Sept. 3")."""
    capitalised = {norm_word(t.rstrip(".")) for t in re.findall(r"\b[A-Z][a-z]+\.?", text)}
    months = {m for m in capitalised if m in MONTHS}
    weekdays = {d for d in capitalised if d in WEEKDAYS}
    years = set(YEAR.findall(text))
    if not years and (months or weekdays) and published and YEAR.match(published[:4]):
        years = {published[:4]}
    return {
        "year": years,
        "month": {str(MONTHS[m]) for m in months},
        "weekday": weekdays,
        "number": numbers(text) - set(YEAR.findall(text)),
        "name": names(text) - set(MONTHS) - set(WEEKDAYS),
    }


def conflicts(claim: str, evidence: str, published: str | None = None) -> list[Conflict]:
    """Kinds of value the claim gives that the evidence gives differently. A name counts only
    when the claim's name is nowhere in the evidence in any form (``words.unmatched_names``) and
    the evidence names someone or something the claim does not."""
    said, given = values(claim), values(evidence, published)
    out = []
    for kind in KINDS:
        lacking = said[kind] - given[kind]
        if kind == "name":
            lacking &= unmatched_names(claim, evidence)  # not even as "Russian", "U.S." or in lower case
            other = given[kind] & unmatched_names(evidence, claim)
        else:
            other = given[kind] - said[kind]
        if lacking and other:
            out.append(Conflict(kind, tuple(sorted(lacking)), tuple(sorted(other))))
    if bool(NEGATION.search(claim)) != bool(NEGATION.search(evidence)):
        out.append(Conflict("negation", (), ("negated",) if NEGATION.search(evidence) else ()))
    return out


def shared_share(claim: str, evidence: str) -> float:
    """Share of the claim's content words, values left out, that the evidence has too: how
    far the two sentences say the same thing apart from their values."""
    said = values(claim)
    pinned = {stem(v) for kind in ("name", "month", "weekday") for v in said[kind]}
    rest = content_words(NEGATION.sub(" ", claim)) - pinned  # a negation is a value, not a word to share
    if not rest:
        return 0.0
    return len(rest & content_words(evidence)) / len(rest)
