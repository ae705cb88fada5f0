"""Hybrid retrieval: dense (FAISS) + BM25, fused by reciprocal rank (the FAISS store; the
PostgreSQL store's twin is ``pg_retrieve.py``, which fuses with ``fuse`` too).

Returns ``Hit`` objects whose ``text`` is cut from the stored document text, plus the best dense
similarity, which the engine uses to refuse when the evidence is too weak. An ``ArticleFilter``
(dates, source) is a mask over the candidates of both searches, applied before fusion, so the
top ``k`` are the best passages among the articles it leaves (not a cut of the unfiltered top ``k``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

import numpy as np

from ..errors import QuestionError
from ..types import Chunk, Conflict, Hit
from .embed import Embedder
from .store import IndexData


@dataclass(frozen=True)
class Retrieved:
    """Passages for a query, best first. ``members`` maps a passage's chunk id to every chunk it
    stands for (a story merged with its reprints; absent: just itself); ``conflicts`` are the
    disagreements found among the passages. Retrieval leaves both empty; ``answer/news.py`` fills them."""

    hits: tuple[Hit, ...]
    chunks: tuple[Chunk, ...]
    best_similarity: float
    members: dict[str, tuple[Chunk, ...]] = field(default_factory=dict)
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles may be retrieved: published from ``since`` to ``until`` (inclusive, ISO
    dates; inferred dates count, an article without a date is excluded when either is set) and
    from ``source`` (a file, a document, a site or a feed's title; case-insensitive)."""

    since: str | None = None
    until: str | None = None
    source: str | None = None

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None, source: str | None = None) -> ArticleFilter:
        """Dates as ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``: ``parse(since="2026-03") ->
        since="2026-03-01"``, ``parse(until="2026-03") -> until="2026-03-31"``."""
        low, high = _day(since, first=True), _day(until, first=False)
        if low and high and low > high:
            raise QuestionError(f"--since {low} is after --until {high}; nothing can match")
        return cls(low, high, " ".join(source.split()) or None if isinstance(source, str) else None)

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.source)

    def matches(self, chunk: Any) -> bool:
        """For a ``Chunk`` or a ``Document`` (both carry the fields read here)."""
        if self.since or self.until:
            day = chunk.published
            if not day or (self.since and day < self.since) or (self.until and day > self.until):
                return False
        if self.source:
            want = self.source.casefold()
            names = (chunk.source, chunk.file, chunk.site)
            return any(n and (n.casefold() == want or n.casefold().rsplit("/", 1)[-1] == want) for n in names)
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "source": self.source}


def _day(value: str | None, *, first: bool) -> str | None:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        parts = [int(p) for p in text.split("-")]
        if len(parts) == 3:
            return date(*parts).isoformat()
        if len(parts) == 2:
            return date(parts[0], parts[1], 1 if first else calendar.monthrange(*parts)[1]).isoformat()
        if len(parts) == 1 and len(text) == 4:
            return date(parts[0], 1 if first else 12, 1 if first else 31).isoformat()
    except ValueError:
        pass
    raise QuestionError(f"unreadable date {text!r}; give YYYY-MM-DD, YYYY-MM or YYYY")


class Retriever:
    def __init__(
        self, index: IndexData, embedder: Embedder, *, candidate_k: int, rrf_k: int, article_filter: ArticleFilter | None = None
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.candidate_k = candidate_k
        self.rrf_k = rrf_k
        self._row_of = {c.id: i for i, c in enumerate(index.chunks)}
        # Fast path: query the FAISS index and the bm25s model that the llama-index wrappers hold,
        # directly. The wrappers cost milliseconds per call, and setting the shared retriever's
        # ``similarity_top_k`` per query raced between threads.
        self._faiss = index.vector_store.client
        bm25 = index.bm25
        self._bm25 = bm25.bm25 if bm25 is not None else None
        self._stemmer = bm25.stemmer if bm25 is not None and not bm25.skip_stemming else None
        self._token_pattern = re.compile(bm25.token_pattern if bm25 is not None else r"(?u)\b\w\w+\b")
        # bm25s drops English stop words from queries by default (llama-index relies on that).
        from bm25s.tokenization import _infer_stopwords

        self._stopwords = frozenset(_infer_stopwords("english"))
        # bm25s document position -> chunk row (identical order when written by write_index).
        corpus = (bm25.corpus or []) if bm25 is not None else []
        self._bm25_rows = np.array([self._row_of.get(d.get("node_id"), -1) for d in corpus], dtype=np.int64)
        # The filter as candidate masks: chunk rows it allows, and the same per bm25s position.
        self.article_filter = article_filter if article_filter else None
        self._allowed: np.ndarray | None = None
        self.filtered_articles = len(index.documents)
        if self.article_filter is not None:
            self._allowed = np.array([self.article_filter.matches(c) for c in index.chunks], dtype=bool)
            self._bm25_allowed = self._allowed[self._bm25_rows] & (self._bm25_rows >= 0) if len(self._allowed) else self._bm25_rows >= 0
            self._dense_params = _selector(np.flatnonzero(self._allowed))
            self.filtered_articles = sum(1 for d in index.documents.values() if self.article_filter.matches(d))

    def row_of(self, chunk_id: str) -> int:
        """The row of a chunk in ``index.chunks`` (and in FAISS); KeyError for an unknown id."""
        return self._row_of[chunk_id]

    def dense(self, query: str, k: int) -> list[tuple[int, float]]:
        """FAISS rows and cosine similarities of the ``k`` nearest chunks, best first."""
        if self._allowed is not None and not self._allowed.any():
            return []
        vector = np.ascontiguousarray(self.embedder.encode([query])[:1], dtype=np.float32)
        if self._allowed is not None:
            scores, ids = self._faiss.search(vector, k, params=self._dense_params)
        else:
            scores, ids = self._faiss.search(vector, k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def sparse(self, query: str, k: int) -> list[int]:
        """BM25 rows with a positive score, best first; the query is tokenised exactly as
        llama-index's ``BM25Retriever`` does it (lower case, same pattern, stop words, stemmer)."""
        if self._bm25 is None or not len(self._bm25_rows):
            return []
        words = [w for w in self._token_pattern.findall(query.lower()) if w not in self._stopwords]
        if self._stemmer is not None:
            words = self._stemmer.stemWords(words)
        ids = self._bm25.get_tokens_ids(words)
        if not ids:  # a query of stop words or unknown words only has no BM25 tokens
            return []
        scores = self._bm25.get_scores_from_ids(ids)
        if self._allowed is not None:
            scores = np.where(self._bm25_allowed, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        rows = self._bm25_rows[top]
        return [int(r) for r, s in zip(rows, scores[top]) if s > 0 and r >= 0]

    def lexical(self, query: str, k: int) -> list[Chunk]:
        """The ``k`` best BM25 matches for ``query`` (only chunks sharing a word with it)."""
        return [self.index.chunks[row] for row in self.sparse(query, k)]

    def retrieve(self, query: str, k: int, boost: Callable[[Chunk], float] | None = None) -> Retrieved:
        """Top ``k`` fused candidates; ``boost`` (optional) multiplies each fused score, e.g. for
        chunks dated as the question's time expression (see ``news.py``)."""
        n = len(self.index.chunks)
        if n == 0:
            return Retrieved((), (), 0.0)
        depth = min(n, max(self.candidate_k, k))
        dense = self.dense(query, depth)
        sparse = self.sparse(query, depth)
        fused = fuse([row for row, _ in dense], sparse, self.rrf_k)
        if boost is not None:
            fused = {row: score * boost(self.index.chunks[row]) for row, score in fused.items()}
        order = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        chunks = tuple(self.index.chunks[r] for r in order)
        hits = tuple(self.to_hit(c, fused[r]) for c, r in zip(chunks, order))
        best = max((s for _, s in dense), default=0.0)
        return Retrieved(hits, chunks, best)

    def to_hit(self, chunk: Chunk, score: float) -> Hit:
        return hit_of(chunk, self.index.documents[chunk.source].text, score)


def hit_of(chunk: Chunk, document_text: str, score: float) -> Hit:
    """A search hit for ``chunk``, its text cut from ``document_text`` (both stores build hits so)."""
    return Hit(
        source=chunk.source,
        start=chunk.start,
        end=chunk.end,
        text=document_text[chunk.start : chunk.end],
        score=score,
        published=chunk.published,
        chunk_id=chunk.id,
        published_inferred=chunk.published_inferred,
        title=chunk.title,
        url=chunk.url,
        author=chunk.author,
        site=chunk.site,
    )


def fuse(dense: list[int], sparse: list[int], rrf_k: int) -> dict[int, float]:
    """Reciprocal-rank fusion of two ranked lists of rows: ``fuse([7, 3], [3], 60)`` ->
    ``{7: 1/61, 3: 1/62 + 1/61}`` (both stores fuse with this)."""
    fused: dict[int, float] = {}
    for rank, row in enumerate(dense):
        fused[row] = fused.get(row, 0.0) + 1.0 / (rrf_k + rank + 1)
    for rank, row in enumerate(sparse):
        fused[row] = fused.get(row, 0.0) + 1.0 / (rrf_k + rank + 1)
    return fused


def _selector(rows: np.ndarray) -> Any:
    """FAISS search parameters that only consider ``rows`` (exact and HNSW indexes alike)."""
    import faiss

    ids = np.ascontiguousarray(rows, dtype=np.int64)
    selector = faiss.IDSelectorBatch(len(ids), faiss.swig_ptr(ids))
    params = faiss.SearchParameters(sel=selector)
    params._keep = (ids, selector)  # the selector points into ``ids``; keep both alive
    return params
