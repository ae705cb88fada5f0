"""Fact-check one claim against the articles: supported, contradicted, or not found.

    check = ClaimChecker(retriever, embedder, judge, documents, top_k=4, candidates=3, supported_at=0.75, contradicted_at=0.4, same_rest=0.6)
    check("Xi made a state visit to Moscow in May").to_dict()
    -> {"claim": …, "verdict": "supported", "evidence": [citation], "explanation": …}

Steps: retrieve passages for the claim; take the sentences closest to it (each shown to the judge
with the sentence before it, so "he" and "the leaders" resolve); ask the judge, once per
sentence, whether it states the claim, makes it false, or does not say. A lexical veto keeps the
judge honest: a claim with a number or name that its evidence does not contain is never
"supported" by that evidence. The evidence is returned as citations shaped as in ``ask``, each
quote the file's text at ``[start:end]``.

This module does not generate text; its only model calls are the judge's three-way questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..index.embed import Embedder
from ..index.retrieve import Retriever
from ..text.bounds import stretched
from ..text.sentences import lead
from ..text.slots import Conflict, conflicts, misattributed, other_readings, shared_share, with_name
from ..text.words import counts, number_words, numbers, speakers, unmatched_names
from ..types import Chunk, Citation, ClaimCheck
from .judge import JudgeVerdict, SupportJudge
from .verify import sentence_before


@dataclass(frozen=True)
class Candidate:
    """A sentence that may bear on the claim, with the one before it as context."""

    chunk: Chunk
    index: int  # sentence index in the chunk
    similarity: float

    @property
    def text(self) -> str:
        return self.chunk.sentences[self.index].text

    def evidence(self, documents: dict[str, str]) -> str:
        return f"{sentence_before(self.chunk, self.index, documents)} {self.text}".strip()

    def heading(self, documents: dict[str, str]) -> str:
        """The article's title and its first two sentences, its lead: in news they say who and
        where the report is about ("In a high-profile meeting in Moscow, …"), which later
        sentences leave out ("The two leaders convened on Thursday …")."""
        opening = lead(documents.get(self.chunk.source, ""), window=800)
        return ". ".join(t for t in ((self.chunk.title or "").rstrip("…").strip(), opening) if t)

    def citation(self, n: int, documents: dict[str, str]) -> Citation:
        s = self.chunk.sentences[self.index]
        c = self.chunk
        return Citation(n, c.source, s.start, s.end, documents[c.source][s.start : s.end], c.published, c.published_inferred, c.title, c.url, c.author, c.site)


def count_conflict(claim: str, evidence: str) -> str | None:
    """A count the evidence gives differently ("seven guiding principles" against "five guiding
    principles"), or bounds otherwise ("20 agreements" against "over 20 agreements":
    ``bounds.stretched``): the claim is contradicted whatever the judge says."""
    said, given = counts(claim), counts(evidence)
    for word, value in said.items():
        if word in given and given[word] != value:
            return f"the evidence counts {given[word]}, not {value}"
    if stretch := stretched(claim, evidence):
        return stretch.describe()
    return None


def lexical_veto(claim: str, evidence: str, title: str = "") -> str | None:
    """Why ``evidence`` cannot state ``claim`` (a number or name it lacks, or another speaker), or
    None. Names may also come from ``title``, the article's heading (``Candidate.heading``: its
    title and lead): it says who "the two leaders" of a sentence are, and where they met.
    Numbers must be in the evidence itself."""
    given = numbers(evidence) | number_words(evidence)
    missing_numbers = (numbers(claim) | number_words(claim)) - given  # "ten years" against "15 years"
    if missing_numbers:
        return f"number not in the evidence: {', '.join(sorted(missing_numbers))}"
    if stretch := stretched(claim, evidence):
        return stretch.describe()
    missing_names = unmatched_names(claim, f"{title}. {evidence}" if title else evidence)
    if missing_names:
        return f"name not in the evidence: {', '.join(sorted(missing_names))}"
    said_by, in_evidence = speakers(claim), speakers(evidence)
    if said_by and in_evidence and not (said_by & in_evidence):
        return f"the evidence has {', '.join(sorted(in_evidence))} saying it"
    return None


DATE_KINDS = {"year", "month", "day", "weekday"}


def another_occasion(found: list[Conflict]) -> bool:
    """A sentence that differs from the claim in a date and in another value speaks of another
    occasion (last year's figure), so it neither contradicts nor supports the claim."""
    return len(found) >= 2 and any(c.kind in DATE_KINDS for c in found)


class ClaimChecker:
    def __init__(self, retriever: Retriever, embedder: Embedder, judge: SupportJudge, documents: dict[str, str], *, top_k: int, candidates: int,
                 supported_at: float, contradicted_at: float, same_rest: float, exchange_margin: float = 0.05) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.judge = judge
        self.documents = documents
        self.top_k = top_k
        self.candidates = candidates
        self.supported_at = supported_at  # least P(true) of the three-way answer
        self.contradicted_at = contradicted_at  # least P(false), which must also lead the other two
        self.same_rest = same_rest  # share of the claim's other words a one-value conflict needs
        self.exchange_margin = exchange_margin  # how far the claim read with two roles exchanged must lead

    def candidates_for(self, claim: str) -> list[Candidate]:
        found = self.retriever.retrieve(claim, self.top_k)
        pairs = [(c, i) for c in found.chunks for i in range(len(c.sentences))]
        if not pairs:
            return []
        vectors = self.embedder.encode([claim] + [c.sentences[i].text for c, i in pairs])
        sims = vectors[1:] @ vectors[0]
        order = np.argsort(-sims)
        seen: set[str] = set()
        out: list[Candidate] = []
        for j in order:
            chunk, i = pairs[int(j)]
            key = " ".join(chunk.sentences[i].text.lower().split())
            if key in seen:  # the same sentence in two overlapping chunks or a reprint
                continue
            seen.add(key)
            out.append(Candidate(chunk, i, float(sims[int(j)])))
            if len(out) == self.candidates:
                break
        return out

    def __call__(self, claim: str) -> ClaimCheck:
        candidates = self.candidates_for(claim)
        if not candidates:
            return ClaimCheck(claim, "not_found", (), "No article in the index bears on this claim.")
        evidence = [c.evidence(self.documents) for c in candidates]
        return self.decide(claim, candidates, self.judge.verdicts([claim] * len(candidates), evidence))

    def other_way_round(self, claim: str, evidence: str, verdict: JudgeVerdict) -> JudgeVerdict | None:
        """The judge's verdict on the claim with two names in different roles exchanged or its
        relation reversed (``slots.other_readings``: "Beijing accuses Kyiv …" -> "Kyiv accuses
        Beijing …"; "a day after" -> "a day before"), when the evidence states that reading
        (``supported_at``) and the judge rates it above the claim by more than
        ``exchange_margin``; else None. A small judge passes both readings of who did what to
        whom; asked both, it compares them."""
        readings = other_readings(claim)
        for turned in self.judge.verdicts(readings, [evidence] * len(readings)) if readings else []:
            if turned.true >= self.supported_at and turned.true > verdict.true + self.exchange_margin:
                return turned
        return None

    def prefers_given_name(self, claim: str, conflict: Conflict, evidence: str, verdict: JudgeVerdict) -> bool:
        """Whether the judge rates the claim with the evidence's name in place of the claim's
        (one word each: ``slots.with_name``) higher than the claim by more than
        ``exchange_margin``. "Beijing" for China reads about as well either way; "Putin" for the
        sentence's "Xi" does not."""
        other = with_name(claim, conflict)
        if other is None:
            return False
        return self.judge.verdicts([other], [evidence])[0].true > verdict.true + self.exchange_margin

    def decide(self, claim: str, candidates: list[Candidate], verdicts: list[JudgeVerdict]) -> ClaimCheck:
        """The verdict from the judge's three-way answers and the lexical checks, in order:
        the best sentence read better with two roles exchanged (``other_way_round``):
        contradicted; a sentence that describes someone of the claim otherwise and gives the
        claim's describing word to another (``slots.misattributed``): contradicted; stated by a
        sentence (the judge's "true" at ``supported_at``, no missing number or name, and no one
        changed name that the judge reads better put back: ``prefers_given_name``);
        another count, another speaker or one changed value (a year, date, name or a negation),
        the rest of the claim the same in that sentence (a name only when the judge does not
        read the sentence as stating the claim): contradicted; the judge's "false" at
        ``contradicted_at`` and above its other two answers, unless that sentence is about
        another occasion (a date and another value differ): contradicted; else not found."""
        evidence = [c.evidence(self.documents) for c in candidates]
        allowed = [lexical_veto(claim, e, c.heading(self.documents)) is None for c, e in zip(candidates, evidence)]
        best = max(range(len(candidates)), key=lambda i: (allowed[i], verdicts[i].true))
        if allowed[best] and (turned := self.other_way_round(claim, evidence[best], verdicts[best])):
            cite = candidates[best].citation(1, self.documents)
            return ClaimCheck(claim, "contradicted", (cite,), f"The articles have it the other way round: “{cite.quote}” [1]", turned.true)
        for c in candidates:
            # a describing word given to the wrong person of a list ("Belarusian President
            # Masoud Pezeshkian"): every word is in the sentence, so the judge passes it
            if moved := misattributed(claim, c.text):
                cite = c.citation(1, self.documents)
                return ClaimCheck(claim, "contradicted", (cite,), f"The articles say otherwise ({moved.describe()}): “{cite.quote}” [1]", 1.0)
        if allowed[best] and verdicts[best].true >= self.supported_at:
            cite = candidates[best].citation(1, self.documents)
            # A name the sentence gives otherwise may have passed through the article's title;
            # the judge reading the sentence's own name better marks it as changed.
            changed = conflicts(claim, candidates[best].text, candidates[best].chunk.published)
            if len(changed) == 1 and self.prefers_given_name(claim, changed[0], evidence[best], verdicts[best]):
                return ClaimCheck(claim, "contradicted", (cite,), f"The articles say otherwise ({changed[0].describe()}): “{cite.quote}” [1]", 1.0)
            return ClaimCheck(claim, "supported", (cite,), f"The articles state it: “{cite.quote}” [1]", verdicts[best].true)
        differing = [conflicts(claim, e, c.chunk.published) for c, e in zip(candidates, evidence)]
        for i, e in enumerate(evidence):
            # another count of the same thing, unless a date differs too (another year's figure)
            if (why := count_conflict(claim, e)) and not {c.kind for c in differing[i]} & DATE_KINDS:
                cite = candidates[i].citation(1, self.documents)
                return ClaimCheck(claim, "contradicted", (cite,), f"The articles give another number ({why}): “{cite.quote}” [1]", 1.0)
        said_by, closest = speakers(claim), evidence[0]
        if said_by and (others := speakers(closest)) and not (said_by & others) and shared_share(claim, closest) >= self.same_rest:
            cite = candidates[0].citation(1, self.documents)
            return ClaimCheck(claim, "contradicted", (cite,), f"The articles have someone else saying it: “{cite.quote}” [1]", 1.0)
        for i, c in enumerate(candidates):
            # One value changed, the rest the same, within the sentence itself: the sentence
            # before is context for the judge ("he"), not the other half of a match; with it, a
            # sentence about something else shares the claim's words with its neighbour and
            # "differs" in a name that is merely another person or place.
            found = conflicts(claim, c.text, c.chunk.published)
            # A name the sentence lacks while the judge reads it as stating the claim is more
            # often another way of naming ("Beijing" for China, "the two leaders") than a change.
            # Unless the judge reads the claim with the sentence's name put back better still: then
            # the name is a substitution ("Putin was set to take part in the parade" of Xi), not
            # another way of naming.
            renamed = (found and found[0].kind == "name" and verdicts[i].true > 0.5  # more likely than not
                       and not self.prefers_given_name(claim, found[0], evidence[i], verdicts[i]))
            # A bare number that differs may count something else ("31 rounds", "15 years"):
            # numbers contradict through ``count_conflict``, which compares what they count.
            if len(found) == 1 and found[0].kind != "number" and not renamed and shared_share(claim, c.text) >= self.same_rest:
                cite = c.citation(1, self.documents)
                return ClaimCheck(claim, "contradicted", (cite,), f"The articles say otherwise ({found[0].describe()}): “{cite.quote}” [1]", 1.0)
        gainsaying = [i for i, v in enumerate(verdicts)
                      if not another_occasion(differing[i]) and v.false >= self.contradicted_at and v.false > max(v.true, v.unknown)]
        if gainsaying:
            worst = max(gainsaying, key=lambda i: verdicts[i].false)
            cite = candidates[worst].citation(1, self.documents)
            return ClaimCheck(claim, "contradicted", (cite,), f"The articles say otherwise: “{cite.quote}” [1]", verdicts[worst].false)
        return ClaimCheck(claim, "not_found", (), "No passage in the articles states or contradicts this claim; the closest sentences did not bear it out.", verdicts[best].true)
