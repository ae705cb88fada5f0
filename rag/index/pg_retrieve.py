"""Hybrid retrieval on the PostgreSQL store: the ``Retriever`` interface, answered in SQL.

Dense: pgvector cosine distance, exact (a scan) up to ``approximate_index_above`` chunks or with
an article filter, the HNSW index above, as the FAISS store switches from flat to HNSW. Lexical:
BM25 scored in SQL from the stored term frequencies and the lexicon (the same numbers bm25s
computes; see ``pg.py``), over candidates chosen so that a common word costs no more than a rare
one: every chunk of a word found in at most ``WORD_DEPTH`` chunks; a common word's
``WORD_DEPTH`` best chunks (``postings`` in impact order); and up to ``ALL_COMMON_CAP`` chunks
holding every common query word (the GIN index; with flat per-word weights, chunks matching more
query words win). When no query word is common, every matching chunk is scored: exact. Otherwise
a chunk outside those candidates is missed; recall against exact BM25 is measured in
BENCHMARKS.md ("Index stores"). An article filter scores every matching chunk of the allowed
articles (``EXACT``), as before. The two lists are
asked for at once on two pooled connections, and fused in Python by reciprocal rank, exactly as ``retrieve.Retriever`` does; a "row" here is a
chunk's id in the database. Measured against fusing in SQL: see BENCHMARKS.md, "Index stores".

An ``ArticleFilter`` becomes the list of document ids it allows, read once from the documents'
metadata with the same ``ArticleFilter.matches``.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from ..types import Chunk, Hit
from .embed import Embedder
from .pg import BM25_B, BM25_K1, PgIndex, bm25_tokens, document_from, tsquery_any
from .retrieve import ArticleFilter, Retrieved, fuse, hit_of

Found = tuple[int, float, int, Chunk]  # chunk row id, score, document id, chunk

DENSE = """
SELECT id, 1 - (embedding <=> %(v)s) AS similarity, document_id, data FROM chunks {where}
ORDER BY {order} LIMIT {k:d}
"""
WORD_DEPTH = 200  # postings read per query word, best first; a word in more chunks is "common"
ALL_COMMON_CAP = 2000  # chunks holding every common query word, at most (in table order)
DF = "SELECT lexeme, df FROM lexicon WHERE lexeme = ANY(%s)"
# Candidates: each query word's best WORD_DEPTH chunks, and (given two common words or more)
# chunks holding all common words; each scored exactly by one primary-key probe per query word.
# Equal scores rank by chunk id (the FAISS store's order): rounded, as sums added in another order
# differ in the last bits.
SPARSE = """
WITH s AS (SELECT chunks::float8 AS n, tokens::float8 / greatest(chunks, 1) AS avgdl FROM corpus_stats),
q AS MATERIALIZED (
    SELECT l.lexeme, m.times * ln(1 + (s.n - l.df + 0.5) / (l.df + 0.5)) AS idf
    FROM unnest(%(lexemes)s::text[], %(times)s::int[]) AS m(lexeme, times) JOIN lexicon l USING (lexeme) CROSS JOIN s
),
candidates AS MATERIALIZED (
    SELECT DISTINCT t.chunk_id FROM q CROSS JOIN LATERAL (
        SELECT p.chunk_id FROM postings p WHERE p.lexeme = q.lexeme ORDER BY p.impact DESC LIMIT %(depth)s) AS t
    {all_common}
),
scored AS (
    SELECT c.id, sum(q.idf * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * c.n_tokens / s.avgdl))) AS score
    FROM candidates JOIN chunks c ON c.id = candidates.chunk_id CROSS JOIN s CROSS JOIN q
    -- OFFSET 0: one probe of the primary key per (chunk, word), not a read of all the chunk's postings
    CROSS JOIN LATERAL (SELECT p.tf FROM postings p WHERE p.chunk_id = c.id AND p.lexeme = q.lexeme OFFSET 0) AS p
    GROUP BY c.id
),
top AS (SELECT id, score FROM scored ORDER BY round(score::numeric, 9) DESC, id LIMIT %(k)s)
SELECT top.id, top.score, c.document_id, c.data FROM top JOIN chunks c USING (id) ORDER BY round(top.score::numeric, 9) DESC, top.id
"""
ALL_COMMON = "UNION (SELECT id FROM chunks WHERE lexemes @@ %(all_common)s::tsquery LIMIT %(cap)s)"
EXACT = """
WITH s AS (SELECT chunks::float8 AS n, tokens::float8 / greatest(chunks, 1) AS avgdl FROM corpus_stats),
q AS (
    SELECT l.lexeme, m.times * ln(1 + (s.n - l.df + 0.5) / (l.df + 0.5)) AS idf
    FROM unnest(%(lexemes)s::text[], %(times)s::int[]) AS m(lexeme, times) JOIN lexicon l USING (lexeme) CROSS JOIN s
),
top AS (
    SELECT c.id, sum(q.idf * t.tf / (t.tf + %(k1)s * (1 - %(b)s + %(b)s * c.n_tokens / s.avgdl))) AS score
    FROM chunks c CROSS JOIN s
    -- only the query's lexemes of each candidate (weight A marks them, ts_filter keeps them): ~3x
    -- faster than unnesting every lexeme of every candidate, measured on common-word queries
    CROSS JOIN LATERAL (SELECT u.lexeme, cardinality(u.positions) AS tf
                        FROM unnest(ts_filter(setweight(c.lexemes, 'A', %(lexemes)s::text[]), '{{a}}')) AS u) AS t
    JOIN q ON q.lexeme = t.lexeme
    WHERE c.lexemes @@ %(query)s::tsquery {where}
    GROUP BY c.id
    ORDER BY round(sum(q.idf * t.tf / (t.tf + %(k1)s * (1 - %(b)s + %(b)s * c.n_tokens / s.avgdl)))::numeric, 9) DESC, c.id
    LIMIT %(k)s
)
SELECT top.id, top.score, c.document_id, c.data FROM top JOIN chunks c USING (id) ORDER BY round(top.score::numeric, 9) DESC, top.id
"""


class PgRetriever:
    """``retrieve.Retriever``'s interface over a ``PgIndex``."""

    def __init__(self, index: PgIndex, embedder: Embedder, *, candidate_k: int, rrf_k: int, article_filter: ArticleFilter | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.candidate_k = candidate_k
        self.rrf_k = rrf_k
        self.article_filter = article_filter if article_filter else None
        self._documents: list[int] | None = None
        self.filtered_articles = len(index.documents)
        if self.article_filter is not None:
            rows = index.db.rows("SELECT id, meta FROM documents ORDER BY id")
            self._documents = [i for i, meta in rows if self.article_filter.matches(document_from(meta, ""))]
            self.filtered_articles = len(self._documents)

    def row_of(self, chunk_id: str) -> int:
        """The database id of a chunk; KeyError for an unknown id."""
        row = self.index.db.one("SELECT id FROM chunks WHERE chunk_key = %s", (chunk_id,))
        if row is None:
            raise KeyError(chunk_id)
        return int(row[0])

    def _where(self, params: dict) -> str:
        if self._documents is None:
            return ""
        params["documents"] = self._documents
        return "document_id = ANY(%(documents)s)"

    def _dense(self, query: str, k: int) -> list[Found]:
        if self._documents is not None and not self._documents:
            return []
        vector = np.asarray(self.embedder.encode([query])[0], dtype=np.float32)
        params: dict = {"v": vector}  # LIMIT as a literal: a generic plan with a parameter there may skip the HNSW index
        where = self._where(params)
        exact = bool(where) or len(self.index.chunks) <= self.index.settings.approximate_index_above
        # "+ 0" keeps the planner off the HNSW index: an exact scan, like FAISS's flat index
        order = "(embedding <=> %(v)s) + 0, id" if exact else "embedding <=> %(v)s"
        sql = DENSE.format(where=f"WHERE {where}" if where else "", order=order, k=int(k))
        return [(i, float(s), d, Chunk.from_dict(data)) for i, s, d, data in self.index.db.rows(sql, params)]

    def _sparse(self, query: str, k: int) -> list[Found]:
        if self._documents is not None and not self._documents:
            return []
        times = Counter(bm25_tokens(query))  # a repeated query word counts again, as in bm25s
        if not times:
            return []
        params: dict = {"lexemes": list(times), "times": list(times.values()), "query": tsquery_any(list(times)), "k": k, "k1": BM25_K1, "b": BM25_B}
        where = self._where(params)
        if where:
            sql = EXACT.format(where=f"AND c.{where}")
        else:
            depth = max(WORD_DEPTH, k)
            common = [w for w, df in self.index.db.rows(DF, (list(times),)) if df > depth]
            params |= {"depth": depth, "all_common": " & ".join(tsquery_any([w]) for w in common), "cap": max(ALL_COMMON_CAP, k)}
            sql = SPARSE.format(all_common=ALL_COMMON if len(common) > 1 else "")
        return [(i, float(s), d, Chunk.from_dict(data)) for i, s, d, data in self.index.db.rows(sql, params) if s > 0]

    def dense(self, query: str, k: int) -> list[tuple[int, float]]:
        """Chunk ids and cosine similarities of the ``k`` nearest chunks, best first."""
        return [(i, s) for i, s, _, _ in self._dense(query, k)]

    def sparse(self, query: str, k: int) -> list[int]:
        """Chunk ids with a positive BM25 score, best first."""
        return [i for i, _, _, _ in self._sparse(query, k)]

    def lexical(self, query: str, k: int) -> list[Chunk]:
        """The ``k`` best BM25 matches for ``query`` (only chunks sharing a word with it)."""
        return [c for _, _, _, c in self._sparse(query, k)]

    def retrieve(self, query: str, k: int, boost: Callable[[Chunk], float] | None = None) -> Retrieved:
        """Top ``k`` fused candidates, as ``Retriever.retrieve``."""
        depth = max(self.candidate_k, k)
        # The two lists at once, each on its own pooled connection (so in its own server
        # process): the hybrid waits for the slower one, not for both in turn.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-pg-sparse") as side:
            pending = side.submit(self._sparse, query, depth)
            dense = self._dense(query, depth)
            sparse = pending.result()
        if not dense and not sparse:
            return Retrieved((), (), 0.0)
        found = {i: (d, c) for i, _, d, c in dense + sparse}
        fused = fuse([i for i, *_ in dense], [i for i, *_ in sparse], self.rrf_k)
        if boost is not None:
            fused = {i: score * boost(found[i][1]) for i, score in fused.items()}
        order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        chunks = tuple(found[i][1] for i in order)
        hits = tuple(self._hit(found[i][1], found[i][0], fused[i]) for i in order)
        best = max((s for _, s, _, _ in dense), default=0.0)
        return Retrieved(hits, chunks, best)

    def _hit(self, chunk: Chunk, document_id: int, score: float) -> Hit:
        return hit_of(chunk, self.index.texts.of_document(document_id, chunk.source), score)
