"""The front door: ``Assistant`` ties index, retrieval, prompting, the LLM and verification.

    assistant = Assistant.from_settings(Settings(index_dir="index"))
    answer = assistant.ask("How many agreements did Xi and Putin sign?")

``stream`` yields the model's tokens as they come and then exposes the checked ``Answer``.
The LLM is loaded on first use, so ``search`` never pays for it. Safe to share across threads:
the index is read-only and each backend serialises what must be serialised.

The ask path is ``_run``, read top to bottom; each stage lives in its own module (prompt,
compact, news, articles, verify, result). This module builds no prompt text and judges nothing.
"""

from __future__ import annotations

import functools
import re
import threading
import time
import unicodedata
from dataclasses import replace
from typing import Callable, Generator, Iterator, Sequence

from ..errors import LLMError, QuestionError
from ..index.embed import Embedder, make_embedder
from ..index.retrieve import ArticleFilter, Retrieved
from ..index.store import IndexData
from ..index.stores import document_texts, make_retriever, open_index
from ..llm.base import LLM, Messages
from ..llm.factory import make_llm
from ..settings import Settings
from ..text.dates import TimeQuery, date_label, event_phrase, parse_time_query
from ..text.sentences import split_sentences
from ..text.words import LEAD_MARKERS, strip_markers
from ..types import Answer, ClaimCheck, Hit
from . import articles, news
from .compact import Compacted, ContextBudget, compact
from .prompt import chat_messages, format_passages, user_message
from .result import NO_SUPPORT, build_answer
from .check import ClaimChecker
from .constraints import combine, constraint_boost
from .judge import Scorer, SupportJudge
from .pick import pick, whole_sentence
from .parts import is_refusal, join_answers, shift_markers, unanswered
from .relevance import drift, question_parts, speaks_to
from .verify import JUDGE_LATER, VerifiedAnswer, Verifier, render_sentence

History = Sequence[tuple[str, str]]
Run = Generator[str, None, Answer]  # yields verified pieces of the answer, returns the Answer
ANCHOR_CANDIDATES = 50  # BM25 matches searched for the date of an event named in a question


class AnswerStream:
    """Iterate for the model's raw tokens; ``answer`` holds the checked result afterwards.

    It owns the generator that answers: iterating runs it, and the ``Answer`` it returns is kept
    (``consume`` runs it to the end). Nothing outside writes its fields."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        answer = yield from self._run
        if answer is not None:  # None: the run had already finished under an earlier iteration
            self.answer = answer

    def consume(self) -> Answer:
        for _ in self:
            pass
        assert self.answer is not None  # returned by the run when it ends
        return self.answer


def clean_question(question: str, max_chars: int) -> str:
    """Strip control characters and outer whitespace; reject empty or over-long questions."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuestionError("the question is empty; type a question about the articles")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text)} characters long; the limit is {max_chars} (setting max_question_chars)")
    return text


class Assistant:
    """The engine: retrieve, compose the evidence, generate, verify, build the ``Answer``."""

    def __init__(self, settings: Settings, index: IndexData, embedder: Embedder, llm: LLM | None = None, judge_scorer: Scorer | None = None, *, article_filter: ArticleFilter | None = None) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.retriever = make_retriever(index, embedder, candidate_k=settings.candidate_k, rrf_k=settings.rrf_k, article_filter=article_filter)
        self.sentence_vectors = news.SentenceVectors(embedder)
        self.verifier = Verifier(embedder, min_overlap=settings.support_overlap, min_similarity=settings.support_similarity, verbatim_ratio=settings.judge_verbatim_ratio,
                                 exchange_margin=settings.judge_exchange_margin)
        self.documents: dict[str, str] = document_texts(index)  # type: ignore[assignment]  # lazy for PostgreSQL
        self._llm = llm
        self._judge_scorer = judge_scorer  # None: the answering model judges too
        self._llm_lock = threading.Lock()
        self._articles = articles.Collaborators(
            settings=settings,
            index=index,
            retriever=self.retriever,
            verifier=self.verifier,
            documents=self.documents,
            generate=self.generate,
            search=self.search,
            time_query=self.time_query,
            judge=lambda: self.judge,
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, embedder: Embedder | None = None, llm: LLM | None = None, judge_scorer: Scorer | None = None) -> Assistant:
        settings = settings or Settings()
        embedder = embedder or make_embedder(settings)
        index = open_index(settings, embedder)  # settings.store: FAISS files or PostgreSQL
        return cls(settings, index, embedder, llm, judge_scorer)

    @property
    def judge_scorer(self) -> Scorer | None:
        """The model given to judge support, or None when the answering model judges too."""
        return self._judge_scorer

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = make_llm(self.settings)
            return self._llm

    # -- retrieval -------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None) -> list[Hit]:
        query = clean_question(query, self.settings.max_question_chars)
        boost = combine(news.time_boost(self.time_query(query), self.settings.time_boost), constraint_boost(query, self.settings.constraint_boost))
        return list(self.retriever.retrieve(query, k or self.settings.top_k, boost=boost).hits)

    def time_query(self, question: str) -> TimeQuery | None:
        """The time the question asks about: a date it names ("on September 1"), or the date of
        the event it names ("before the parade"), found among the BM25 matches for that event
        rather than by reading every chunk (which took seconds per question at 100k chunks).
        The question is parsed once."""
        explicit = parse_time_query(question)
        if explicit is not None:
            return explicit
        anchor = event_phrase(question)
        if anchor is None:
            return None
        return news.anchor_query(anchor, self.retriever.lexical(anchor[1], ANCHOR_CANDIDATES))

    def context(self, query: str) -> news.NewsContext:
        """Retrieve for ``query`` with passages dated as its time expression ranked higher, merge
        reprinted passages and find where the articles disagree (see ``news.py``)."""
        s = self.settings
        boost = combine(news.time_boost(self.time_query(query), s.time_boost), constraint_boost(query, s.constraint_boost))
        found = self.retriever.retrieve(query, s.top_k + s.extra_candidates, boost=boost)
        context = news.build_context(found, s.top_k, self.sentence_vectors, reprint_similarity=s.reprint_similarity)
        conflicts = news.find_conflicts(context, self.sentence_vectors, topic_similarity=s.conflict_similarity, same_story=s.same_story_similarity)
        return replace(context, conflicts=conflicts)

    def compact(self, query: str, found: Retrieved) -> Compacted:
        """The passages to show the model: only their sentences that support ``query`` when
        ``context_compaction`` is on (a shorter prompt, a sooner first token; see ``compact.py``)."""
        if not self.settings.context_compaction:
            return Compacted(found, found, ())
        return compact(query, found, self.embedder, ContextBudget.from_settings(self.settings))

    def sources(self) -> list[articles.SourceInfo]:
        """The articles of the index: file, title, publication date (and whether inferred), size."""
        return articles.sources(self.index)

    # -- answering -------------------------------------------------------------------------
    def ask(self, question: str) -> Answer:
        return self.stream(question).consume()

    def chat(self, history: History, question: str) -> Answer:
        return self.stream(question, history=history).consume()

    def stream(self, question: str, history: History | None = None) -> AnswerStream:
        question = clean_question(question, self.settings.max_question_chars)
        return AnswerStream(self._run(question, list(history or [])))

    def generate(self, messages: Messages) -> Iterator[str]:
        """The model's tokens for ``messages``, with the answer limits of the settings."""
        s = self.settings
        return self.llm.stream(messages, max_tokens=s.llm_max_tokens, temperature=s.llm_temperature, timeout=s.llm_timeout_s)

    def rewrite(self, history: History, question: str) -> str:
        """Turn a follow-up into a standalone question using the conversation."""
        turns = "\n".join(f"User: {u}\nAssistant: {strip_markers(a)}" for u, a in history[-3:])
        text = "".join(self.generate(user_message("condense", history=turns, question=question))).strip()
        text = text.splitlines()[0].strip().strip('"') if text else ""
        return text if 3 <= len(text) <= self.settings.max_question_chars else question

    def build_messages(self, question: str, found: Retrieved, template: str = "answer") -> Messages:
        """The chat for ``template`` with ``found``'s passages, fenced (``prompt.format_passages``)."""
        published = [
            ", ".join(date_label(m.published, m.published_inferred) for m in news.passage_sources(found, c)) for c in found.chunks
        ]
        return chat_messages(template, passages=format_passages(found.chunks, published), question=question)

    def _run(self, question: str, history: list[tuple[str, str]]) -> Run:
        """The ask path, top to bottom: standalone question -> plan -> retrieve -> compose the
        evidence -> generate -> verify -> ``Answer``."""
        timings: dict[str, float] = {}
        began = time.perf_counter()
        standalone = None
        query = question
        if history:
            standalone = self.rewrite(history, question)
            query = standalone
            timings["rewrite_s"] = time.perf_counter() - began
        if self.settings.split_questions and len(parts := question_parts(query)) > 1:
            answer = yield from self._in_parts(question, standalone, parts, timings, began)
            return answer
        plan = articles.classify(query)
        if plan is not None:  # "Which articles mention ...", "Summarise the article about ...", "What happened on ..."
            # Article answers are verified whole; the summary's raw draft is never shown.
            answer = yield from _silently(articles.answer(self._articles, plan, query if standalone else question, standalone, timings, began))
            yield answer.answer
            return answer

        t = time.perf_counter()
        found = self.context(query)
        timings["retrieve_s"] = time.perf_counter() - t
        if not found.chunks or found.best_similarity < self.settings.min_dense_score:
            yield NO_SUPPORT
            return build_answer(question, standalone, NO_SUPPORT, timings, began, refused=True, closest=found.hits[:3])
        shown = self.compact(query, found)
        check = self._checker(query, found, shown)

        # Stream verified sentences: each sentence of the draft is checked once the next one
        # starts (or the draft ends), and only supported ones are shown, from the moment the
        # supported ones speak to the question (``relevance.speaks_to``: a true sentence about
        # another matter is held back). Nothing shown is taken back: the verdict on a sentence
        # does not depend on the sentences after it.
        t = time.perf_counter()
        # The judge asked whether quotes answer the question, once per quotes for this answer. It
        # runs on the answering model, so not while the model is still writing (``final``).
        asks = functools.cache(functools.partial(self._answers, query))
        out = _Shown(ready=lambda v, final: speaks_to(v, query, self.documents, answers=asks if final else None))
        pieces: list[str] = []
        checked_upto = 0
        tokens = self.generate(self.build_messages(query, shown.prompt))
        try:
            for token in tokens:
                if not pieces:
                    timings["first_token_s"] = time.perf_counter() - began
                pieces.append(token)
                draft = "".join(pieces)
                cut = complete_prefix(draft)
                if cut > checked_upto:
                    if self.settings.stop_at_drift and (turn := drift(query, draft[:cut])) is not None:
                        pieces = [draft[:turn]]  # the answer ends where the draft leaves the question
                        break
                    # The model is busy writing: copies of their quotes are shown now, a sentence
                    # that needs the judge (and every one after it) once the draft is finished.
                    checked_upto = cut
                    yield from out.more(check(draft[:cut], later=True), timings, began, final=False)
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:  # stops the model's work on a draft left early
                close()
        timings["generate_s"] = time.perf_counter() - t
        t = time.perf_counter()
        checked = check("".join(pieces))
        yield from out.more(checked, timings, began)
        timings["verify_s"] = time.perf_counter() - t
        if not (checked.supported and out.opened):
            checked = self._second_try(query, found, shown, checked, check, asks, timings)
            yield from out.more(checked, timings, began)
        if not (checked.supported and out.opened):
            # Nothing to show, but the question asks about a fact the articles disagree on
            # ("Was it held in Beijing or in Tianjin?"): the disagreement, both sides quoted, is the answer.
            alone, statement = self._disagreement(query, found, VerifiedAnswer((), (), checked.refused_by_model), instead=True)
            if statement:
                yield out.join(statement)
                return build_answer(question, standalone, "".join(out.pieces), timings, began, checked=alone)
            yield NO_SUPPORT
            return build_answer(question, standalone, NO_SUPPORT, timings, began, refused=True, closest=found.hits[:3], sentences=checked.sentences)
        checked, statement = self._disagreement(query, found, checked)
        if statement:
            yield out.join(statement)
        return build_answer(question, standalone, "".join(out.pieces), timings, began, checked=checked)

    def _in_parts(self, question: str, standalone: str | None, parts: Sequence[str], timings: dict[str, float], began: float) -> Run:
        """A question asking two things, answered part by part (``parts.py``): each part's
        verified sentences stream as they come, its citations numbered after the earlier parts';
        a part the articles do not answer is named at the end."""
        answers, shown, missing = [], [], []
        for part in parts:
            started = time.perf_counter() - began
            run = self._run(part, [])
            offset = sum(len(a.citations) for a in answers if not a.refused)  # as parts.join_answers numbers them
            while True:
                try:
                    piece = next(run)
                except StopIteration as stop:
                    answer = stop.value
                    break
                if not piece or is_refusal(piece):
                    continue
                piece = (" " if shown else "") + shift_markers(piece.strip(), offset)
                if not shown:
                    timings["first_verified_s"] = time.perf_counter() - began
                shown.append(piece)
                yield piece
            if "first_token_s" in answer.timings and "first_token_s" not in timings:
                timings["first_token_s"] = started + answer.timings["first_token_s"]
            for key in ("rewrite_s", "retrieve_s", "generate_s", "verify_s", "retry_s"):
                if key in answer.timings:
                    timings[key] = timings.get(key, 0.0) + answer.timings[key]
            answers.append(answer)
            if answer.refused:
                missing.append(part)
        if not shown:
            yield NO_SUPPORT
            closest = [h for a in answers for h in a.closest]
            return build_answer(question, standalone, NO_SUPPORT, timings, began, refused=True, closest=closest[:3],
                                sentences=[s for a in answers for s in a.sentences])
        if missing:
            note = " " + unanswered(missing)
            shown.append(note)
            yield note
        return join_answers(question, standalone, "".join(shown), answers, timings, began)

    def _checker(self, query: str, found: news.NewsContext, shown: Compacted) -> Callable[..., VerifiedAnswer]:
        """``check(draft) -> VerifiedAnswer`` for drafts answering ``query`` from ``shown``. The
        model saw trimmed passages; its [n] is checked against the whole passage n (and its
        reprints), with the judge, keeping one cache of judge verdicts per answer."""
        judged = list(shown.originals.chunks)
        groups = news.groups_for(found, judged)
        cache: dict[tuple[str, str], float] = {}
        judge = self.judge

        def check(draft: str, later: bool = False) -> VerifiedAnswer:
            which = JUDGE_LATER if later and judge is not None else judge
            return self.verifier.verify(draft, judged, query, self.documents, groups=groups, judge=which, cache=cache)

        return check

    def _second_try(self, query: str, found: news.NewsContext, shown: Compacted, checked: VerifiedAnswer,
                    check: Callable[[str], VerifiedAnswer], asks: Callable[[str], bool], timings: dict[str, float]) -> VerifiedAnswer:
        """Small models refuse too readily, or write a claim the passages do not make when the
        answer is right there. With strong evidence, ask once for the best sentence verbatim; it
        still has to pass verification and answer the question. After a removed claim or a true
        sentence beside the question (rather than a refusal) the judge must also say that the
        copied quote answers the question."""
        refused = checked.refused_by_model
        missed = bool(checked.sentences) and self.judge is not None  # claims removed, or true but beside the question
        if not ((refused or missed) and found.best_similarity >= self.settings.retry_similarity):
            return checked
        t = time.perf_counter()
        reply = whole_sentence("".join(self.generate(self.build_messages(query, shown.prompt, template="answer_retry"))), shown)
        second = check(reply)
        answered = second.supported and speaks_to(second, query, self.documents, answers=asks)
        if answered and not refused:  # after a missed answer, the quotes must answer the question
            answered = asks(" ".join(c.quote for c in second.citations))
        if not answered:
            second = self._copy_picked(query, shown, reply, check, asks) or checked
        timings["retry_s"] = time.perf_counter() - t
        return second

    def _answers(self, query: str, evidence: str) -> bool:
        """Whether the judge says ``evidence`` answers ``query``."""
        judge = self.judge
        return judge is not None and bool(evidence) and judge.answers([query], [evidence])[0] >= judge.supported_at

    def _copy_picked(self, query: str, shown: Compacted, reply: str, check: Callable[[str], VerifiedAnswer],
                     asks: Callable[[str], bool]) -> VerifiedAnswer | None:
        """The model answered the retry with passage numbers alone: copy the sentence of those
        passages that the judge rates best as an answer to the question (``pick.py``), when the
        judge says it answers and it passes verification like any answer."""
        judge = self.judge
        if judge is None:
            return None
        picked = pick(query, reply, shown, self.embedder, rank=lambda sentences: judge.answers([query] * len(sentences), sentences))
        if picked is None or picked.score < judge.supported_at:
            return None
        copied = check(picked.draft)
        return copied if copied.supported and speaks_to(copied, query, self.documents, answers=asks) else None

    def _disagreement(self, query: str, found: news.NewsContext, checked: VerifiedAnswer, instead: bool = False) -> tuple[VerifiedAnswer, str]:
        """When the question asks about a fact two articles disagree on, the engine states the
        disagreement with both quotes, after the answer (never instead of it); ``instead``: there
        is no answer to show, and the statement is the answer."""
        conflicts = news.relevant_conflicts(found.conflicts, query)
        if instead:  # instead of a refusal only for a question that names both sides ("Beijing or Tianjin?")
            conflicts = [c for c in conflicts if all(v.lower() in query.lower() for v in c.values)]
        if not conflicts or not (checked.supported or instead):
            return checked, ""
        claims, sides = news.disagreement_claims(conflicts)
        extra = self.verifier.verify(claims, sides, query, self.documents)
        if not extra.sentences or not all(s.supported for s in extra.sentences):
            return checked, ""
        combined, statement = news.append_disagreement(checked, extra)
        return combined, statement[len(checked.render()) :].strip()

    # -- fact-checking ---------------------------------------------------------------------
    @functools.cached_property
    def judge(self) -> SupportJudge | None:
        """The semantic support check on the answering model (``judge`` setting), or None when
        it is off or the backend cannot score. Built once (settings do not change under an
        Assistant; a filtered copy is another Assistant)."""
        if not self.settings.judge:
            return None
        scorer = self._judge_scorer or self.llm
        if not hasattr(scorer, "score"):
            return None
        s = self.settings
        return SupportJudge(scorer, supported_at=s.judge_supported_at, timeout=s.llm_timeout_s)

    def check(self, claim: str) -> ClaimCheck:
        """Fact-check ``claim`` against the articles: supported (with the quote that states it),
        contradicted (with the quote that says otherwise) or not found."""
        claim = clean_question(claim, self.settings.max_question_chars)
        judge = self.judge
        if judge is None:
            raise LLMError("rag check needs a judge: turn the `judge` setting on and use a backend that can score (local, openai or fake)")
        s = self.settings
        checker = ClaimChecker(self.retriever, self.embedder, judge, self.documents, top_k=s.top_k, candidates=s.check_candidates,
                               supported_at=s.check_supported_at, contradicted_at=s.check_contradicted_at, same_rest=s.check_same_rest,
                               exchange_margin=s.judge_exchange_margin)
        return checker(claim)

    def filtered(self, since: str | None = None, until: str | None = None, source: str | None = None) -> Assistant:
        """This assistant's index, embedder and LLM, retrieving only from articles published
        ``since``..``until`` (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; an undated article is left
        out by a date) and from ``source`` (a file, site or feed); each ``Answer.filter`` says how
        many articles the filter left. Without a filter it is this assistant."""
        from .filtered import with_filter

        return with_filter(self, ArticleFilter.parse(since, until, source))


def _silently(run: Run) -> Run:
    """Run an answering generator to its end without passing on what it yields."""
    while True:
        try:
            next(run)
        except StopIteration as stop:
            return stop.value
    yield ""  # pragma: no cover - makes this a generator, so ``yield from`` returns its value


def complete_prefix(draft: str) -> int:
    """Where the complete sentences of a streaming draft end: a sentence, with the ``[n]``
    markers after it, is complete once the next one has begun. Sentences are split as the
    verifier splits them (``text.sentences``), so "Sept. 1" is not cut at "Sept.".

    >>> complete_prefix("Xi opened it [1]. Putin")
    18
    >>> complete_prefix("Xi opened it. [1]")
    0
    >>> complete_prefix("Xi opened it on Sept. 1, in")
    0
    """
    spans = split_sentences(draft)
    if len(spans) < 2:
        return 0
    start = spans[-1][0]
    lead = LEAD_MARKERS.match(draft, start)
    if lead:  # markers opening the last span belong to the sentence before it
        if not draft[lead.end() :].strip():
            return 0
        start = lead.end()
    return start


class _Shown:
    """The verified sentences streamed so far: each is shown once, and the pieces join into the
    final answer text."""

    def __init__(self, ready: Callable[[VerifiedAnswer, bool], bool] = lambda v, final: True) -> None:
        self.count = 0
        self.pieces: list[str] = []
        self.ready = ready  # whether an answer may start showing (final: the draft is complete)
        self.opened = False

    def join(self, text: str) -> str:
        piece = (" " if self.pieces else "") + text
        self.pieces.append(piece)
        return piece

    def more(self, checked: VerifiedAnswer, timings: dict[str, float], began: float, final: bool = True) -> Iterator[str]:
        supported = checked.settled
        if not self.opened:
            if not supported or not self.ready(checked, final):
                return
            self.opened = True
        for s in supported[self.count :]:
            if not self.pieces:
                timings["first_verified_s"] = time.perf_counter() - began
            yield self.join(render_sentence(s))
        self.count = max(self.count, len(supported))
