"""Whether a verified answer speaks to the question asked: the relevance hold.

A sentence can be true, cited and checked, and still answer another question ("Leaders … are
attending the summit" for "Who attended the parade?"; the 2019 champion for "Who was the
sponsor's chief executive in 2019?"). ``speaks_to`` reads the supported sentences with the quotes
they cite, what a reader sees around each quote and the question's own names and words; where
only the wording differs, a judge's answer to "do these quotes answer the question?" decides.

    speaks_to(verifier.verify(draft, chunks, question, documents), question, documents, answers=ask_judge)

It does not check support (``verify.py`` does) and calls no model itself (``answers`` may).
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from ..text.dates import DAY_MONTH, MONTH_DAY, YEAR
from ..text.sentences import lead, split_sentences
from ..text.words import LEAD_MARKERS, STOP, YES_NO, content_words, initialisms, named_in_part, names, norm_word, number_words, numbers, speakers, spelled_out, stem, strip_markers, unmatched_names, word_forms
from ..types import Citation
from .verify import Focus, VerifiedAnswer


def speaks_to(verified: VerifiedAnswer, question: str, documents: dict[str, str] | None = None,
              answers: Callable[[str], bool] | None = None) -> bool:
    """Whether the supported sentences, read with the quotes they cite, speak to the question.

    Every name the question gives must be there or in what a reader sees around each quote:
    the article's title, and those of the two sentences before it that the quote refers back
    to or shares a word with ("the summit" after sentences naming Alaska; ``_lent``), an
    initialism counting for its words ("GGI"), and one word of a longer name for
    the whole when the cited article gives the whole ("Modi" for "Narendra Modi"). A name
    found nowhere near: never. And at least half of the question's other content words (not
    its names or numbers) must appear (a true sentence about trade does not answer "what was
    the GDP?"; the champion of a tournament does not answer who its sponsor's chief executive
    was); when fewer do (a reworded question: "held back from giving" for "refrained from
    providing"), ``answers(quotes)``, the judge asked whether the quotes answer the question,
    decides, where one is given. Never an answer: one that only echoes the question, one without
    a figure for "How many …?" (``_counts_nothing``), or one that gives someone else's words when
    the question asks what a named person said. A question in
    two parts ("Where did X go in May, and where did Y meet Z?") is spoken to when one part
    is (``question_parts``): a true answer to half the question is not held back for the other
    half, which the reader sees unanswered."""
    if len(parts := question_parts(question)) > 1:
        return any(speaks_to(verified, part, documents, answers) for part in parts)
    if not YES_NO.match(question) and not adds_to(question, " ".join(s.text for s in verified.supported)):
        return False  # "Carrow Bay [1]." for "Where was the Carrow Bay Classic played?": an echo, not an answer
    if _counts_nothing(question, " ".join(s.text for s in verified.supported)):
        return False
    if _someone_else_speaks(question, verified.citations, documents):
        return False
    text = " ".join([s.text for s in verified.supported] + [c.quote for c in verified.citations])
    said, terms = word_forms(text) | content_words(text), content_words(question)
    around = " ".join([text] + [f"{c.title or ''} {_lent(c, documents, question)}" for c in verified.citations])
    named = word_forms(around) | initialisms(around)
    asked = re.sub(r"^\W*\S+", "", question)  # a question's first word is capitalised anyway ("Besides ...")
    missing = {n for n in names(asked) if n not in named} - spelled_out(asked, named)
    missing -= _lead_places(question, verified.citations, documents) if missing else set()
    if missing:  # only then read the cited articles for the whole names
        articles = " ".join(" ".join((documents or {}).get(source, "").split()) for source in {c.source for c in verified.citations})
        if missing - _named_in_part(asked, around, articles):
            return False
    # The names are all there (above) and the verifier holds the question's numbers to the
    # evidence; the share is of the question's other words, what it asks of them ("the chief
    # executive of the sponsor"): a sentence naming the same event but giving its champion
    # shares the names and none of those words.
    terms -= names(asked) | {stem(n) for n in names(asked)} | numbers(question)
    if not terms or len(terms & said) >= 0.5 * len(terms):
        return True
    quotes = " ".join(c.quote for c in verified.citations)
    return answers is not None and bool(quotes) and answers(quotes)


_POINTS_BACK = re.compile(r"^\W*(?:the|both)\b|\b(?:he|she|it|they|him|her|them|his|its|their|this|these|those|there)\b",
                          re.IGNORECASE)
_DEFINITE = re.compile(r"\b(?:the|this|that|these|those)\s+(\w+)(?:\s+(\w+))?", re.IGNORECASE)


def _refers_back(quote: str, question: str) -> bool:
    """Whether ``quote`` points to something named before it: a pronoun ("He voiced support"),
    a subject it opens with as already known ("The leaders signed …"), or "the" before a word of
    the question, or one word between ("attending the summit" for "the summit in Alaska"; "the
    shipping firm" for "Which firm did …"). A quote that names all it speaks of ("Mayor
    Okafor praised the volunteers") may still take names from a sentence before it about the
    same thing (``_lent``).

    >>> _refers_back("Putin praised Xi's leadership.", "What did Putin say about the Harbour Pact?")
    False
    >>> _refers_back("He voiced support for it.", "What did Putin say about the Harbour Pact?")
    True
    >>> _refers_back("Delegates praised the pact.", "What did Putin say about the Harbour Pact?")
    True
    """
    if _POINTS_BACK.search(quote):
        return True
    asked = {stem(w) for w in word_forms(question)}
    return any(stem(norm_word(w)) in asked for m in _DEFINITE.finditer(quote) for w in m.groups() if w)


def _counts_nothing(question: str, answer: str) -> bool:
    """Whether the question asks "how many" and the answer gives no figure the question does
    not: a date's day or year is no count.

    >>> _counts_nothing("How many leaders did the summit draw?", "Xi opened the summit on Sept. 1, 2025.")
    True
    >>> _counts_nothing("How many leaders did the summit draw?", "It drew over 20 leaders.")
    False
    >>> _counts_nothing("How many leaders did the summit draw?", "It drew twenty.")
    False
    """
    if not re.match(r"^\W*how\s+many\b", question, re.IGNORECASE):
        return False
    undated = answer
    for pattern in (DAY_MONTH, MONTH_DAY, YEAR):
        undated = pattern.sub(" ", undated)
    return not ((numbers(undated) | number_words(undated)) - numbers(question))


def touches(question: str, sentence: str) -> bool:
    """Whether ``sentence`` shares anything with the question: a content word, a number, or a
    name in any form ("Russian" for "Russia").

    >>> touches("When was Burrowlark 3.0 released?", "Upgrading from 2.x requires a one-time data migration.")
    False
    >>> touches("When was Burrowlark 3.0 released?", "The manager said 3.0 was the biggest release.")
    True
    """
    if (content_words(question) | numbers(question)) & (content_words(sentence) | numbers(sentence)):
        return True
    return bool(names(question) - unmatched_names(question, sentence))


_WHY = re.compile(r"\b(?:why|reasons?|how come|what caused|what led)\b", re.IGNORECASE)


def drift(question: str, draft: str) -> int | None:
    """Where a draft turns away from the question: the start of its first sentence after the
    first that shares nothing with the question (``touches``), or None. A small model that has
    answered goes on copying the passage ("Its main new feature is …", "Upgrading from 2.x
    requires …" after the release date asked for); the answer ends where it drifts, and the
    reader gets the answer, not the passage. The sentence that drifts is judged by itself, so
    nothing shown before it changes.

    A question asking why is left alone: its reason may come in a sentence of its own that
    repeats none of its words ("… imposed the tariffs [1]. This was over its purchases of …").

    >>> drift("When was Burrowlark 3.0 released?", "It shipped 3.0 on May 2 [1]. Its main feature is speed [1]. More")
    29
    >>> drift("Why was Burrowlark 3.0 released late?", "It shipped 3.0 on May 2 [1]. Its main feature is speed [1]. More") is None
    True
    """
    if _WHY.search(question):
        return None
    spans = split_sentences(draft)
    for start, end in spans[1:]:
        lead = LEAD_MARKERS.match(draft, start)  # markers opening a span belong to the sentence before
        start = lead.end() if lead else start
        text = strip_markers(draft[start:end])
        if text and not touches(question, text):
            return start
    return None


_SECOND_QUESTION = re.compile(r",?\s+and\s+(?=(?:where|who|whom|what|when|which|why|how)\b)", re.IGNORECASE)


_HOW_MANY = re.compile(r"^\W*how\s+many\s+(?P<noun>(?:[\w’'\-]+\s+){0,3}?)(?=(?:was|were|did|does|do|is|are|has|have|had|will|would|can|could)\b)", re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """A question asking two things, as its two questions; otherwise the question alone. Only
    where the second part is a question by itself (three words or more): "…, and why?" leans on
    the first part. A second "how many" that leaves out what it counts counts what the first
    one does.

    >>> question_parts("Where did Xi go in May, and where did Trump meet Putin?")
    ['Where did Xi go in May?', 'where did Trump meet Putin?']
    >>> question_parts("Whom did Putin meet, and why?")
    ['Whom did Putin meet, and why?']
    >>> question_parts("How many fans did the 2021 final draw, and how many did the 2022 final draw?")[1]
    'how many fans did the 2022 final draw?'
    """
    pieces = _SECOND_QUESTION.split(question.strip(), maxsplit=1)
    if len(pieces) < 2 or len(pieces[1].split()) < 3:
        return [question]
    first, second = pieces[0].rstrip(" ,?") + "?", pieces[1]
    counted, bare = _HOW_MANY.match(first), _HOW_MANY.match(second)
    if counted and bare and counted["noun"].strip() and not bare["noun"].strip():
        second = second[: bare.start("noun")] + counted["noun"] + second[bare.start("noun") :]
    return [first, second]


FULL_NAME = re.compile(r"\b[A-Z][\w’'\-]*(?:\s+[A-Z][\w’'\-]*)+")


def _named_in_part(asked: str, around: str, articles: str) -> set[str]:
    """The words of each longer name in the question ("Narendra Modi", "President Putin") that a
    reader may take as named when ``around`` (the answer, its quotes and what a reader sees
    around them) names it by a part (``named_in_part``: not as a part of another name, "Harbour
    Market Fund" for "Harbour Bridge Fund") and the cited articles give the whole name: an
    article names a person in full once and by one name after."""
    by_part = named_in_part(asked, around)
    covered: set[str] = set()
    for m in FULL_NAME.finditer(asked):
        words = {norm_word(w) for w in m.group(0).split()}
        if words & by_part and re.search(r"\b" + r"\s+".join(map(re.escape, m.group(0).split())) + r"\b", articles):
            covered |= words
    return covered


def _someone_else_speaks(question: str, citations: Sequence[Citation], documents: dict[str, str] | None) -> bool:
    """Whether the question asks for someone's words ("What did Kim Jong Un say …?") and the
    quotes that give their speaker as "he", "she" or "they" all stand for someone else: "He said
    he hoped Xi would …" after a sentence where Trump accused the leaders answers with Trump's
    words, and a reader takes "he" for Kim. A quote that names its speaker ("CEO Samuel
    Ridgeway-Oko announced …" for what Quillfen announced) is left alone: the reader sees who
    spoke, and a company speaks through its people."""
    asked = speakers(question)
    if not asked:
        return False
    voiced = [speakers(c.quote, before=_text_before(c, documents, 1)) for c in citations if not speakers(c.quote)]
    voiced = [v for v in voiced if v]
    return bool(voiced) and all(not (asked & v) for v in voiced)


def adds_to(question: str, answer: str) -> bool:
    """Whether ``answer`` says anything the question did not: a number, a name or a word of its
    own. "Carrow Bay." for "Where was the Carrow Bay Classic played?" only echoes the question.

    >>> adds_to("Where was the Carrow Bay Classic played?", "Carrow Bay.")
    False
    >>> adds_to("Where was the Carrow Bay Classic played?", "At the Lantern Exchange.")
    True
    >>> adds_to("When did trade reach $244.8 billion?", "2024.")
    True
    """
    asked = Focus(names(question), content_words(question), set(), frozenset(numbers(question) | number_words(question)))
    return any(asked.added_by(answer))


def _text_before(c: Citation, documents: dict[str, str] | None, sentences: int) -> str:
    """The ``sentences`` sentences before a quote in its article."""
    return " ".join(_sentences_before(c, documents, sentences))


def _sentences_before(c: Citation, documents: dict[str, str] | None, sentences: int) -> list[str]:
    flat = " ".join((documents or {}).get(c.source, "")[: c.start][-500 * sentences :].split())
    return [flat[a:b] for a, b in split_sentences(flat)[-sentences:]]


_PLACE = re.compile(r"\b(?i:in|at)\s+(?:(?i:the|their|its|his|her|a|an)\s+)?([A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)")


def places(text: str) -> set[str]:
    """The names a text puts something in or at ("met in Moscow", "at their Moscow meeting"),
    normalised as ``word_forms``.

    >>> sorted(places("At their Lisbon meeting, what did Okafor say in Porto about Reyes?"))
    ['lisbon', 'porto']
    """
    return {w for m in _PLACE.finditer(text) for w in word_forms(m.group(1))} - STOP


def _lead_places(question: str, citations: Sequence[Citation], documents: dict[str, str] | None) -> set[str]:
    """The question's places ("… when they met in Moscow?") that the lead of a quote's article
    (``sentences.lead``) gives as the report's place ("In a meeting in Moscow, …"), for a quote
    that refers back (``_refers_back``: "Both leaders emphasized …"), which a later sentence of a
    report leaves out. Only places, and only for the question's places: the lead's people are
    about its own sentences, not the quote's ("Putin met both Xi and Modi during the summit" under
    a lead naming the SCO does not say what Xi asked of it), and the lead's "summit in China" is no
    answer to tariffs "on China"."""
    asked = places(question)
    found: set[str] = set()
    for c in citations:
        if not asked or not _refers_back(c.quote, question):
            continue
        opening = lead((documents or {}).get(c.source, ""), c.title)
        if " ".join(c.quote.split())[:80] not in opening:
            found |= asked & places(opening)
    return found


def _lent(c: Citation, documents: dict[str, str] | None, question: str) -> str:
    """Of the two sentences before a quote, those whose names a reader carries into it: both
    when the quote refers back (``_refers_back``), else
    those about the same thing, sharing a name or word with the quote ("In a meeting in Lisbon, Mayor Okafor …" before "As part of a
    state visit, Okafor is set to …"). A list of the city's other events before "Mayor Okafor
    praised the volunteers" lends it none of their names."""
    before = _sentences_before(c, documents, 2)
    if _refers_back(c.quote, question):
        return " ".join(before)
    about = names(c.quote) | content_words(c.quote)
    return " ".join(s for s in before if (names(s) | content_words(s)) & about)
