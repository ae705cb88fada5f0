"""What makes the context news-aware: reprints merged, disagreements found, dates ranked.

* ``build_context`` turns retrieved chunks into context passages. A sentence that another
  article already carries near-verbatim (a wire story reprinted; MiniLM similarity at least
  ``reprint_similarity``) is shown once, in its fuller wording, and the passage keeps both
  chunks as members, so the verifier cites both files, each with its own quote. A chunk that is
  mostly a reprint of an earlier passage joins it instead of taking a slot of its own.
* ``find_conflicts`` pairs sentences of different articles that report the same event with a
  different place ("summit … in Beijing" / "summit in Tianjin"), number ("20 agreements" / "30
  agreements") or day. ``relevant_conflicts`` keeps those the question asks about, and
  ``disagreement_claims`` turns them into model-style text made only of the two quoted sentences,
  which the engine verifies like any answer.
* ``time_boost`` multiplies the fused score of chunks dated as the question's time expression;
  ``anchor_query`` dates the event of "before the parade" from the chunks that name it.

Nothing here calls the LLM or renders prompts; the engine does both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..index.embed import Embedder
from ..index.retrieve import Retrieved
from ..text.dates import TimeQuery, mentions, parse_iso
from ..text.words import MONTH_NAMES, WEEKDAYS, YES_NO, content_words, numbers
from ..types import AnswerSentence, Chunk, Conflict, Hit, Sentence
from .verify import VerifiedAnswer

PLACE = re.compile(r"\b(?:in|at)\s+(?P<place>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)")
NOT_PLACES = {*MONTH_NAMES, *WEEKDAYS, "the", "a", "an", "this", "that", "his", "her", "their", "its"}
CONTAINED = re.compile(r"\b(?:in|at)\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?,\s+(?P<region>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b")
WHERE = re.compile(r"\b(?:where|(?:which|what) (?:city|country|place)|location|held|hosted|was host|take place|took place|venue)\b", re.IGNORECASE)
WHEN = re.compile(r"\b(?:when|what (?:date|day)|which (?:date|day))\b", re.IGNORECASE)
HOW_MANY = re.compile(r"\bhow (?:many|much)\b", re.IGNORECASE)


@dataclass(frozen=True)
class NewsContext(Retrieved):
    """A ``Retrieved`` whose ``chunks`` are context passages: passage ``n`` shows the sentences in
    ``chunks[n-1]`` (a reprinted sentence once, in its fuller wording, so a passage may show a
    sentence of another article; its offsets are then into that article) and stands for every
    chunk in ``members[chunks[n-1].id]``, which is what the verifier judges and cites. Keyed by
    id, so trimming or dropping passages (``dataclasses.replace``) keeps the mapping right."""

    shown_from: dict[Sentence, Chunk] = field(default_factory=dict)  # the chunk a shown sentence is from


def groups_for(found: Retrieved, chunks: tuple[Chunk, ...] | list[Chunk] | None = None) -> list[list[Chunk]]:
    """The chunks each passage stands for, for ``Verifier.verify(..., groups=...)``."""
    return [list(found.members.get(c.id, (c,))) for c in (found.chunks if chunks is None else chunks)]


def passage_sources(found: Retrieved, chunk: Chunk) -> tuple[Chunk, ...]:
    """One member chunk per article of a passage, first retrieved first (for its header)."""
    seen: dict[str, Chunk] = {}
    for c in found.members.get(chunk.id, (chunk,)):
        seen.setdefault(c.source, c)
    return tuple(seen.values())


class SentenceVectors:
    """MiniLM vectors of article sentences, computed once per sentence and kept."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._cache: dict[tuple[str, int, int], np.ndarray] = {}

    def of(self, items: list[tuple[Sentence, Chunk]]) -> np.ndarray:
        keys = [(c.source, s.start, s.end) for s, c in items]
        missing = list({k: s.text for k, (s, _) in zip(keys, items) if k not in self._cache}.items())
        if missing:
            vectors = self.embedder.encode([t for _, t in missing])
            self._cache.update({k: v for (k, _), v in zip(missing, vectors)})
        return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, self.embedder.dim), dtype=np.float32)


@dataclass
class Passage:
    """A context passage while it is being built: the chunks it stands for (first retrieved
    first), the sentences it shows with the chunk each is from, and the hit that placed it."""

    members: list[Chunk]
    shown: list[tuple[Sentence, Chunk]]
    hit: Hit


def _richer(a: Sentence, b: Sentence) -> bool:
    """Whether ``b`` says more than ``a`` (more content words the other lacks)."""
    wa, wb = content_words(a.text), content_words(b.text)
    return len(wb - wa) > len(wa - wb)


def _other_values(a: str, b: str) -> bool:
    """Whether each sentence has a number the other lacks: "X won the 2022 Classic" and "Y won
    the 2020 Classic" are two editions (or a disagreement), not one wire sentence reprinted,
    however alike their wording. A number only one of them gives (a date added) is a reprint."""
    na, nb = numbers(a), numbers(b)
    return bool(na - nb) and bool(nb - na)


def build_context(found: Retrieved, k: int, vectors: SentenceVectors, *, reprint_similarity: float) -> NewsContext:
    """Group the retrieved chunks (best first) into at most ``k`` passages, merging reprints."""
    passages: list[Passage] = []
    for chunk, hit in zip(found.chunks, found.hits):
        items = [(s, chunk) for s in chunk.sentences]
        earlier = [(p_i, j, sc) for p_i, p in enumerate(passages) for j, sc in enumerate(p.shown) if sc[1].source != chunk.source]
        duplicates: dict[int, tuple[int, int]] = {}  # sentence index -> (passage, shown index)
        if earlier and items:
            sims = vectors.of(items) @ vectors.of([sc for _, _, sc in earlier]).T
            for i in range(len(items)):
                j = int(np.argmax(sims[i]))
                if sims[i, j] >= reprint_similarity and not _other_values(items[i][0].text, earlier[j][2][0].text):
                    duplicates[i] = earlier[j][:2]
        for i, (p_i, j) in duplicates.items():
            target = passages[p_i]
            if chunk not in target.members:
                target.members.append(chunk)
            if _richer(target.shown[j][0], items[i][0]):
                target.shown[j] = items[i]
        rest = [items[i] for i in range(len(items)) if i not in duplicates]
        homes = sorted({p_i for p_i, _ in duplicates.values()})
        if duplicates and (not rest or (len(homes) == 1 and 2 * len(duplicates) >= len(items))):
            passages[homes[0]].shown.extend(rest)  # mostly a reprint: the rest joins that passage
            continue
        if len(passages) < k:
            passages.append(Passage([chunk], rest, hit))
    chunks, members, shown_from = [], {}, {}
    for p in passages:
        primary = p.members[0]
        sentences = tuple(s for s, _ in p.shown)
        chunks.append(replace(primary, text=" ".join(s.text for s in sentences), sentences=sentences))
        members[primary.id] = tuple(p.members)
        shown_from.update({s: c for s, c in p.shown})
    return NewsContext(
        hits=tuple(p.hit for p in passages),
        chunks=tuple(chunks),
        best_similarity=found.best_similarity,
        members=members,
        shown_from=shown_from,
    )


# -- disagreements --------------------------------------------------------------------------

def _places(text: str) -> dict[str, str]:
    """place -> the content word just before "in/at <Place>" (skipping numbers and brackets)."""
    out = {}
    for m in PLACE.finditer(text):
        place = m["place"]
        if place.split()[0].lower() in NOT_PLACES:
            continue
        before = re.findall(r"[A-Za-z]+", re.sub(r"\([^)]*\)|\d+", " ", text[: m.start()]))
        if before:
            out[place] = before[-1].lower()
    return out


def _unit_numbers(text: str) -> dict[str, set[str]]:
    """number -> the content words of the three words after it ("20 cooperation agreements")."""
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"\d+(?:[.,]\d+)*", text):
        value = numbers(m.group(0))
        after = " ".join(text[m.end():].split()[:3])
        if value:
            out.setdefault(next(iter(value)), set()).update(content_words(after))
    return out


def _day_dates(sentence: Sentence, chunk: Chunk) -> set[str]:
    return {d.iso() for d in mentions(sentence.text, chunk.published) if d.day is not None and d.year}


def _conflict(a: tuple[Sentence, Chunk], b: tuple[Sentence, Chunk], similarity: float, same_story: float) -> Conflict | None:
    (sa, ca), (sb, cb) = a, b
    pa, pb = _places(sa.text), _places(sb.text)
    shared_names = content_words(" ".join(re.findall(r"\b[A-Z][A-Za-z]+", sa.text))) & content_words(" ".join(re.findall(r"\b[A-Z][A-Za-z]+", sb.text)))
    for place_a, head_a in pa.items():
        for place_b, head_b in pb.items():
            if head_a == head_b and place_a != place_b and head_a not in {"in", "at"} and shared_names - {head_a}:
                if place_a not in sb.text and place_b not in sa.text:
                    return Conflict("place", head_a, (place_a, place_b), a, b)
    if similarity < same_story:
        return None
    na, nb = _unit_numbers(sa.text), _unit_numbers(sb.text)
    for value_a, units_a in na.items():
        for value_b, units_b in nb.items():
            if value_a != value_b and units_a & units_b and value_a not in nb and value_b not in na:
                return Conflict("number", sorted(units_a & units_b)[0], (value_a, value_b), a, b)
    da, db = _day_dates(sa, ca), _day_dates(sb, cb)
    if da and db and not da & db:
        return Conflict("date", "date", (min(da), min(db)), a, b)
    return None


def find_conflicts(context: NewsContext, vectors: SentenceVectors, *, topic_similarity: float, same_story: float) -> tuple[Conflict, ...]:
    """Pairs of shown sentences from different articles that disagree (first per pair of
    values). ``topic_similarity``: least similarity for a place conflict; ``same_story``: for
    numbers and dates, which need near-identical sentences."""
    items = [(s, context.shown_from.get(s, c)) for c in context.chunks for s in c.sentences]
    if len(items) < 2:
        return ()
    # "in Tianjin, China" shows China contains Tianjin: a region is no rival to a city in it.
    regions = {m["region"] for s, _ in items for m in CONTAINED.finditer(s.text)}
    sims = vectors.of(items) @ vectors.of(items).T
    found: dict[tuple[str, frozenset[str]], Conflict] = {}
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i][1].source == items[j][1].source or sims[i, j] < topic_similarity:
                continue
            conflict = _conflict(items[i], items[j], float(sims[i, j]), same_story)
            if conflict is not None and not (conflict.kind == "place" and regions & set(conflict.values)):
                found.setdefault((conflict.kind, frozenset(conflict.values)), conflict)
    return tuple(found.values())


def _year(chunk: Chunk) -> set[str]:
    """The year of the chunk's article date, as ``numbers`` writes it (not its month or day: a
    version 3 is not "stated" by an article of March)."""
    return {chunk.published[:4]} if chunk.published and chunk.published[:4].isdigit() else set()


def relevant_conflicts(conflicts: tuple[Conflict, ...], question: str) -> list[Conflict]:
    """Conflicts about what the question asks: its topic word is in the question and the
    question asks for that kind of value (where / when / how many), or asks yes or no about one
    of the values ("Was the summit held in Tianjin?"), and both sentences are about what it
    states (its years and numbers are in each, or the year in its article's date): "When was
    version 3.0 released?" is not disputed by the 2.0 release's day. A value named to say which
    event is meant does not make the question about it: "When did Xi open the summit in
    Tianjin?" asks a date, and the place the articles dispute is not stated beside the answer."""
    terms = content_words(question)
    stated = numbers(question)
    out = []
    for c in conflicts:
        if not all(stated <= numbers(s.text) | _year(chunk) for s, chunk in (c.first, c.second)):
            continue
        named = any(v.lower() in question.lower() for v in c.values)
        asks = {"place": WHERE, "date": WHEN, "number": HOW_MANY}[c.kind].search(question)
        if (c.topic in terms or c.kind == "date") and (asks or (named and YES_NO.match(question))):
            out.append(c)
    return out


def disagreement_claims(conflicts: list[Conflict]) -> tuple[str, list[Chunk]]:
    """Model-style text citing both sides of each conflict with the articles' own sentences, and
    the chunks its ``[n]`` refer to, for the verifier. Made only of quoted sentences."""
    lines, chunks = [], []
    for c in conflicts:
        for sentence, chunk in (c.first, c.second):
            chunks.append(chunk)
            lines.append(f"{sentence.text.rstrip().rstrip('.')} [{len(chunks)}].")
    return " ".join(lines), chunks


# -- dates in ranking -------------------------------------------------------------------------

def chunk_matches(chunk: Chunk, query: TimeQuery) -> bool:
    """Whether a sentence of the chunk names a date the query asks about, or (for a day or
    month) the article was published then."""
    if any(query.matches(m) for m in mentions(chunk.text, chunk.published)):
        return True
    day = parse_iso(chunk.published)
    if day is None or query.relation != "on" or query.month is None:
        return False
    return day.month == query.month and (query.day is None or day.day == query.day) and (query.year in (None, day.year))


def anchor_query(anchor: tuple[str, str], chunks: list[Chunk]) -> TimeQuery | None:
    """For ``("before", "parade")`` of "before the parade": the date of the earliest dated
    sentence of ``chunks`` naming the event (a sentence without a date takes its article's), as a
    ``TimeQuery``."""
    relation, event = anchor
    words = content_words(event)
    if not words:
        return None
    dates = []
    for chunk in chunks:
        for s in chunk.sentences:
            if words <= content_words(s.text):
                named = [m for m in mentions(s.text, chunk.published) if m.day and m.year]
                day = (named[0].year, named[0].month, named[0].day) if named else None
                published = parse_iso(chunk.published)
                day = day or ((published.year, published.month, published.day) if published else None)
                if day:
                    dates.append(day)
    if not dates:
        return None
    y, m, d = min(dates)
    return TimeQuery(relation, y, m, d, f"{relation} the {event}")


def time_boost(query: TimeQuery | None, factor: float):  # noqa: ANN201 - a Callable[[Chunk], float] or None
    if query is None or factor == 1.0:
        return None
    return lambda chunk: factor if chunk_matches(chunk, query) else 1.0


def append_disagreement(answer: VerifiedAnswer, extra: VerifiedAnswer) -> tuple[VerifiedAnswer, str]:
    """``answer`` followed by the verified sentences of ``disagreement_claims`` (citations
    renumbered, shared quotes kept once), and the text to show: the answer's supported
    sentences, then ``The articles disagree: “A” [n] versus “B” [m].``"""
    citations = list(answer.citations)
    by_key = {(c.source, c.start, c.end): c for c in citations}
    renumber = {}
    for c in extra.citations:
        key = (c.source, c.start, c.end)
        if key not in by_key:
            by_key[key] = replace(c, n=len(citations) + 1)
            citations.append(by_key[key])
        renumber[c.n] = by_key[key].n
    added = [replace(s, citations=tuple(renumber[n] for n in s.citations)) for s in extra.sentences]
    combined = VerifiedAnswer(answer.sentences + tuple(added), tuple(citations), answer.refused_by_model)

    def quoted(s: AnswerSentence) -> str:
        return f"“{s.text.rstrip('.')}” " + "".join(f"[{n}]" for n in s.citations)

    sides = "; ".join(f"{quoted(a)} versus {quoted(b)}" for a, b in zip(added[::2], added[1::2]))
    head = answer.render() if answer.supported else ""
    return combined, f"{head} The articles disagree: {sides}.".strip()
