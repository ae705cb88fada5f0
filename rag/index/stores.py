"""Which index store: FAISS files (the default) or PostgreSQL, chosen by ``settings.store``.

    index = open_index(settings, embedder)                 # IndexData or PgIndex
    retriever = make_retriever(index, embedder, candidate_k=20, rrf_k=60)
    texts = document_texts(index)                          # source -> stored text
    close_stores()                                         # at shutdown: pools closed, servers left

Both indexes offer what the engine reads: ``path``, ``manifest``, ``documents`` (source ->
Document), ``chunks``; both retrievers the ``Retriever`` interface. The PostgreSQL modules are
imported only when that store is chosen. Writing is ``ingest/run.py``'s, through ``store.py`` or
``pg_write.py``.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import RagError
from ..settings import Settings
from .embed import Embedder
from .retrieve import ArticleFilter, Retriever
from .store import IndexData, expected_manifest, load_index

STORES = ("faiss", "postgres")


def open_index(settings: Settings, embedder: Embedder) -> Any:
    """The live index of ``settings.store``, checked against the embedder and chunking."""
    expected = expected_manifest(settings, embedder)
    match settings.store:
        case "faiss":
            return load_index(settings.index_dir, expected)
        case "postgres":
            from .pg import open_pg_index

            return open_pg_index(settings, expected)
        case other:
            raise RagError(f"unknown store {other!r}; known stores: {', '.join(STORES)}")


def index_summary(settings: Settings) -> dict[str, Any] | None:
    """The index of ``settings.store`` in brief (where, format, articles, chunks, embedding model)
    without loading it; None when there is none."""
    if settings.store == "postgres":
        from .pg import index_summary as pg_summary

        return pg_summary(settings)
    from .store import index_summary as files_summary

    return files_summary(settings.index_dir)


def make_retriever(index: Any, embedder: Embedder, *, candidate_k: int, rrf_k: int, article_filter: ArticleFilter | None = None) -> Any:
    """A ``Retriever`` for a FAISS index, a ``PgRetriever`` for a PostgreSQL one."""
    if isinstance(index, IndexData):
        return Retriever(index, embedder, candidate_k=candidate_k, rrf_k=rrf_k, article_filter=article_filter)
    from .pg_retrieve import PgRetriever

    return PgRetriever(index, embedder, candidate_k=candidate_k, rrf_k=rrf_k, article_filter=article_filter)


def document_texts(index: Any) -> Mapping[str, str]:
    """source -> stored text: a dict for FAISS (as before), a lazy mapping for PostgreSQL."""
    if isinstance(index, IndexData):
        return {name: doc.text for name, doc in index.documents.items()}
    return index.texts


def close_stores() -> None:
    """Close this process's PostgreSQL pools and leave the embedded server (stopped when no other
    process uses it). A no-op when PostgreSQL was never opened; safe to call twice."""
    import sys

    if "rag.index.pg" in sys.modules:  # never import the PostgreSQL modules just to close them
        from .pg import close_pools
        from .pg_server import release

        close_pools()
        release()
