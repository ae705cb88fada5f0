"""Ingest a corpus folder into the index, incrementally.

Takes the files ``files.py`` finds and reads, cleans and chunks them, embeds only files that are new or changed
(by sha256), reuses stored vectors for the rest, drops files that disappeared, and writes a new
index version atomically. Problem files are skipped with a one-line reason; nothing else is lost:
a file indexed before that is still there but cannot be read or parsed now (permission denied, an
I/O error, a half-written save) keeps its previous version, and the reason says so.
The index format itself (folders, manifest, atomic switch) is ``index/store.py``'s business.
"""

from __future__ import annotations

import hashlib
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
from .files import SUFFIXES, SourceFile, decode_text, discover, read_bytes
from .formats import ExtractedArticle, FormatError, ReadProblem, read_news

Read = tuple[Document, list[Chunk]]

def ingest(
    paths: list[Path],
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: bool = False,
    prune: bool = True,
) -> IngestReport:
    """Bring the index at ``settings.index_dir`` in line with the files under ``paths``.
    ``prune=False`` only adds and updates: documents of files not under ``paths`` are kept."""
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

        old_by_file: dict[str, list[Document]] = {}
        for d in old.documents.values() if old else ():
            old_by_file.setdefault(d.origin, []).append(d)

        documents: list[Document] = []
        kept_rows: list[int] = []
        chunks: list[Chunk] = []
        new_chunks: list[Chunk] = []
        added, updated, unchanged = [], [], []
        seen_hashes: dict[str, str] = {}
        notes: dict[str, str] = {}

        def keep(priors: list[Document]) -> None:
            for prior in priors:  # a feed keeps every one of its articles
                documents.append(prior)
                rows = old_chunks.get(prior.source, [])
                kept_rows.extend(rows)
                chunks.extend(old.chunks[i] for i in rows)

        def skip(f: SourceFile, reason: str) -> None:
            """Skip ``f`` for now; a file indexed before keeps its previous version (deleting the
            file is what removes it), so a passing permission or disk problem loses nothing."""
            priors = old_by_file.pop(f.source, [])
            keep(priors)
            skipped[f.source] = f"{reason}; its previous version stays in the index" if priors else reason

        for f in files:
            try:
                data = read_bytes(f.path, int(settings.max_file_mb * 1e6))
            except ValueError as exc:
                skip(f, str(exc))
                continue
            except OSError as exc:
                skip(f, f"cannot read it now ({exc.strerror or exc})")
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen_hashes:
                skipped[f.source] = f"duplicate of {seen_hashes[digest]}"
                continue
            seen_hashes[digest] = f.source
            if (priors := old_by_file.get(f.source)) and all(p.sha256 == digest for p in priors):
                keep(old_by_file.pop(f.source))
                unchanged.append(f.source)
                continue
            try:
                read = _read_news(f.source, data, settings) if SUFFIXES[f.path.suffix.lower()] == "news" else [_read_text(f.source, data, digest, settings)]
            except ValueError as exc:  # binary, empty, or a feed that no longer parses
                skip(f, str(exc))
                continue
            priors = old_by_file.pop(f.source, [])
            before = {p.source for p in priors}
            kept = {item[0].source for item in read if not isinstance(item, ReadProblem)}
            for item in read:
                if isinstance(item, ReadProblem):  # a bad line or entry; or a caveat on one kept
                    (notes if item.key in kept else skipped)[item.key] = item.reason
                    continue
                document, pieces = item
                if not pieces:
                    skipped[document.source] = "no text left after cleaning"
                    continue
                documents.append(replace(document, sha256=digest))
                new_chunks.extend(pieces)
                (updated if document.source in before else added).append(document.source)

        if not prune:  # files not among ``paths`` (e.g. an index fed chat attachments) stay
            for priors in old_by_file.values():
                keep(priors)
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
                "files": {d.source: {"sha256": d.sha256, "published": d.published, "published_inferred": d.published_inferred, "chunks": d.chunks, "file": d.origin} for d in documents},
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
        notes=notes,
        chunks=len(chunks),
        embedded=len(new_chunks),
        seconds=time.perf_counter() - began,
    )


def _read_text(source: str, data: bytes, digest: str, settings: Settings) -> Read:
    """A .txt/.md article: the stored text is the file itself (offsets into the original)."""
    text, encoding = decode_text(data)  # ValueError: binary or empty
    article = clean(text)
    inferred = article.published is None and (date := infer_published(text)) is not None
    if inferred:
        article = replace(article, published=date)
    pieces = chunk_article(article, source, max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap_sentences)
    pieces = [replace(c, published_inferred=inferred, file=source) for c in pieces]
    return Document(source, text, digest, article.published, article.title, encoding, len(pieces), inferred, file=source), pieces


def _read_news(source: str, data: bytes, settings: Settings) -> list[Read | ReadProblem]:
    """The articles of a page, feed or JSONL export, each its own document named by its key,
    whose stored text is the extracted article; and the parts skipped, with why."""
    try:
        result = read_news(data, source)
    except FormatError as exc:
        raise ValueError(str(exc)) from exc
    return [*result.problems, *(_news_document(a, settings) for a in result.articles)]


def _news_document(extracted: ExtractedArticle, settings: Settings) -> Read:
    article = clean(extracted.text)
    published = extracted.published
    inferred = extracted.published_source == "htmldate"  # found in the page's text: a guess
    if published is None:
        published = article.published or infer_published(extracted.text)
        inferred = published is not None and article.published is None
    meta = {"url": extracted.url, "author": extracted.author, "site": extracted.site, "file": extracted.file}
    title = extracted.title or article.title
    article = replace(article, published=published, title=title)
    pieces = chunk_article(article, extracted.key, max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap_sentences)
    pieces = [replace(c, published_inferred=inferred, **meta) for c in pieces]
    document = Document(extracted.key, extracted.text, "", published, title, "utf-8", len(pieces), inferred, **meta)
    return document, pieces
