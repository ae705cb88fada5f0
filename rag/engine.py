"""The front door: ``Assistant`` ties index, retrieval, prompting, the LLM and verification.

    assistant = Assistant.from_settings(Settings(index_dir="index"))
    answer = assistant.ask("How many agreements did Xi and Putin sign?")

``stream`` yields the model's tokens as they come and then exposes the checked ``Answer``.
The LLM is loaded on first use, so ``search`` never pays for it. Safe to share across threads:
the index is read-only and each backend serialises what must be serialised.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from dataclasses import replace
from typing import Iterator, Sequence

from . import articles, news
from .context import Compacted, ContextBudget, compact
from .dates import TimeQuery, date_label, event_anchor
from .embed import Embedder, make_embedder
from .errors import QuestionError
from .ingest import expected_manifest
from .llm import LLM, make_llm
from .prompts import render
from .retrieve import Retrieved, Retriever
from .settings import Settings
from .store import IndexData, load_index
from .types import Answer, Hit
from .verify import Verifier

History = Sequence[tuple[str, str]]
ANCHOR_CANDIDATES = 50  # BM25 matches searched for the date of an event named in a question
REFUSAL_TEXT = "The articles don't say. No passage in the corpus supports an answer to this question; the closest passages are listed."


class AnswerStream:
    """Iterate for the model's raw tokens; ``answer`` holds the checked result afterwards."""

    def __init__(self, tokens: Iterator[str]) -> None:
        self._tokens = tokens
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        return self._tokens

    def consume(self) -> Answer:
        for _ in self._tokens:
            pass
        assert self.answer is not None  # set by the generator before it ends
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
    def __init__(self, settings: Settings, index: IndexData, embedder: Embedder, llm: LLM | None = None) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.retriever = Retriever(index, embedder, candidate_k=settings.candidate_k, rrf_k=settings.rrf_k)
        self._sentence_vectors = news.SentenceVectors(embedder)
        self.verifier = Verifier(embedder, min_overlap=settings.support_overlap, min_similarity=settings.support_similarity)
        self._llm = llm
        self._llm_lock = threading.Lock()
        self._documents = {name: doc.text for name, doc in index.documents.items()}

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, embedder: Embedder | None = None, llm: LLM | None = None) -> Assistant:
        settings = settings or Settings()
        embedder = embedder or make_embedder(settings)
        index = load_index(settings.index_dir, expected_manifest(settings, embedder))
        return cls(settings, index, embedder, llm)

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = make_llm(self.settings)
            return self._llm

    # -- retrieval -------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None) -> list[Hit]:
        query = clean_question(query, self.settings.max_question_chars)
        boost = news.time_boost(self.time_query(query), self.settings.time_boost)
        return list(self.retriever.retrieve(query, k or self.settings.top_k, boost=boost).hits)

    # -- answering -------------------------------------------------------------------------
    def ask(self, question: str) -> Answer:
        return self.stream(question).consume()

    def chat(self, history: History, question: str) -> Answer:
        return self.stream(question, history=history).consume()

    def stream(self, question: str, history: History | None = None) -> AnswerStream:
        question = clean_question(question, self.settings.max_question_chars)
        holder = AnswerStream(iter(()))
        holder._tokens = self._run(question, list(history or []), holder)
        return holder

    def _generate(self, messages: list[dict[str, str]]) -> Iterator[str]:
        s = self.settings
        return self.llm.stream(messages, max_tokens=s.llm_max_tokens, temperature=s.llm_temperature, timeout=s.llm_timeout_s)

    def rewrite(self, history: History, question: str) -> str:
        """Turn a follow-up into a standalone question using the conversation."""
        turns = "\n".join(f"User: {u}\nAssistant: {_strip_markers(a)}" for u, a in history[-3:])
        prompt = render("condense", history=turns, question=question)
        text = "".join(self._generate([{"role": "user", "content": prompt}])).strip()
        text = text.splitlines()[0].strip().strip('"') if text else ""
        return text if 3 <= len(text) <= self.settings.max_question_chars else question

    def _run(self, question: str, history: list[tuple[str, str]], holder: AnswerStream) -> Iterator[str]:
        timings: dict[str, float] = {}
        began = time.perf_counter()
        standalone = None
        query = question
        if history:
            standalone = self.rewrite(history, question)
            query = standalone
            timings["rewrite_s"] = time.perf_counter() - began
        plan = articles.classify(query)
        if plan is not None:  # "Which articles mention ...", "Summarise the article about ...", "What happened on ..."
            holder.answer = yield from articles.answer(self, plan, query if standalone else question, standalone, timings, began)
            return
        t = time.perf_counter()
        found = self.context(query)
        timings["retrieve_s"] = time.perf_counter() - t
        if not found.chunks or found.best_similarity < self.settings.min_dense_score:
            holder.answer = self._refusal(question, standalone, found, timings, began)
            return
        shown = self.compact(query, found)
        messages = self.build_messages(query, shown.prompt)
        t = time.perf_counter()
        pieces: list[str] = []
        for token in self._generate(messages):
            if not pieces:
                timings["first_token_s"] = time.perf_counter() - began
            pieces.append(token)
            yield token
        timings["generate_s"] = time.perf_counter() - t
        t = time.perf_counter()
        # The model saw trimmed passages; its [n] is checked against the whole passage n.
        judged = list(shown.originals.chunks)
        groups = news.groups_for(found, judged)
        checked = self.verifier.verify("".join(pieces), judged, query, self._documents, groups=groups)
        timings["verify_s"] = time.perf_counter() - t
        if not checked.supported and checked.refused_by_model and found.best_similarity >= self.settings.retry_similarity:
            # Small models refuse too readily. With strong evidence, ask once for the best
            # sentence verbatim; it still has to pass verification and answer the question.
            t = time.perf_counter()
            retry = "".join(self._generate(self.build_messages(query, shown.prompt, template="answer_retry")))
            second = self.verifier.verify(retry, judged, query, self._documents, groups=groups)
            if second.supported and self.verifier.addresses(second, query):
                checked = second
            timings["retry_s"] = time.perf_counter() - t
        statement = None
        if conflicts := news.relevant_conflicts(getattr(found, "conflicts", ()), query):
            # The small model picks one side; the engine states the disagreement with both quotes.
            claims, sides = news.disagreement_claims(conflicts)
            extra = self.verifier.verify(claims, sides, query, self._documents)
            if extra.sentences and all(s.supported for s in extra.sentences):
                checked, statement = news.append_disagreement(checked, extra)
        if not checked.supported:
            holder.answer = self._refusal(question, standalone, found, timings, began, checked.sentences)
            return
        timings["total_s"] = time.perf_counter() - began
        holder.answer = Answer(
            question=question,
            answer=statement or checked.render(),
            refused=False,
            citations=checked.citations,
            sentences=checked.sentences,
            closest=(),
            standalone_question=standalone,
            timings=timings,
        )

    def context(self, query: str) -> news.NewsContext:
        """Retrieve for ``query`` with passages dated as its time expression ranked higher, merge
        reprinted passages and find where the articles disagree (see ``news.py``)."""
        s = self.settings
        boost = news.time_boost(self.time_query(query), s.time_boost)
        found = self.retriever.retrieve(query, s.top_k + s.extra_candidates, boost=boost)
        context = news.build_context(found, s.top_k, self._sentence_vectors, reprint_similarity=s.reprint_similarity)
        conflicts = news.find_conflicts(context, self._sentence_vectors, topic_similarity=s.conflict_similarity, same_story=s.same_story_similarity)
        return replace(context, conflicts=conflicts)

    def compact(self, query: str, found: Retrieved) -> Compacted:
        """The passages to show the model: only their sentences that support ``query`` when
        ``context_compaction`` is on (a shorter prompt, a sooner first token; see ``context.py``)."""
        if not self.settings.context_compaction:
            return Compacted(found, found, ())
        return compact(query, found, self.embedder, ContextBudget.from_settings(self.settings))

    def time_query(self, question: str) -> TimeQuery | None:
        """The time the question asks about: a date it names ("on September 1"), or the date of
        the event it names ("before the parade"), found among the BM25 matches for that event
        rather than by reading every chunk (which took seconds per question at 100k chunks)."""
        anchor = event_anchor(question)
        named = self.retriever.lexical(anchor[1], ANCHOR_CANDIDATES) if anchor else []
        return news.time_query(question, named)

    def sources(self) -> list[articles.SourceInfo]:
        """The articles of the index: file, title, publication date (and whether inferred), size."""
        return articles.sources(self)

    def build_messages(self, question: str, found: Retrieved, template: str = "answer") -> list[dict[str, str]]:
        passages = "\n\n".join(
            render(
                "passage",
                n=i,
                published=", ".join(date_label(m.published, m.published_inferred) for m in news.passage_sources(found, c)),
                text=c.text.replace("<<<", "« ").replace(">>>", " »"),
            ).strip()
            for i, c in enumerate(found.chunks, start=1)
        )
        return [
            {"role": "system", "content": render("system").strip()},
            {"role": "user", "content": render(template, passages=passages, question=question).strip()},
        ]

    def _refusal(self, question, standalone, found, timings, began, sentences=()) -> Answer:  # noqa: ANN001
        timings["total_s"] = time.perf_counter() - began
        return Answer(
            question=question,
            answer=REFUSAL_TEXT,
            refused=True,
            citations=(),
            sentences=tuple(sentences),
            closest=found.hits[:3],
            standalone_question=standalone,
            timings=timings,
        )


def _strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text)
