"""The values a factual sentence pins down (year, month, day, weekday, number, name, negation), and
where a claim and a piece of evidence give different values of the same kind.

"Trade reached $244.8 billion in 2023" against "… reached 244.8 billion U.S. dollars in 2024":
the same statement with one value changed (the year) is a contradiction. Against "… in 2024"
with another figure as well, two values differ: the evidence is about something else (another
year's trade), and says nothing of the claim.

    conflicts("Trump and Putin met in Helsinki on Aug. 15.", "Trump met Putin in Anchorage, Alaska, on Aug. 15.")
    -> [Conflict(kind="name", said=("helsinki",), given=("alaska", "anchorage"))]

It also writes the other readings of a claim that a judge should rate below the claim when the
evidence states it: two parties exchanged ("Tamsin defeated Oyelaran" for "Oyelaran defeated
Tamsin"), the relation reversed ("after" for "before"), the evidence's name put back.

Words only: no model, no list of entities. The caller decides what a conflict means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .words import MONTHS, STOP, WEEKDAYS, content_words, names, norm_word, numbers, stem, unmatched_names

YEAR = re.compile(r"\b(?:19|20)\d\d\b")
NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without|denied|denies|deny|refused|refuses|refuse|"
                      r"refrained|refrains|refrain|avoided|avoids|declined|declines|failed|fails)\b|n[’']t\b", re.IGNORECASE)
KINDS = ("year", "month", "day", "weekday", "number", "name")
_MONTH = "|".join(sorted((m.capitalize() for m in MONTHS), key=len, reverse=True))
# The day of a date written with its month ("Aug. 15", "15 August"): part of the date, not a count.
_DAY = re.compile(rf"\b(?:{_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH})\b")


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
    days = {a or b for a, b in _DAY.findall(text)}
    return {
        "year": years,
        "month": {str(MONTHS[m]) for m in months},
        "day": days,
        "weekday": weekdays,
        "number": numbers(text) - set(YEAR.findall(text)) - days,
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
    if {"month", "day"} <= {c.kind for c in out}:  # "Aug. 15" for "Sept. 1": one date, changed
        out = [c for c in out if c.kind != "day"]
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


_WORD = r"[A-Z][\w’'\-.]*"  # a capitalised word
_NAME_PHRASE = re.compile(rf"{_WORD}(?:\s+(?:&\s+)?{_WORD})*")
# Between two names of one thing ("Helga Tamsin of the Civic Harbour Party"): one phrase.
_OF = re.compile(r"^\s*(?:of|of\s+the|’s|'s)\s*$")
# Between two names of one role ("Xi and Putin", "Xi, Putin"): exchanging them changes no role.
_SAME_ROLE = re.compile(r"^\s*(?:,|and|or|&|,\s*and|,\s*or)\s*$")


def _name_phrases(text: str) -> list[tuple[int, int]]:
    """Spans of the text's names: runs of capitalised words, less a capitalised stop word that
    opens the text ("The", "In") and runs that are only months or weekdays."""
    out = []
    for m in _NAME_PHRASE.finditer(text):
        start, words = m.start(), m.group(0).split()
        while words and (norm_word(words[0].rstrip(".")) in STOP and start == len(text) - len(text.lstrip())):
            start += len(words[0])
            start += len(text[start:]) - len(text[start:].lstrip())
            words = words[1:]
        end = m.end()
        if words and words[-1].endswith(".") and not re.fullmatch(r"(?:[A-Z]\.)+", words[-1]):
            end -= 1  # the sentence's full stop, not an initialism's ("U.S.")
        if words and not all(norm_word(w.rstrip(".")) in MONTHS or norm_word(w.rstrip(".")) in WEEKDAYS or norm_word(w) in STOP for w in words):
            if out and _OF.match(text[out[-1][1] : start]):
                out[-1] = (out[-1][0], end)
            else:
                out.append((start, end))
    return out


def exchanged(claim: str) -> str | None:
    """The claim with its first two names that hold different roles exchanged ("Oyelaran
    defeated Tamsin" -> "Tamsin defeated Oyelaran"), or None when it has no such pair. Names
    joined by "and", a comma or "of" share a role ("Xi and Putin signed …") and are not
    exchanged. A judge that rates the exchanged claim higher than the claim itself reads the
    evidence the other way round: who did what to whom is what a small judge misses, and
    asking it both ways makes it compare.

    >>> exchanged("Rupert Oyelaran defeated Helga Tamsin in the 2012 election.")
    'Helga Tamsin defeated Rupert Oyelaran in the 2012 election.'
    >>> exchanged("Xi and Putin signed more than 20 agreements.") is None
    True

    A possessive stays where it stood, with the name now there:

    >>> exchanged("Russia has backed China's oil trade.")
    "China has backed Russia's oil trade."
    """
    spans = _name_phrases(claim)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        first, second = claim[a0:a1], claim[b0:b1]
        if _SAME_ROLE.match(claim[a1:b0]) or names(first) & names(second):
            continue
        (first, first_s), (second, second_s) = _possessive(first), _possessive(second)
        return claim[:a0] + second + first_s + claim[a1:b0] + first + second_s + claim[b1:]
    return None


def _possessive(name: str) -> tuple[str, str]:
    """``"China's"`` -> ``("China", "'s")``; a name without one -> ``(name, "")``."""
    found = re.search(r"[’']s?$", name)
    return (name[: found.start()], found.group(0)) if found and found.start() > 0 else (name, "")


# Words whose opposite, put in their place, states the reverse relation: data, not a chain of ifs.
OPPOSITES = {a: b for x, y in (
    ("before", "after"), ("earlier", "later"), ("won", "lost"), ("wins", "loses"), ("win", "lose"),
    ("rose", "fell"), ("rises", "falls"), ("increased", "decreased"), ("higher", "lower"), ("more", "fewer"),
    ("above", "below"), ("largest", "smallest"), ("biggest", "smallest"), ("ahead", "behind"), ("profit", "loss"),
    ("surplus", "deficit"), ("supported", "opposed"), ("accepted", "rejected"),
) for a, b in ((x, y), (y, x))}
_OPPOSITE = re.compile(r"\b(" + "|".join(sorted(OPPOSITES, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def reversed_relation(claim: str) -> str | None:
    """The claim with its first relation word put as its opposite ("a day after" -> "a day
    before", "rose" -> "fell"), or None when it has none (``OPPOSITES``). Like ``exchanged``:
    the reading a small judge should rate below the claim when the evidence states the claim.

    >>> reversed_relation("Xi arrived a day after the parade.")
    'Xi arrived a day before the parade.'
    >>> reversed_relation("Xi arrived on Monday.") is None
    True
    """
    found = _OPPOSITE.search(claim)
    if found is None:
        return None
    word = found.group(1)
    other = OPPOSITES[word.lower()]
    other = other.capitalize() if word[0].isupper() else other
    return claim[: found.start()] + other + claim[found.end() :]


def other_readings(claim: str) -> list[str]:
    """The claim's readings a judge must rate below it: two parties exchanged, the relation
    reversed (``exchanged``, ``reversed_relation``)."""
    return [r for r in (exchanged(claim), reversed_relation(claim)) if r is not None]


# Where one mention of a person or thing in a list ends and the next begins: "A, B and C",
# "including A", "such as B".
_MENTION_BREAK = re.compile(r"[,;:()]|\band\b|\bor\b|\bincluding\b|\bsuch as\b|\bamong them\b|\balongside\b|\bwith\b")
_CAPITALISED = re.compile(_WORD)
_RUN = re.compile(rf"{_WORD}(?:\s+{_WORD})*")  # capitalised words with only spaces between them


def _mentions(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each named mention in the text as (head, the words before it): the last word of a run of
    capitalised words, and the run's other words in order ("Iranian President Masoud Pezeshkian"
    -> ("pezeshkian", ("iranian", "president", "masoud"))). A run ends at a comma, "and",
    "including" and the like, so each person of "A, B and C" has his own words."""
    out = []
    for part in _MENTION_BREAK.split(text):
        for m in _RUN.finditer(part):
            *run, head = (norm_word(w.rstrip(".")) for w in m.group(0).split())
            before = tuple(w for w in run if w and w not in STOP)
            if head and head not in STOP and before:
                out.append((head, before))
    return out


def misattributed(claim: str, evidence: str) -> Conflict | None:
    """A describing word the claim gives someone that the evidence uses elsewhere, while it
    describes that one otherwise: "Belarusian President Masoud Pezeshkian" against "…, Belarusian
    dictator Alexander Lukashenko, Iranian President Masoud Pezeshkian …". Every word of the claim
    is in the evidence, so overlap and a small judge pass it; the words are in the wrong places.
    One mention is the same one in both when its last two words are ("Masoud Pezeshkian"; not
    "Global Governance Initiative" and "Global Development Initiative"). None when the claim
    describes no one the evidence names, or the evidence describes him the same way or not at all.

    >>> misattributed("Belarusian President Masoud Pezeshkian attended.", "Leaders included Belarusian dictator Alexander Lukashenko and Iranian President Masoud Pezeshkian.")
    Conflict(kind='name', said=('belarusian',), given=('iranian',))
    >>> misattributed("Iranian President Masoud Pezeshkian attended.", "Leaders included Belarusian dictator Alexander Lukashenko and Iranian President Masoud Pezeshkian.") is None
    True
    """
    given = _mentions(evidence)
    capitalised = {norm_word(w.rstrip(".")) for w in _CAPITALISED.findall(evidence)}
    for head, said in _mentions(claim):
        for theirs_all in (words for h, words in given if h == head and words[-1] == said[-1]):
            # a word of the claim's that the evidence has elsewhere, and one it has here instead
            moved, theirs = (set(said[:-1]) - set(theirs_all)) & capitalised, set(theirs_all[:-1]) - set(said)
            if moved and theirs:
                return Conflict("name", tuple(sorted(moved)), tuple(sorted(theirs)))
    return None


def with_name(claim: str, conflict: Conflict) -> str | None:
    """The claim with the evidence's name in place of its own, for a name conflict of one word
    each (``conflicts``); None otherwise.

    >>> with_name("Putin led the parade.", Conflict("name", ("putin",), ("xi",)))
    'Xi led the parade.'
    """
    if conflict.kind != "name" or len(conflict.said) != 1 or len(conflict.given) != 1:
        return None
    said, given = conflict.said[0], conflict.given[0]
    found = re.search(rf"\b{re.escape(said)}\b", claim, re.IGNORECASE)
    if found is None:
        return None
    return claim[: found.start()] + given.capitalize() + claim[found.end() :]
