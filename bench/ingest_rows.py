"""Ingest measurements: the product's ``ingest`` against plain ``SentenceTransformer.encode``
of the very same chunk texts (the encoder's limit, batch size tuned) and against the default
llama-index pipeline; cost growth with corpus size; incremental re-ingest of one changed file.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from rag import Settings
from rag.index.store import expected_manifest
from rag.ingest.run import ingest
from rag.index.store import current_version, load_index


class TimedEmbedder:
    """Wraps an embedder and sums the seconds spent encoding (same name, so the index matches)."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0
        self.texts = 0

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        began = time.perf_counter()
        out = self.inner.encode(texts, progress=progress)
        self.seconds += time.perf_counter() - began
        self.texts += len(texts)
        return out


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def corpus_chars(folder: Path) -> int:
    return sum(len(p.read_text(encoding="utf-8")) for p in folder.glob("*.txt"))


def product_ingest(corpus: Path, index_dir: Path, embedder, settings: Settings) -> dict:  # noqa: ANN001
    timed = TimedEmbedder(embedder)
    shutil.rmtree(index_dir, ignore_errors=True)
    began = time.perf_counter()
    report = ingest([corpus], settings.model_copy(update={"index_dir": index_dir}), timed, rebuild=True)
    seconds = time.perf_counter() - began
    version = current_version(index_dir)
    return {
        "chunks": report.chunks,
        "seconds": seconds,
        "encode_seconds": timed.seconds,
        "other_seconds": seconds - timed.seconds,
        "index_bytes": folder_bytes(version) if version else 0,
    }


def tune_batch_size(model, texts: list[str], sizes=(8, 16, 32, 64)) -> tuple[int, dict[int, float]]:  # noqa: ANN001
    """Chunks/s of plain ``encode`` per batch size on a sample; returns the best size."""
    sample = texts[:192]
    model.encode(sample[:8], batch_size=8)
    rates = {}
    for size in sizes:
        began = time.perf_counter()
        model.encode(sample, batch_size=size, normalize_embeddings=True, convert_to_numpy=True)
        rates[size] = len(sample) / (time.perf_counter() - began)
    return max(rates, key=rates.get), rates


def encoder_limit(model, texts: list[str], batch_size: int) -> float:  # noqa: ANN001
    began = time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return time.perf_counter() - began


def llama_index_default(corpus: Path, model_path: str) -> dict:
    """What a user would write: SimpleDirectoryReader -> VectorStoreIndex.from_documents with the
    same embedding model (HuggingFaceEmbedding, its defaults) and a FAISS store (IndexFlatL2)."""
    import faiss
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    embed = HuggingFaceEmbedding(model_name=model_path, device="cpu")  # model load not timed
    embed.get_text_embedding("warm up")
    began = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus), required_exts=[".txt"], exclude_hidden=False).load_data()
    store = FaissVectorStore(faiss_index=faiss.IndexFlatL2(384))
    index = VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed)
    seconds = time.perf_counter() - began
    return {"chunks": int(store.client.ntotal), "seconds": seconds, "batch_size": embed.embed_batch_size, "index": index}


def reingest_one_file(corpus: Path, workdir: Path, index_dir: Path, embedder, settings: Settings) -> dict:  # noqa: ANN001
    """Copy the corpus, ingest it, change one file, and time the incremental re-ingest."""
    copy = workdir / "reingest-corpus"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(corpus, copy)
    s = settings.model_copy(update={"index_dir": index_dir})
    if current_version(index_dir) is None:
        ingest([copy], s, embedder)
    target = sorted(copy.glob("*.txt"))[len(list(copy.glob("*.txt"))) // 2]
    target.write_text(target.read_text(encoding="utf-8") + "\n\nA new closing sentence was added to this article today.\n", encoding="utf-8")
    timed = TimedEmbedder(embedder)
    began = time.perf_counter()
    report = ingest([copy], s, timed)
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "encode_seconds": timed.seconds,
        "embedded": report.embedded,
        "chunks": report.chunks,
        "updated": list(report.updated),
    }


def load_texts(index_dir: Path, embedder, settings: Settings) -> list[str]:  # noqa: ANN001
    index = load_index(index_dir, expected_manifest(settings.model_copy(update={"index_dir": index_dir}), embedder))
    return [c.text for c in index.chunks]
