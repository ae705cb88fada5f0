"""Check every sentence of a model's answer against the passages it cites.

The model's ``[n]`` is a claim, not a fact. A sentence counts as supported by a passage only if
every number and name in it occurs in that passage (names from the question are allowed, numbers
never) and its content words overlap the passage enough, or its embedding is close enough to one
of the passage's sentences. Citations to passages that were not given are dropped; a sentence its
citation does not support is re-cited to a given passage that does, or marked unsupported. Each
surviving citation is narrowed to the sentence(s) of the article that carry the claim.

This module does not retrieve or prompt; it only judges text against text. Whether the supported
sentences speak to the question asked is ``relevance.py``'s.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..index.embed import Embedder
from ..text.bounds import requalified, stretched
from ..text.sentences import split_sentences
from ..text.slots import YEAR, misattributed, other_readings
from ..text.words import LEAD_MARKERS, MONTHS, NUMBER_WORDS, WORDS, content_words, counted, names, number_words, numbers, speakers, stem, word_forms
from ..types import AnswerSentence, Chunk, Citation
from .constraints import date_numbers
from .judge import SupportJudge

CITE = re.compile(r"\[(?:passages?\s*)?(\d+(?:\s*[,;&]\s*(?:and\s*)?\d+)*)\]", re.IGNORECASE)
REFUSAL = re.compile(
    r"\b(?:articles?|passages?|sources?|context)\b[^.]*\b(?:do(?:es)?n[’']?t|do(?:es)? not|never)\s+(?:say|mention|state|specify|contain|provide|give|include|report)"
    r"|\bno (?:information|mention)\b|\bnot (?:mentioned|stated|specified|provided)\b|\bcannot (?:answer|be determined)\b",
    re.IGNORECASE,
)
# Remarks about the passages themselves ("This information is found in passage 1.", "This is
# supported by passage [1].") are not claims.
META = re.compile(
    r"^(?:(?:this|that|the)\s+(?:information|statement|answer|fact)s?|this|that|it)\s+(?:is|are|was|can be)\s+"
    r"(?:found|supported|stated|mentioned|given|provided)\b[^.]*\bpassages?\b[^.]*[.!]?$",
    re.IGNORECASE,
)


def sentence_before(chunk: Chunk, i: int, documents: dict[str, str] | None) -> str:
    """The sentence before ``chunk.sentences[i]``: from the chunk, or from the article when the
    chunk starts there (so "He said …" can be resolved)."""
    if i > 0:
        return chunk.sentences[i - 1].text
    text = (documents or {}).get(chunk.source, "")[: chunk.sentences[i].start] if chunk.sentences else ""
    flat = " ".join(text[-600:].split())
    spans = split_sentences(flat)
    return flat[spans[-1][0] : spans[-1][1]] if spans else ""


def published_month(published: str | None) -> int | None:
    """``"2025-09-03"`` -> 9; None without a month."""
    found = re.match(r"\d{4}-(\d{2})", published or "")
    return int(found.group(1)) if found else None


def article_heading(claim: str, chunk: Chunk, evidence: str, question: Focus | None) -> str:
    """The article's title as a line to read the quote under, for the judge, or "".

    A claim restates what the question asked about, and a later sentence of a report rarely
    repeats it: "Estelle Varnham chaired the judges of the 2020 Ashcombe Prize" over "Chair of
    judges Estelle Varnham called it …", whose article is headed "The 2020 Ashcombe Prize for
    fiction went to …". The title may lend only that: it is given when the claim repeats a name
    or number of the question that the quote lacks and the title has, and every name and number
    of the claim that the question did not state is in the quote itself, so the answer's own
    people and figures never come from it ("Corin Maddox chaired …" under that heading is not
    given it; Maddox is only in the title). Otherwise "": an unneeded title about another
    matter only distracts a small judge."""
    title = (chunk.title or "").rstrip("…").strip()
    if not title or question is None or title[:60] in evidence:
        return ""
    claim_names, claim_numbers, have_names, have_numbers = names(claim), numbers(claim), word_forms(evidence), numbers(evidence) | number_words(evidence)
    lacking = ((claim_names & question.names) - have_names) | ((claim_numbers & question.numbers) - have_numbers)
    if not lacking & (word_forms(title) | numbers(title)):
        return ""
    own_numbers, own_names, _ = question.added_by(claim)
    if own_names - have_names or own_numbers - have_numbers:
        return ""
    return f"{title} …\n"


def wrong_speaker(claim: str, chunk: Chunk, quote: tuple[int, int], documents: dict[str, str] | None = None) -> str | None:
    """Why the quoted sentences cannot carry ``claim``'s attribution: the claim has one person
    saying something and the quote has someone else saying it ("Putin said …" of Xi's words).
    None when either names no speaker, or they share one."""
    said_by = speakers(claim)
    if not said_by:
        return None
    lo, hi = quote
    before = sentence_before(chunk, lo, documents)
    in_quote = speakers(" ".join(s.text for s in chunk.sentences[lo : hi + 1]), before=before)
    if in_quote and not (said_by & in_quote):
        return f"the passage has {', '.join(sorted(in_quote))} saying it, not {', '.join(sorted(said_by))}"
    return None


JUDGE_LATER = object()  # verify() with this judge leaves sentences that need the judge pending


# "Yes, …" / "No — …" opening a reply: the answer to a yes/no question, before the statement.
ANSWER_WORD = re.compile(r"^\s*(?:yes|no)\s*[,;:—–-]\s*(?=\w)", re.IGNORECASE)


def is_copy(claim: str, quote: str, ratio: float) -> bool:
    """Whether ``claim`` copies ``quote`` (or a stretch of it) nearly word for word: such a
    sentence cannot put the quote's words in a new relation, so the judge is not asked.

    >>> is_copy("Trade reached 244.8 billion U.S. dollars in 2024.", "Trade between China and Russia reached 244.8 billion U.S. dollars in 2024, making China ...", 0.9)
    False
    >>> is_copy("The leaders also signed over 20 cooperation agreements.", "The leaders also signed over 20 cooperation agreements, covering energy.", 0.9)
    True
    """
    a = " ".join(WORDS.findall(claim.lower()))
    b = " ".join(WORDS.findall(quote.lower()))
    if not a:
        return False
    if a in b:
        return True
    match = difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size / len(a) >= ratio


def said_as(claim: str, question: str) -> str:
    """What a claim is checked as. A bare value ("2024 [1].", "Over 20 [1].") has no words to
    hold against a passage, so on its own it is never supported; it says the question's answer
    is that value, and is checked as the question followed by it ("When did trade reach $244.8
    billion: 2024"): the passage must carry the value and the question's words, and the judge
    reads it whole. The answer word of a yes/no reply ("No, the firm made a loss …") is the
    reader's, not the passage's: the statement after it is checked (a small judge reads "No, …"
    as a denial of the passage). Any other claim is checked as written.

    >>> said_as("2024", "When did China-Russia trade reach $244.8 billion?")
    'When did China-Russia trade reach $244.8 billion: 2024'
    >>> said_as("Trade reached $244.8 billion in 2024.", "When did trade reach $244.8 billion?")
    'Trade reached $244.8 billion in 2024.'
    >>> said_as("No, the firm made a loss in 2023.", "Did the firm make a profit in 2023?")
    'The firm made a loss in 2023.'
    """
    if (reply := ANSWER_WORD.match(claim)) and content_words(rest := claim[reply.end():]):
        claim = rest[0].upper() + rest[1:]
    if content_words(claim) or not (numbers(claim) or number_words(claim)):
        return claim
    return f"{question.strip().rstrip('?').rstrip()}: {claim.strip()}"


def is_refusal(text: str) -> bool:
    return bool(REFUSAL.search(text))


@dataclass(frozen=True)
class Claim:
    text: str
    cited: tuple[int, ...]


def parse_answer(text: str) -> list[Claim]:
    """Split a model answer into sentences and their ``[n]`` markers (markers that open a
    sentence belong to the one before it)."""
    text = text.strip()
    pieces = [text[s:e] for s, e in split_sentences(text)]
    claims: list[tuple[str, list[int]]] = []
    for piece in pieces:
        lead = LEAD_MARKERS.match(piece)
        if lead and claims:
            claims[-1][1].extend(_numbers_in(lead.group(0)))
            piece = piece[lead.end():]
        cited = _numbers_in(piece)
        body = re.sub(r"\s+", " ", CITE.sub("", piece)).strip()
        body = re.sub(r"\s+([.,;:!?])", r"\1", body)
        body = re.sub(r"\b([A-Z])\. (?=[A-Z]\.)", r"\1.", body)  # the model writes "U. S."; the text says "U.S."
        if body or cited:
            claims.append((body, cited))
    return [Claim(body, tuple(dict.fromkeys(cited))) for body, cited in claims if body and not META.search(body)]


def _numbers_in(text: str) -> list[int]:
    return [int(n) for group in CITE.findall(text) for n in re.findall(r"\d+", group)]


# Spelled-out counts, as words and stems: "Nine" opening a claim is a number, not a name or a word.
SPELLED = set(NUMBER_WORDS) | {stem(w) for w in NUMBER_WORDS}


@dataclass(frozen=True)
class Focus:
    """What the question contributes: its names, its content words, and every word of the
    retrieved passages (to tell names the corpus knows from names it never mentions)."""

    names: set[str]
    terms: set[str]
    retrieved: set[str]
    numbers: frozenset[str] = frozenset()  # years and figures the question states

    def added_by(self, claim: str) -> tuple[set[str], set[str], set[str]]:
        """What ``claim`` adds to the question: its numbers (spelled-out counts too: "nine" is
        "9", not a word), names and content words that the question did not state (the
        answer's own, as against the question's restated)."""
        return ((numbers(claim) | number_words(claim)) - self.numbers, names(claim) - self.names - SPELLED,
                content_words(claim) - self.terms - SPELLED)


@dataclass(frozen=True)
class Verdict:
    supported: bool
    score: float
    quote: tuple[int, int]  # indices into chunk.sentences, inclusive
    reason: str
    # Lexically sound but for the question's own words ("What did X call Y?" answered from "X
    # repeated narratives that Y was ..."): the semantic judge decides; without a judge, unsupported.
    judge_decides: bool = False


class Verifier:
    """Judges claims against chunks. ``embedder`` supplies the similarity signal."""

    def __init__(self, embedder: Embedder, *, min_overlap: float, min_similarity: float, verbatim_ratio: float = 0.9, exchange_margin: float = 0.05) -> None:
        self.embedder = embedder
        self.exchange_margin = exchange_margin
        self.min_overlap = min_overlap
        self.min_similarity = min_similarity
        self.verbatim_ratio = verbatim_ratio

    def _similarities(self, claims: list[str], chunks: list[Chunk]) -> dict[tuple[int, str], np.ndarray]:
        texts = [s.text for c in chunks for s in c.sentences]
        vectors = self.embedder.encode(claims + texts)
        claim_vecs, sent_vecs = vectors[: len(claims)], vectors[len(claims):]
        out: dict[tuple[int, str], np.ndarray] = {}
        row = 0
        for chunk in chunks:
            block = sent_vecs[row : row + len(chunk.sentences)]
            row += len(chunk.sentences)
            for i in range(len(claims)):
                out[(i, chunk.id)] = block @ claim_vecs[i]
        return out

    def judge(self, claim: str, chunk: Chunk, question: Focus, sims: np.ndarray, documents: dict[str, str] | None = None) -> Verdict:
        words = word_forms(chunk.text)
        passage_words = content_words(chunk.text)
        # The question's year, repeated by the claim, may stand in the article's date rather than
        # its text ("Who won the 2016 election?" over an article dated 2016-10-10 that says
        # "won Sunday's election"), as it may for the question itself below.
        given, dated = numbers(chunk.text), date_numbers(chunk.published)
        missing_numbers = numbers(claim) - given - (question.numbers & dated)
        # A name the question supplied may stand in the claim without being in this passage
        # ("Xi and Putin signed..." citing "The two leaders signed..."), but only if some
        # retrieved passage has it: a question about "GDP" is never answered from trade figures.
        # Likewise the question's month, when it is the article's ("the September 3 report").
        if month := published_month(chunk.published):
            words = words | {n for n in question.names if MONTHS.get(n) == month}
        missing_names = names(claim) - words - (question.names & question.retrieved)
        claim_words = content_words(claim)
        focus_terms = (claim_words & question.terms) - question.names - {stem(n) for n in question.names}
        missing_focus = focus_terms - passage_words
        overlap = len(claim_words & passage_words) / len(claim_words) if claim_words else 0.0
        best_sim = float(sims.max()) if len(sims) else 0.0
        quote = self._quote(claim, chunk, sims, question)
        score = overlap + best_sim - 0.5 * len(missing_numbers) - 0.3 * len(missing_names)
        if missing_numbers:
            return Verdict(False, score, quote, f"numbers not in passage: {', '.join(sorted(missing_numbers))}")
        if stretch := stretched(claim, chunk.text):  # "20 agreements" over "over 20 agreements"
            return Verdict(False, score, quote, f"figure bounded otherwise: {stretch.describe()}")
        # A year or figure the question states must be in the evidence (or its article's date):
        # the 2024 figure does not answer "... in 2019?".
        missing_asked = question.numbers - given - dated
        if missing_asked:
            return Verdict(False, score, quote, f"the question's numbers are not in passage: {', '.join(sorted(missing_asked))}")
        if missing_names:
            return Verdict(False, score, quote, f"names not in passage: {', '.join(sorted(missing_names))}")
        if wrong := wrong_speaker(claim, chunk, quote, documents):
            return Verdict(False, score, quote, wrong)
        if moved := misattributed(claim, chunk.text):  # "Belarusian President Masoud Pezeshkian"
            return Verdict(False, score, quote, f"the passage describes them otherwise: {moved.describe()}")
        if not claim_words:
            return Verdict(False, score, quote, "no content to check")
        if overlap < self.min_overlap and best_sim < self.min_similarity:
            return Verdict(False, score, quote, f"weak support (overlap {overlap:.2f}, similarity {best_sim:.2f})")
        if missing_focus and 3 * len(missing_focus) > len(focus_terms):
            # The judge may settle it only when every name of the claim is in this passage itself: a
            # name excused because the question supplied it ("… trade between China and India …"
            # over a China-Russia figure) is exactly the substitution a small judge misses.
            whole = not (names(claim) - words)
            return Verdict(False, score, quote, f"question terms not in passage: {', '.join(sorted(missing_focus))}", judge_decides=whole)
        return Verdict(True, score, quote, "supported")

    def _quote(self, claim: str, chunk: Chunk, sims: np.ndarray, question: Focus | None = None) -> tuple[int, int]:
        """The sentence that best carries the claim, widened to a neighbour that holds the
        numbers or names the best one lacks. First the sentence holding most of what the claim
        adds to the question (its numbers, names and words that the question did not state):
        "Estelle Varnham chaired the judges of the 2020 Ashcombe Prize" is carried by "Chair of
        judges Estelle Varnham …", not by the lead sentence that shares the question's "2020
        Ashcombe Prize"; then the one sharing most with the whole claim."""
        nums, nms, cw = numbers(claim) | number_words(claim), names(claim) - SPELLED, content_words(claim) - SPELLED
        own = question.added_by(claim) if question else (set(), set(), set())
        counting = counted(claim)

        def carried(s: str) -> set[str]:
            # The claim's numbers in the sentence. "nine books" is not carried by "over nine
            # years": a count must count the same thing there (a year is a date, not a count).
            # A number that counts nothing named ("picked from a shortlist of six") may carry it.
            theirs = counted(s)
            return {v for v in nums & (numbers(s) | number_words(s))
                    if YEAR.fullmatch(v) or not counting.get(v) or not theirs.get(v) or counting[v] & theirs[v]}

        def score(i: int) -> tuple[int, float]:
            s = chunk.sentences[i].text
            given, named, words = carried(s), word_forms(s), content_words(s)
            hit_words = len(cw & words) / len(cw) if cw else 0.0
            adds = len(own[0] & given) + len(own[1] & named) + len(own[2] & words)
            return adds, 2 * len(given) + len(nms & named) + 3 * hit_words + 2 * float(sims[i])

        best = max(range(len(chunk.sentences)), key=score)
        lo = hi = best
        lacking = (numbers(claim) - numbers(chunk.sentences[best].text)) | (nms - word_forms(chunk.sentences[best].text))
        if lacking:
            for j in (best - 1, best + 1):
                if 0 <= j < len(chunk.sentences):
                    text = chunk.sentences[j].text
                    if lacking & (numbers(text) | word_forms(text)):
                        lo, hi = min(lo, j), max(hi, j)
        return lo, hi

    def verify(
        self,
        answer: str,
        chunks: list[Chunk],
        question: str,
        documents: dict[str, str],
        groups: Sequence[Sequence[Chunk]] | None = None,
        judge: SupportJudge | object | None = None,
        cache: dict[tuple[str, str], float] | None = None,
    ) -> VerifiedAnswer:
        """Judge ``answer`` (the model's text citing ``chunks`` as [1]..[k]). With ``groups``,
        passage n stands for every chunk of ``groups[n-1]`` (a story merged with its reprints in
        other articles): a sentence it supports cites each of them that supports it, each with
        its own quote. With ``judge``, a sentence that passes the lexical checks but is not a
        copy of its quote must also be stated by it (with the sentence before, so pronouns
        resolve) according to the judge; ``cache`` keeps its verdicts across calls (streaming
        verifies a growing answer)."""
        members = [list(g) for g in groups] if groups is not None else [[c] for c in chunks]
        every = list({c.id: c for group in members for c in group}.values())
        claims = parse_answer(answer)
        # The bounding word the model dropped before a figure ("signed 20 agreements" over
        # "signed over 20 agreements") is put back from the passages it cites, where they give
        # that figure one way only; what is left changed is judged below and fails.
        claims = [replace(c, text=requalified(c.text, " ".join(ch.text for n in c.cited if 1 <= n <= len(members) for ch in members[n - 1]))) for c in claims]
        factual = [c for c in claims if not is_refusal(c.text)]
        refused_by_model = len(factual) < len(claims)
        focus = Focus(names(question), content_words(question), set().union(*(word_forms(c.text) for c in every)) if every else set(), frozenset(numbers(question)))
        statements = [said_as(c.text, question) for c in factual]  # what each claim is checked as
        sims = self._similarities(statements, every) if factual and every else {}

        def judge_passage(i: int, claim: str, n: int) -> tuple[Verdict, list[tuple[Chunk, Verdict]]]:
            judged = [(c, self.judge(claim, c, focus, sims[(i, c.id)], documents)) for c in members[n - 1]]
            if judge is not None:  # the judge settles what only the question's own words held back
                judged = [(c, replace(v, supported=True) if v.judge_decides else v) for c, v in judged]
            best = max(judged, key=lambda cv: (cv[1].supported, cv[1].score))[1]
            return best, [(c, v) for c, v in judged if v.supported]

        by_key: dict[tuple[str, int, int], Citation] = {}
        sentences: list[AnswerSentence] = []
        pending: int | None = None
        for i, claim in enumerate(factual):
            verdicts = {n: judge_passage(i, statements[i], n) for n in claim.cited if 1 <= n <= len(members)}
            good = [n for n, (v, _) in verdicts.items() if v.supported]
            if not good:
                others = {n: judge_passage(i, statements[i], n) for n in range(1, len(members) + 1) if n not in verdicts}
                supported = [n for n, (v, _) in others.items() if v.supported]
                if supported:
                    best = max(supported, key=lambda n: others[n][0].score)
                    good, verdicts = [best], {**verdicts, **others}
            if good and judge is not None:
                stated = {n: self._stated(statements[i], verdicts[n][1], judge, {} if cache is None else cache, documents, focus) for n in good}
                if pending is None and not any(v is True for v in stated.values()) and any(v is None for v in stated.values()):
                    pending = i  # needs the judge, which is busy writing the answer: decided later
                good = [n for n, v in stated.items() if v]
            numbers_out = []
            cited = [(chunk, verdict) for n in good for chunk, verdict in verdicts[n][1]]
            if len(cited) > 1:  # each citation shown must hold up by its own quote
                alone = [(c, v) for c, v in cited if self._quote_alone(statements[i], c, v, focus, sims[(i, c.id)], documents, judge)]
                cited = alone or [max(cited, key=lambda cv: cv[1].score)]
            for chunk, verdict in cited:
                lo, hi = verdict.quote
                start, end = chunk.sentences[lo].start, chunk.sentences[hi].end
                key = (chunk.source, start, end)
                if key not in by_key:
                    by_key[key] = Citation(
                        n=len(by_key) + 1,
                        source=chunk.source,
                        start=start,
                        end=end,
                        quote=documents[chunk.source][start:end],
                        published=chunk.published,
                        published_inferred=chunk.published_inferred,
                        title=chunk.title,
                        url=chunk.url,
                        author=chunk.author,
                        site=chunk.site,
                    )
                numbers_out.append(by_key[key].n)
            sentences.append(AnswerSentence(claim.text, tuple(dict.fromkeys(numbers_out)), bool(good)))
        return VerifiedAnswer(tuple(sentences), tuple(by_key.values()), refused_by_model, pending)

    def _quote_alone(self, claim: str, chunk: Chunk, verdict: Verdict, question: Focus, sims: np.ndarray,
                     documents: dict[str, str] | None, judge: SupportJudge | object | None) -> bool:
        """Whether the quote chosen from ``chunk`` carries ``claim`` by itself, by the same lexical
        checks read on the quoted sentences alone rather than the whole passage, and sharing at
        least ``min_overlap`` of the claim's words (a similar sentence is not enough for a
        citation beside another). A passage passes on words spread over its sentences; the reader
        sees only the quote, so a second citation whose quote says something else ("Xi introduced
        his GGI …" beside "He voiced support for the GGI … a deficit in global governance") must
        not be shown."""
        lo, hi = verdict.quote
        part = chunk.sentences[lo : hi + 1]
        text = " ".join(s.text for s in part)
        words = content_words(claim)
        if words and len(words & content_words(text)) < self.min_overlap * len(words):
            return False
        alone = self.judge(claim, replace(chunk, text=text, sentences=part), question, sims[lo : hi + 1], documents)
        return alone.supported or (alone.judge_decides and judge is not None)

    def _stated(self, claim: str, supporters: list[tuple[Chunk, Verdict]], judge: SupportJudge | object, cache: dict[tuple[str, str], float],
                documents: dict[str, str] | None = None, question: Focus | None = None) -> bool | None:
        """Whether one of the lexically supporting quotes states ``claim``: a near-verbatim copy
        does; otherwise the judge must say yes. The best quote is asked first. With
        ``judge=JUDGE_LATER`` (the model is busy writing), None: not decided yet."""
        for chunk, verdict in supporters:
            lo, hi = verdict.quote
            quote = " ".join(s.text for s in chunk.sentences[lo : hi + 1])
            if not verdict.judge_decides and is_copy(claim, quote, self.verbatim_ratio):
                return True
            context = (sentence_before(chunk, lo, documents) + " ").lstrip()
            context = article_heading(claim, chunk, context + quote, question) + context
            key = (claim, context + quote)
            if key not in cache:
                if not isinstance(judge, SupportJudge):
                    return None
                cache[key] = judge.support([claim], [context + quote])[0]
            if cache[key] >= self.supported_at(judge) and not self._reads_other_way(claim, context + quote, cache[key], judge, cache):
                return True
        return False

    def _reads_other_way(self, claim: str, evidence: str, p: float, judge: SupportJudge | object, cache: dict[tuple[str, str], float]) -> bool:
        """Whether the judge, asked again with the claim's two names in different roles
        exchanged or its relation reversed (``slots.other_readings``: "Oyelaran defeated Tamsin"
        -> "Tamsin defeated Oyelaran"; "a day after" -> "a day before"), rates that reading
        higher than the claim by more than ``exchange_margin``: the evidence then says it the
        other way round. A small judge passes both readings of "who did what to whom"; asked
        both, it compares them."""
        if not isinstance(judge, SupportJudge):
            return False
        for other in other_readings(claim):
            key = (other, evidence)
            if key not in cache:
                cache[key] = judge.support([other], [evidence])[0]
            if cache[key] > p + self.exchange_margin:
                return True
        return False

    @staticmethod
    def supported_at(judge: SupportJudge | object) -> float:
        return judge.supported_at if isinstance(judge, SupportJudge) else 0.5


@dataclass(frozen=True)
class VerifiedAnswer:
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    refused_by_model: bool
    pending: int | None = None  # first sentence left for the judge (verified with JUDGE_LATER)

    @property
    def settled(self) -> tuple[AnswerSentence, ...]:
        """The supported sentences before the first one still waiting for the judge: final."""
        upto = len(self.sentences) if self.pending is None else self.pending
        return tuple(s for s in self.sentences[:upto] if s.supported)

    @property
    def supported(self) -> tuple[AnswerSentence, ...]:
        return tuple(s for s in self.sentences if s.supported)

    def render(self) -> str:
        """Supported sentences with their markers placed before the final punctuation."""
        return " ".join(render_sentence(s) for s in self.supported)


def render_sentence(s: AnswerSentence) -> str:
    """``"Xi opened it."`` citing 1 -> ``"Xi opened it [1]."``"""
    marks = "".join(f"[{n}]" for n in s.citations)
    m = re.match(r"^(.*?)([.!?]*[\"'”’)]*)$", s.text, re.DOTALL)
    body, tail = (m.group(1), m.group(2)) if m else (s.text, "")
    return f"{body} {marks}{tail or '.'}"
