"""How exactly a text gives each of its numbers: "over 20", "about 20", "up to 20" or plain "20".

A claim that drops or changes the word before a figure changes the fact: "The leaders signed 20
agreements" is not what "The leaders signed over 20 agreements" says, though every word and
number of the claim is in the evidence, and a small judge passes it.

    bounds("The leaders signed over 20 agreements and 12 accords.")
    -> {"20": {Bound("more", "over")}, "12": {Bound("exact", "")}}
    stretched("They signed 20 agreements.", "They signed over 20 agreements.")
    -> Stretch(value="20", said="20", given=("over 20",))
    requalified("They signed 20 agreements.", "They signed over 20 agreements.")
    -> "They signed over 20 agreements."

Years (1900-2099 written without a comma, as ``slots.YEAR``) are left out: "over 2023" is a comparison, not a
bound. Words only: no model, no list of entities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .slots import YEAR
from .words import NUMBER_WORDS, STOP, norm_word, numbers, stem

# The words before a figure that bound it, by the kind of bound they set.
_BEFORE = {
    "more": ("more than", "over", "above", "in excess of", "upwards of", "exceeding", "greater than", "just over", "well over", "well above"),
    "at_least": ("at least", "no fewer than", "no less than", "not less than", "a minimum of"),
    "less": ("less than", "fewer than", "under", "below", "nearly", "almost", "just under", "just below", "short of", "shy of"),
    "at_most": ("up to", "as many as", "no more than", "not more than", "at most", "a maximum of"),
    "about": ("about", "around", "approximately", "roughly", "some", "an estimated", "close to", "circa", "an approximate"),
}
# The words after a figure that bound it ("20-plus", "20 or more", "20-odd").
_AFTER = {"at_least": ("plus", "or more", "and more", "or above", "and above"), "about": ("odd", "or so")}
# Which bounds of the evidence a claim's bound is true of: "at least 20" is true of "20" and of
# "over 20"; a plain "20" only of a plain "20"; "about 20" of any of them.
FITS = {
    "exact": {"exact"},
    "more": {"more"},
    "at_least": {"exact", "more", "at_least"},
    "less": {"less"},
    "at_most": {"exact", "less", "at_most"},
    "about": {"exact", "more", "at_least", "less", "at_most", "about"},
}


def _alternatives(phrases: dict[str, tuple[str, ...]]) -> str:
    every = sorted((p for ps in phrases.values() for p in ps), key=len, reverse=True)
    return "|".join(r"\s+".join(map(re.escape, p.split())) for p in every)


_WORD_NUMBERS = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
FIGURE = re.compile(
    rf"(?:\b(?P<before>{_alternatives(_BEFORE)})\s+)?"
    r"(?P<figure>(?:(?:US|U\.S\.|A|C|HK)?[$€£¥]\s?)?"
    rf"(?:(?<![\w.,])\d+(?:[.,]\d+)*(?![\w]|[.,]\d)|\b(?:{_WORD_NUMBERS})\b))"
    rf"(?:(?P<after>-(?:plus|odd)|\s+(?:{_alternatives(_AFTER)}))\b)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Bound:
    kind: str  # "exact" or a key of _BEFORE / _AFTER
    words: str  # the bounding words as written ("over", "-plus"), "" for a plain figure
    counts: frozenset[str] = frozenset()  # stems of the two content words after the figure, if any


@dataclass(frozen=True)
class Stretch:
    """A figure the claim bounds otherwise than the evidence does."""

    value: str
    said: str  # the claim's figure with its bounding words ("20", "more than 20")
    given: tuple[str, ...]  # the evidence's ("over 20",)

    def describe(self) -> str:
        return f"the evidence says {' or '.join(f'“{g}”' for g in self.given)}, not “{self.said}”"


def _value(figure: str) -> str | None:
    digits = re.sub(r"^\D+", "", figure)
    if not digits:
        return NUMBER_WORDS.get(figure.lower())
    if YEAR.fullmatch(digits):
        return None
    return next(iter(numbers(digits)), None)  # "1,200" -> "1200", "21.0" -> "21", as everywhere


def _kind(before: str | None, after: str | None) -> str:
    for words, table in ((before, _BEFORE), (after, _AFTER)):
        if words:
            said = " ".join(words.lower().lstrip("-").split())
            return next(kind for kind, phrases in table.items() if said in phrases)
    return "exact"


_TOKEN = re.compile(r"[A-Za-z’']+|\d+(?:[.,]\d+)*")


def _counted(text: str, end: int) -> frozenset[str]:
    """What the figure ending at ``end`` counts: the stems of the words among the next three that
    are not stop words ("20 cooperation agreements" -> {"cooper", "agreement"}), as ``counts``."""
    tokens = _TOKEN.findall(text[end : end + 80])[:3]
    return frozenset(stem(norm_word(t)) for t in tokens if not t[0].isdigit() and norm_word(t) not in STOP)


def _figures(text: str) -> list[tuple[re.Match[str], str, Bound]]:
    out = []
    for m in FIGURE.finditer(text):
        value = _value(m["figure"])
        if value is not None:
            words = (m["before"] or m["after"] or "").strip()
            out.append((m, value, Bound(_kind(m["before"], m["after"]), words, _counted(text, m.end()))))
    return out


def _mentions(given: dict[str, set[Bound]], value: str, bound: Bound) -> set[Bound]:
    """The evidence's mentions of ``value`` that may be the claim's: those counting what the
    claim's counts (a word in common), or else those counting nothing ("two leaders" is not
    "almost two decades"); every mention when the claim's figure counts nothing."""
    have = given.get(value, set())
    if not bound.counts:
        return have
    return {b for b in have if b.counts & bound.counts} or {b for b in have if not b.counts}


def bounds(text: str) -> dict[str, set[Bound]]:
    """Each figure of ``text`` (years left out) -> how the text bounds it, each way it does."""
    return _by_value(_figures(text))


def _by_value(figures: list[tuple[re.Match[str], str, Bound]]) -> dict[str, set[Bound]]:
    out: dict[str, set[Bound]] = {}
    for _, value, bound in figures:
        out.setdefault(value, set()).add(bound)
    return out


def stretched(claim: str, evidence: str) -> Stretch | None:
    """A figure that both give, bounded in the claim in a way no mention of it in the evidence
    bears out ("20" or "more than 20" against the evidence's "nearly 20"), or None. A figure
    the evidence lacks is not this check's business."""
    given = bounds(evidence)
    for m, value, bound in _figures(claim):
        have = _mentions(given, value, bound)
        if have and not any(b.kind in FITS[bound.kind] for b in have):
            shown = sorted({f"{b.words} {value}".strip() if b.kind in _BEFORE else f"{value} {b.words}".strip() for b in have})
            return Stretch(value, " ".join(m.group(0).split()), tuple(shown))
    return None


def requalified(claim: str, evidence: str) -> str:
    """``claim`` with the evidence's bounding words put back before each plain figure that the
    evidence gives bounded one way only ("signed 20 agreements" over "signed over 20
    agreements" -> "signed over 20 agreements"; the first wording where the evidence has two
    for that bound, "over" and "more than"); the claim unchanged where that is not so."""
    found = _figures(evidence)
    given = _by_value(found)
    first = {}  # (value, kind) -> the bounding words of the evidence's first such mention
    for _, value, bound in found:
        first.setdefault((value, bound.kind), bound.words.lower())
    out, last = [], 0
    for m, value, bound in _figures(claim):
        kinds = {b.kind for b in _mentions(given, value, bound)}
        if bound.kind != "exact" or len(kinds) != 1 or not kinds <= set(_BEFORE):
            continue
        word = first[(value, kinds.pop())]
        start = m.start("figure")
        figure = m["figure"]
        if claim[:start].strip():
            out.append(claim[last:start] + f"{word} {figure}")
        else:  # the figure opened the sentence: "Over twenty …"
            out.append(claim[last:start] + f"{word.capitalize()} " + (figure.lower() if figure.isalpha() else figure))
        last = m.end("figure")
    out.append(claim[last:])
    return "".join(out)
