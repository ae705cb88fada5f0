"""Ingest a corpus folder into the index, incrementally.

Takes the files ``files.py`` finds and reads, cleans and chunks them, embeds only files that are new or changed
(by sha256), reuses stored vectors for the rest, drops files that disappeared, and writes a new
index version atomically. Problem files are skipped with a one-line reason; nothing else is lost.
The index format itself (folders, manifest, atomic switch) is ``index/store.py``'s business.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError, IngestError
from ..index.embed import Embedder
from ..index.store import (
    FORMAT_VERSION,
    Document,
    VectorIndexConfig,
    expected_manifest,
    ingest_lock,
    load_index,
    read_manifest,
    write_index,
)
from ..settings import Settings
from ..text.dates import infer_published
from ..types import Chunk, IngestReport
from .chunk import chunk_article
from .clean import clean
from .files import SUFFIXES, discover, read_article

def ingest(
    paths: list[Path],
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: bool = False,
) -> IngestReport:
    """Bring the index at ``settings.index_dir`` in line with the files under ``paths``."""
    began = time.perf_counter()
    index_dir = settings.index_dir
    files, skipped = discover(paths)
    with ingest_lock(index_dir):
        old = None
        if not rebuild:
            try:
                old = load_index(index_dir, expected_manifest(settings, embedder)) if read_manifest(index_dir) is not None else None
            except IndexMismatchError:
                old = None  # other model/format/chunking, or damaged: everything is re-embedded
        old_chunks: dict[str, list[int]] = {}
        if old is not None:
            for i, c in enumerate(old.chunks):
                old_chunks.setdefault(c.source, []).append(i)

        documents: list[Document] = []
        kept_rows: list[int] = []
        chunks: list[Chunk] = []
        new_chunks: list[Chunk] = []
        added, updated, unchanged = [], [], []
        seen_hashes: dict[str, str] = {}
        for f in files:
            try:
                text, encoding, digest = read_article(f.path, int(settings.max_file_mb * 1e6))
            except (OSError, ValueError) as exc:
                skipped[f.source] = str(exc) if isinstance(exc, ValueError) else f"unreadable: {exc.strerror or exc}"
                continue
            if digest in seen_hashes:
                skipped[f.source] = f"duplicate of {seen_hashes[digest]}"
                continue
            seen_hashes[digest] = f.source
            prior = old.documents.get(f.source) if old else None
            if prior is not None and prior.sha256 == digest:
                documents.append(prior)
                rows = old_chunks.get(f.source, [])
                kept_rows.extend(rows)
                chunks.extend(old.chunks[i] for i in rows)
                unchanged.append(f.source)
                continue
            article = clean(text, is_html=SUFFIXES[f.path.suffix.lower()] == "html")
            inferred = article.published is None and (date := infer_published(text)) is not None
            if inferred:
                article = replace(article, published=date)
            pieces = chunk_article(
                article, f.source, max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap_sentences
            )
            pieces = [replace(c, published_inferred=True) for c in pieces] if inferred else pieces
            if not pieces:
                skipped[f.source] = "no text left after cleaning"
                continue
            documents.append(Document(f.source, text, digest, article.published, article.title, encoding, len(pieces), inferred))
            new_chunks.extend(pieces)
            (updated if prior is not None else added).append(f.source)

        vectors = embedder.encode([c.text for c in new_chunks], progress=progress)
        parts = [old.embeddings[kept_rows]] if old is not None and kept_rows else []
        embeddings = np.concatenate(parts + [vectors]) if parts else vectors
        chunks.extend(new_chunks)
        removed = sorted(set(old.documents) - {d.source for d in documents}) if old else []
        changed = added or updated or removed or old is None
        if changed:
            manifest = {
                "format_version": FORMAT_VERSION,
                **expected_manifest(settings, embedder),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "files": {d.source: {"sha256": d.sha256, "published": d.published, "published_inferred": d.published_inferred, "chunks": d.chunks} for d in documents},
            }
            try:
                write_index(index_dir, manifest, documents, chunks, embeddings, vector_index=VectorIndexConfig.from_settings(settings))
            except (OSError, RuntimeError) as exc:  # disk full, read-only folder (faiss raises RuntimeError)
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else " ".join(str(exc).split())[-160:]
                raise IngestError(f"could not write the index in {index_dir} ({reason}); the previous index is unchanged") from exc
    return IngestReport(
        added=tuple(added),
        updated=tuple(updated),
        removed=tuple(removed),
        unchanged=tuple(unchanged),
        skipped=skipped,
        chunks=len(chunks),
        embedded=len(new_chunks),
        seconds=time.perf_counter() - began,
    )
