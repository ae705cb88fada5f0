"""Hybrid retrieval: dense (FAISS) + BM25, fused by reciprocal rank.

Returns ``Hit`` objects whose ``text`` is cut from the original file, plus the best dense
similarity, which the engine uses to refuse when the evidence is too weak.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .embed import Embedder
from .store import IndexData
from .types import Chunk, Hit


@dataclass(frozen=True)
class Retrieved:
    hits: tuple[Hit, ...]
    chunks: tuple[Chunk, ...]
    best_similarity: float


class Retriever:
    def __init__(self, index: IndexData, embedder: Embedder, *, candidate_k: int, rrf_k: int) -> None:
        self.index = index
        self.embedder = embedder
        self.candidate_k = candidate_k
        self.rrf_k = rrf_k
        self._row_of = {c.id: i for i, c in enumerate(index.chunks)}
        # bm25s logs a warning when k exceeds the corpus; we clamp k ourselves.
        logging.getLogger("llama_index.retrievers.bm25").setLevel(logging.ERROR)

    def _dense(self, query: str, k: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        vector = self.embedder.encode([query])[0]
        result = self.index.vector_store.query(VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=k))
        return [(int(i), float(s)) for i, s in zip(result.ids or [], result.similarities or [])]

    def _sparse(self, query: str, k: int) -> list[int]:
        if self.index.bm25 is None:
            return []
        from llama_index.core.schema import QueryBundle

        self.index.bm25.similarity_top_k = k
        try:
            nodes = self.index.bm25.retrieve(QueryBundle(query_str=query))
        except ValueError:  # a query of stop words only has no BM25 tokens
            return []
        return [self._row_of[n.node.node_id] for n in nodes if n.score > 0 and n.node.node_id in self._row_of]

    def retrieve(self, query: str, k: int) -> Retrieved:
        n = len(self.index.chunks)
        if n == 0:
            return Retrieved((), (), 0.0)
        depth = min(n, max(self.candidate_k, k))
        dense = self._dense(query, depth)
        sparse = self._sparse(query, depth)
        fused: dict[int, float] = {}
        for rank, (row, _) in enumerate(dense):
            fused[row] = fused.get(row, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        for rank, row in enumerate(sparse):
            fused[row] = fused.get(row, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        order = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        chunks = tuple(self.index.chunks[r] for r in order)
        hits = tuple(self.to_hit(c, fused[r]) for c, r in zip(chunks, order))
        best = max((s for _, s in dense), default=0.0)
        return Retrieved(hits, chunks, best)

    def to_hit(self, chunk: Chunk, score: float) -> Hit:
        doc = self.index.documents[chunk.source]
        return Hit(
            source=chunk.source,
            start=chunk.start,
            end=chunk.end,
            text=doc.text[chunk.start : chunk.end],
            score=score,
            published=chunk.published,
            chunk_id=chunk.id,
        )
