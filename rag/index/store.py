"""Persisting and loading the index: versioned folders switched atomically, with a manifest.

Layout of ``index_dir``::

    current            name of the live version folder (replaced atomically)
    versions/<name>/   manifest.json, documents.jsonl, chunks.jsonl, embeddings.npy,
                       faiss.index (llama-index FaissVectorStore; exact, or HNSW above a size
                       threshold), bm25/ (llama-index BM25Retriever, built once at ingest)
    .lock              held while an ingest runs

A version folder is complete before ``current`` points at it, so a crash at any moment leaves
either the old index or the new one. Every file and folder of a version, and each folder a rename
changes, is fsynced before the next step, so this holds for a power loss too, not only kill -9.
This module knows nothing about cleaning or embedding.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import IndexMismatchError, IndexNotFoundError, IngestError
from ..settings import Settings
from ..types import Chunk
from .embed import Embedder

FORMAT_VERSION = 3  # 2: documents and chunks carry published_inferred; 3: title, url, author, site, file
FIX = "rebuild it with: rag ingest --rebuild --index {dir}"


def chunking_config(settings: Settings) -> dict[str, object]:
    return {"splitter": "sentences-v1", "chunk_tokens": settings.chunk_tokens, "overlap_sentences": settings.chunk_overlap_sentences}


def expected_manifest(settings: Settings, embedder: Embedder) -> dict[str, object]:
    return {"embedding_model": embedder.name, "embedding_dim": embedder.dim, "chunking": chunking_config(settings)}


@dataclass(frozen=True)
class Document:
    """An ingested article: the text quotes are cut from (the original file for .txt/.md, the
    extracted article for news formats) and metadata. ``file`` is the file it came from: several
    documents (feed entries, JSONL lines) share one file and its ``sha256``."""

    source: str
    text: str
    sha256: str
    published: str | None
    title: str | None
    encoding: str
    chunks: int
    published_inferred: bool = False
    file: str | None = None
    url: str | None = None
    author: str | None = None
    site: str | None = None

    @property
    def origin(self) -> str:
        """The file this document came from."""
        return self.file or self.source


@dataclass(frozen=True)
class VectorIndexConfig:
    """Which FAISS index ``write_index`` builds. Exact inner product up to ``approximate_above``
    vectors, HNSW (approximate, much faster to search) above it; 0 means always exact."""

    approximate_above: int = 50_000
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 800  # as Settings.hnsw_ef_search

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorIndexConfig:
        return cls(settings.approximate_index_above, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search)


def build_vector_index(embeddings: np.ndarray, dim: int, config: VectorIndexConfig) -> tuple[Any, dict[str, Any]]:
    """A filled FAISS inner-product index for ``embeddings`` and its description for the manifest.
    Row ``i`` of ``embeddings`` gets FAISS id ``i`` in both kinds."""
    import faiss

    vectors = np.ascontiguousarray(embeddings, dtype=np.float32).reshape(-1, dim)
    if config.approximate_above and len(vectors) > config.approximate_above:
        index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.ef_construction
        index.hnsw.efSearch = config.ef_search  # persisted by faiss.write_index
        described = {"kind": "hnsw", "m": config.hnsw_m, "ef_construction": config.ef_construction, "ef_search": config.ef_search}
    else:
        index = faiss.IndexFlatIP(dim)
        described = {"kind": "flat-ip"}
    if len(vectors):
        index.add(vectors)
    return index, described


@dataclass
class IndexData:
    """A loaded index, read-only while answering."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    embeddings: np.ndarray
    vector_store: Any  # llama_index FaissVectorStore
    bm25: Any  # llama_index BM25Retriever, or None for an empty corpus


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    """Make the entries of folder ``path`` durable: a rename or a new file in it is only on disk
    once the folder itself is fsynced, whatever was done to the files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every file and folder under ``root`` (faiss and bm25 write theirs without it)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def current_version(index_dir: Path) -> Path | None:
    pointer = index_dir / "current"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8", errors="replace").strip()
    if not name or "/" in name or name.startswith("."):  # a damaged pointer names no version
        return None
    path = index_dir / "versions" / name
    return path if path.is_dir() else None


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    version = current_version(index_dir)
    if version is None:
        return None
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(f"index manifest in {index_dir} is unreadable ({exc}); {FIX.format(dir=index_dir)}") from exc
    if not isinstance(manifest, dict):
        raise IndexMismatchError(f"index manifest in {index_dir} is not a JSON object; {FIX.format(dir=index_dir)}")
    return manifest


def index_summary(index_dir: Path) -> dict[str, Any] | None:
    """What ``rag doctor`` shows of the index folder: where, format, articles, chunks, embedding
    model; None when there is no index. Chunks are counted from chunks.jsonl, one per line."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        return None
    try:
        with (current_version(index_dir) / "chunks.jsonl").open("rb") as f:  # type: ignore[operator]
            chunks: int | str = sum(1 for _ in f)
    except OSError:
        chunks = "?"
    return {"where": str(index_dir), "format": manifest.get("format_version"), "articles": len(manifest.get("files") or {}),
            "chunks": chunks, "embedding_model": manifest.get("embedding_model")}


def write_index(
    index_dir: Path,
    manifest: dict[str, Any],
    documents: list[Document],
    chunks: list[Chunk],
    embeddings: np.ndarray,
    *,
    vector_index: VectorIndexConfig | None = None,
) -> Path:
    """Write a complete new version, then switch ``current`` to it and delete older versions."""
    versions = index_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=versions))
    try:
        return _write_version(index_dir, tmp, manifest, documents, chunks, embeddings, vector_index)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # e.g. disk full: leave no half-written folder behind
        raise


def _write_version(index_dir, tmp, manifest, documents, chunks, embeddings, vector_index) -> Path:  # noqa: ANN001
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.faiss import FaissVectorStore

    versions = tmp.parent
    dim = int(manifest["embedding_dim"])
    faiss_index, described = build_vector_index(embeddings, dim, vector_index or VectorIndexConfig())
    manifest = {**manifest, "vector_index": described}
    FaissVectorStore(faiss_index=faiss_index).persist(persist_path=str(tmp / "faiss.index"))
    if chunks:
        nodes = [TextNode(text=c.text, id_=c.id) for c in chunks]
        BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(len(nodes), 20)).persist(str(tmp / "bm25"))
    with open(tmp / "embeddings.npy", "wb") as fh:
        np.save(fh, np.asarray(embeddings, dtype=np.float32))
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_write(tmp / "documents.jsonl", _jsonl([asdict(d) for d in documents]))
    _fsync_write(tmp / "chunks.jsonl", _jsonl([c.to_dict() for c in chunks]))
    _fsync_write(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())

    _fsync_tree(tmp)

    name = time.strftime("%Y%m%d-%H%M%S-") + tmp.name.rsplit("-", 1)[-1]
    final = versions / name
    os.replace(tmp, final)
    _fsync_dir(versions)  # the version's name is on disk before ``current`` can name it
    pointer_tmp = index_dir / ".current.tmp"
    _fsync_write(pointer_tmp, name.encode())
    os.replace(pointer_tmp, index_dir / "current")
    _fsync_dir(index_dir)  # the switch itself
    for old in versions.iterdir():
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_index(index_dir: Path, expected: dict[str, Any]) -> IndexData:
    """Load the live version, checking it against ``expected`` manifest fields."""
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.faiss import FaissVectorStore

    fix = FIX.format(dir=index_dir)
    version = current_version(index_dir)
    if version is None:
        raise IndexNotFoundError(f"no index in {index_dir}; build it with: rag ingest --index {index_dir}")
    manifest = read_manifest(index_dir) or {}
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index in {index_dir} has format {manifest.get('format_version')}, this version reads {FORMAT_VERSION}; {fix}"
        )
    for key, want in expected.items():
        if manifest.get(key) != want:
            raise IndexMismatchError(f"index in {index_dir} was built with {key}={manifest.get(key)!r}, settings say {want!r}; {fix}")
    try:
        documents = {
            d["source"]: Document(**d)
            for d in map(json.loads, (version / "documents.jsonl").read_text(encoding="utf-8").splitlines())
        }
        chunks = [Chunk.from_dict(json.loads(line)) for line in (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
        embeddings = np.load(version / "embeddings.npy")
        vector_store = FaissVectorStore.from_persist_path(str(version / "faiss.index"))
        bm25 = BM25Retriever.from_persist_dir(str(version / "bm25")) if chunks else None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexMismatchError(f"index in {index_dir} is damaged ({type(exc).__name__}: {exc}); {fix}") from exc
    if embeddings.shape != (len(chunks), manifest.get("embedding_dim")) or vector_store.client.ntotal != len(chunks):
        raise IndexMismatchError(f"index in {index_dir} is inconsistent (vectors and chunks differ); {fix}")
    return IndexData(version, manifest, documents, chunks, embeddings, vector_store, bm25)


@contextlib.contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock so two ingests never write the same index."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(index_dir / ".lock", "w")
    except OSError as exc:
        raise IngestError(f"cannot write the index folder {index_dir} ({exc.strerror or exc})") from exc
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestError(f"another ingest is writing {index_dir}; wait for it to finish and retry") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
