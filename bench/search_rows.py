"""Query latency of the product's ``Assistant.search`` (hybrid, query embedding included) against
the llama-index default retriever over the same chunks and vectors, and recall@10 of the
approximate FAISS index against an exact one.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from rag import Assistant, Settings

from .report import median, percentile


def default_retriever(index_dir: Path, assistant: Assistant, model_path: str, k: int):  # noqa: ANN201
    """llama-index's default: VectorStoreIndex over a FAISS IndexFlatL2 store, ``as_retriever``,
    HuggingFaceEmbedding for the query; fed the product's chunks and vectors (no re-embedding)."""
    import faiss
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    embed = HuggingFaceEmbedding(model_name=model_path, device="cpu")
    nodes = [TextNode(text=c.text, id_=c.id, embedding=v.tolist()) for c, v in zip(assistant.index.chunks, assistant.index.embeddings)]
    store = FaissVectorStore(faiss_index=faiss.IndexFlatL2(assistant.index.embeddings.shape[1]))
    index = VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed)
    return index.as_retriever(similarity_top_k=k)


def measure(index_dir: Path, embedder, queries: list[str], model_path: str, *, k: int = 4, rounds: int = 2) -> dict:  # noqa: ANN001
    """p50/p95 in ms of both, interleaved query by query so load spikes hit both alike."""
    assistant = Assistant.from_settings(Settings(index_dir=index_dir, llm_backend="fake"), embedder=embedder)
    began = time.perf_counter()
    retriever = default_retriever(index_dir, assistant, model_path, k)
    build_s = time.perf_counter() - began
    for q in queries[:3]:
        assistant.search(q, k=k)
        retriever.retrieve(q)
    ours, theirs, embed_only = [], [], []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            assistant.search(q, k=k)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            retriever.retrieve(q)
            theirs.append(time.perf_counter() - t)
            t = time.perf_counter()
            embedder.encode([q])
            embed_only.append(time.perf_counter() - t)
    ms = lambda xs, q: 1000 * percentile(xs, q)  # noqa: E731
    return {
        "chunks": len(assistant.index.chunks),
        "vector_index": assistant.index.manifest.get("vector_index", {"kind": "flat-ip"}),
        "ours_p50": ms(ours, 0.5),
        "ours_p95": ms(ours, 0.95),
        "default_p50": ms(theirs, 0.5),
        "default_p95": ms(theirs, 0.95),
        "embed_p50": 1000 * median(embed_only),
        "queries": len(ours),
        "default_build_s": build_s,
    }


def tie_aware_recall(got_scores: np.ndarray, truth_scores: np.ndarray) -> float:
    """Mean share of the approximate top 10 scoring at least the exact 10th score. Counting ids
    instead would punish ties: the synthetic corpora repeat vectors (a third of the 100k rows are
    duplicates), and which of several identical vectors comes back is arbitrary."""
    return float(np.mean([(g >= t[9] - 1e-5).sum() / 10 for g, t in zip(got_scores, truth_scores)]))


def recall_at_10(index_dir: Path, embedder, queries: list[str]) -> dict:  # noqa: ANN001
    """Recall@10 of the index the product wrote (HNSW above the threshold) against exact search
    over the same vectors; also the approximate index's own search time."""
    import faiss

    assistant = Assistant.from_settings(Settings(index_dir=index_dir, llm_backend="fake"), embedder=embedder)
    live = assistant.index.vector_store.client
    exact = faiss.IndexFlatIP(assistant.index.embeddings.shape[1])
    exact.add(np.ascontiguousarray(assistant.index.embeddings, dtype=np.float32))
    vectors = embedder.encode(queries)
    truth_scores, _ = exact.search(vectors, 10)
    got_scores, t_live, t_exact = [], [], []
    for v in vectors:
        t = time.perf_counter()
        scores, _ = live.search(v[None, :], 10)
        t_live.append(time.perf_counter() - t)
        t = time.perf_counter()
        exact.search(v[None, :], 10)
        t_exact.append(time.perf_counter() - t)
        got_scores.append(scores[0])
    return {
        "kind": assistant.index.manifest.get("vector_index", {}).get("kind", "flat-ip"),
        "recall": tie_aware_recall(np.array(got_scores), truth_scores),
        "live_ms": 1000 * median(t_live),
        "exact_ms": 1000 * median(t_exact),
    }
