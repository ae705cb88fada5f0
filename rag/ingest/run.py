"""Ingest a corpus folder into the index, incrementally.

Takes the files ``files.py`` finds and reads, cleans and chunks them, embeds only files that are new or changed
(by sha256), reuses stored vectors for the rest, drops files that disappeared, and writes a new
index version atomically (FAISS), or commits a batch of files per transaction (PostgreSQL). Problem files are skipped with a one-line reason; nothing else is lost:
a file indexed before that is still there but cannot be read or parsed now (permission denied, an
I/O error, a half-written save) keeps its previous version, and the reason says so.
The index format itself (folders, manifest, atomic switch) is ``index/store.py``'s business.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

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
PG_BATCH_FILES, PG_BATCH_CHUNKS = 64, 256  # a PostgreSQL transaction: this many files or new chunks


@dataclass
class Outcome:
    """What became of one file: ``kept`` old documents stay as they are (unchanged, or unreadable
    now); ``read`` documents were read now and replace the file's ``replaced`` old ones."""

    kept: list[Document] = field(default_factory=list)
    read: list[Read] = field(default_factory=list)
    replaced: list[Document] = field(default_factory=list)


@dataclass
class Tally:
    """The report's lists, filled while reading."""

    skipped: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def read_files(files: list[SourceFile], settings: Settings, old_by_file: dict[str, list[Document]], tally: Tally) -> Iterator[Outcome]:
    """Decide file by file (by sha256 against ``old_by_file``, which loses each file it decides
    on) and read what is new or changed. Both stores ingest through this."""
    seen_hashes: dict[str, str] = {}
    skipped, notes = tally.skipped, tally.notes

    def skip(f: SourceFile, reason: str) -> Outcome:
        """Skip ``f`` for now; a file indexed before keeps its previous version (deleting the
        file is what removes it), so a passing permission or disk problem loses nothing."""
        priors = old_by_file.pop(f.source, [])
        skipped[f.source] = f"{reason}; its previous version stays in the index" if priors else reason
        return Outcome(kept=priors)

    for f in files:
        try:
            data = read_bytes(f.path, int(settings.max_file_mb * 1e6))
        except ValueError as exc:
            yield skip(f, str(exc))
            continue
        except OSError as exc:
            yield skip(f, f"cannot read it now ({exc.strerror or exc})")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen_hashes:
            skipped[f.source] = f"duplicate of {seen_hashes[digest]}"
            continue
        seen_hashes[digest] = f.source
        if (priors := old_by_file.get(f.source)) and all(p.sha256 == digest for p in priors):
            tally.unchanged.append(f.source)
            yield Outcome(kept=old_by_file.pop(f.source))
            continue
        try:
            read = _read_news(f.source, data, settings) if SUFFIXES[f.path.suffix.lower()] == "news" else [_read_text(f.source, data, digest, settings)]
        except ValueError as exc:  # binary, empty, or a feed that no longer parses
            yield skip(f, str(exc))
            continue
        priors = old_by_file.pop(f.source, [])
        before = {p.source for p in priors}
        kept = {item[0].source for item in read if not isinstance(item, ReadProblem)}
        outcome = Outcome(replaced=priors)
        for item in read:
            if isinstance(item, ReadProblem):  # a bad line or entry; or a caveat on one kept
                (notes if item.key in kept else skipped)[item.key] = item.reason
                continue
            document, pieces = item
            if not pieces:
                skipped[document.source] = "no text left after cleaning"
                continue
            outcome.read.append((replace(document, sha256=digest), pieces))
            (tally.updated if document.source in before else tally.added).append(document.source)
        yield outcome


def ingest(
    paths: list[Path],
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: bool = False,
    prune: bool = True,
) -> IngestReport:
    """Bring the index of ``settings.store`` (at ``settings.index_dir``, or the PostgreSQL
    database) in line with the files under ``paths``.
    ``prune=False`` only adds and updates: documents of files not under ``paths`` are kept."""
    began = time.perf_counter()
    files, skipped = discover(paths)
    tally = Tally(skipped)
    if settings.store == "postgres":
        removed, chunks, embedded = _ingest_postgres(files, settings, embedder, tally, rebuild=rebuild, prune=prune)
    else:
        removed, chunks, embedded = _ingest_faiss(files, settings, embedder, tally, rebuild=rebuild, progress=progress, prune=prune)
    return IngestReport(
        added=tuple(tally.added),
        updated=tuple(tally.updated),
        removed=tuple(removed),
        unchanged=tuple(tally.unchanged),
        skipped=tally.skipped,
        notes=tally.notes,
        chunks=chunks,
        embedded=embedded,
        seconds=time.perf_counter() - began,
    )


def _ingest_faiss(files: list[SourceFile], settings: Settings, embedder: Embedder, tally: Tally, *, rebuild: bool, progress: bool, prune: bool) -> tuple[list[str], int, int]:
    """The FAISS store: gather every document and vector, then write one new version."""
    index_dir = settings.index_dir
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

        def keep(priors: list[Document]) -> None:
            for prior in priors:  # a feed keeps every one of its articles
                documents.append(prior)
                rows = old_chunks.get(prior.source, [])
                kept_rows.extend(rows)
                chunks.extend(old.chunks[i] for i in rows)

        for outcome in read_files(files, settings, old_by_file, tally):
            keep(outcome.kept)
            for document, pieces in outcome.read:
                documents.append(document)
                new_chunks.extend(pieces)

        if not prune:  # files not among ``paths`` (e.g. an index fed chat attachments) stay
            for priors in old_by_file.values():
                keep(priors)
        vectors = embedder.encode([c.text for c in new_chunks], progress=progress)
        parts = [old.embeddings[kept_rows]] if old is not None and kept_rows else []
        embeddings = np.concatenate(parts + [vectors]) if parts else vectors
        chunks.extend(new_chunks)
        removed = sorted(set(old.documents) - {d.source for d in documents}) if old else []
        changed = tally.added or tally.updated or removed or old is None
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
    return removed, len(chunks), len(new_chunks)


def _ingest_postgres(files: list[SourceFile], settings: Settings, embedder: Embedder, tally: Tally, *, rebuild: bool, prune: bool) -> tuple[list[str], int, int]:
    """The PostgreSQL store: embed and commit a batch of files at a time (see ``pg_write.py``)."""
    from ..index.pg_write import PgWriter

    writer = PgWriter(settings, expected_manifest(settings, embedder), rebuild=rebuild)
    try:
        old_by_file: dict[str, list[Document]] = {}
        for d in writer.old_documents():
            old_by_file.setdefault(d.origin, []).append(d)
        gone: set[str] = set()  # sources of old documents deleted (replaced or pruned)
        new: set[str] = set()
        batch_removed: list[str] = []
        batch_read: list[Read] = []
        embedded = 0

        def flush() -> None:
            nonlocal embedded
            pieces = [c for _, chunks in batch_read for c in chunks]
            vectors = embedder.encode([c.text for c in pieces])
            writer.apply(batch_removed, batch_read, vectors)
            embedded += len(pieces)
            batch_removed.clear()
            batch_read.clear()

        files_in_batch = 0
        for outcome in read_files(files, settings, old_by_file, tally):
            if not outcome.read and not outcome.replaced:
                continue
            batch_removed.extend(d.source for d in outcome.replaced)
            batch_read.extend(outcome.read)
            gone.update(d.source for d in outcome.replaced)
            new.update(d.source for d, _ in outcome.read)
            files_in_batch += 1
            if files_in_batch >= PG_BATCH_FILES or sum(len(c) for _, c in batch_read) >= PG_BATCH_CHUNKS:
                flush()
                files_in_batch = 0
        if prune:  # documents of files no longer there (or now duplicates of another file)
            pruned = [d.source for priors in old_by_file.values() for d in priors]
            batch_removed.extend(pruned)
            gone.update(pruned)
        flush()
        writer.finish()
        return sorted(gone - new), writer.total_chunks(), embedded
    finally:
        writer.close()


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
