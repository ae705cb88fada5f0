"""Ingest a corpus folder into the index, incrementally.

Reads .txt/.md/.html files, cleans and chunks them, embeds only files that are new or changed
(by sha256), reuses stored vectors for the rest, drops files that disappeared, and writes a new
index version atomically. Problem files are skipped with a one-line reason; nothing else is lost.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunk import chunk_article
from .clean import clean
from .embed import Embedder
from .errors import IndexMismatchError, IngestError
from .settings import Settings
from .store import FORMAT_VERSION, Document, ingest_lock, load_index, read_manifest, write_index
from .types import Chunk, IngestReport

SUFFIXES = {".txt": "text", ".md": "text", ".markdown": "text", ".html": "html", ".htm": "html"}
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    source: str
    path: Path


def chunking_config(settings: Settings) -> dict[str, object]:
    return {"splitter": "sentences-v1", "chunk_tokens": settings.chunk_tokens, "overlap_sentences": settings.chunk_overlap_sentences}


def expected_manifest(settings: Settings, embedder: Embedder) -> dict[str, object]:
    return {"embedding_model": embedder.name, "embedding_dim": embedder.dim, "chunking": chunking_config(settings)}


def discover(paths: list[Path]) -> tuple[list[SourceFile], dict[str, str]]:
    """Files to ingest, named relative to the folder given, plus skipped files with reasons."""
    files: dict[str, SourceFile] = {}
    skipped: dict[str, str] = {}
    for root in paths:
        if not root.exists():
            raise IngestError(f"{root} does not exist")
        if root.is_file():
            candidates = [(root.name, root)]
        else:
            real_root = root.resolve()
            candidates = []
            for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    path = Path(dirpath) / name
                    candidates.append((path.relative_to(root).as_posix(), path))
            candidates = [(n, p) for n, p in candidates if _inside(p, real_root, skipped, n)]
        for name, path in candidates:
            if path.suffix.lower() not in SUFFIXES:
                skipped[name] = f"unsupported file type {path.suffix or '(none)'}; expected {', '.join(sorted(SUFFIXES))}"
            else:
                files[name] = SourceFile(name, path)
    return sorted(files.values(), key=lambda f: f.source), skipped


def _inside(path: Path, real_root: Path, skipped: dict[str, str], name: str) -> bool:
    if not path.is_symlink():
        return True
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        skipped[name] = "broken or looping symlink"
        return False
    if not target.is_relative_to(real_root):
        skipped[name] = f"symlink points outside the corpus folder ({target})"
        return False
    return True


def read_article(path: Path) -> tuple[str, str, str]:
    """(text, encoding, sha256) of a file; raises ValueError with a one-line reason."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"file is {size / 1e6:.0f} MB, over the {MAX_FILE_BYTES / 1e6:.0f} MB limit")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if not text.strip():
        raise ValueError("empty file")
    return text, encoding, hashlib.sha256(data).hexdigest()


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
        if not rebuild and read_manifest(index_dir) is not None:
            try:
                old = load_index(index_dir, expected_manifest(settings, embedder))
            except IndexMismatchError:
                old = None  # other model/format/chunking: everything is re-embedded
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
                text, encoding, digest = read_article(f.path)
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
            pieces = chunk_article(
                article, f.source, max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap_sentences
            )
            if not pieces:
                skipped[f.source] = "no text left after cleaning"
                continue
            documents.append(Document(f.source, text, digest, article.published, article.title, encoding, len(pieces)))
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
                "files": {d.source: {"sha256": d.sha256, "published": d.published, "chunks": d.chunks} for d in documents},
            }
            write_index(index_dir, manifest, documents, chunks, embeddings)
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
