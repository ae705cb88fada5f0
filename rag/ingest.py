"""Ingest a corpus folder into the index, incrementally.

Reads .txt/.md/.html files, cleans and chunks them, embeds only files that are new or changed
(by sha256), reuses stored vectors for the rest, drops files that disappeared, and writes a new
index version atomically. Problem files are skipped with a one-line reason; nothing else is lost.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .chunk import chunk_article
from .clean import clean
from .dates import infer_published
from .embed import Embedder
from .errors import IndexMismatchError, IngestError
from .settings import Settings
from .store import FORMAT_VERSION, Document, VectorIndexConfig, ingest_lock, load_index, read_manifest, write_index
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
                for d in [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
                    dirnames.remove(d)  # a linked folder could loop or leave the corpus
                    skipped[_display((Path(dirpath) / d).relative_to(root).as_posix())] = "symlinked folder not followed"
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    path = Path(dirpath) / name
                    rel = path.relative_to(root).as_posix()
                    if _display(rel) != rel:  # stored names and JSON output must be valid UTF-8
                        skipped[_display(rel)] = "file name is not valid UTF-8; rename the file"
                        continue
                    candidates.append((rel, path))
            candidates = [(n, p) for n, p in candidates if _inside(p, real_root, skipped, n)]
        for name, path in candidates:
            if path.suffix.lower() not in SUFFIXES:
                skipped[name] = f"unsupported file type {path.suffix or '(none)'}; expected {', '.join(sorted(SUFFIXES))}"
            else:
                files[name] = SourceFile(name, path)
    return sorted(files.values(), key=lambda f: f.source), skipped


def _display(name: str) -> str:
    """``name`` with undecodable bytes (kept by Python as surrogates) shown as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


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


# Bytes that do not occur in text files (tab, newlines, form feed and ESC do).
CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b < 27 or 27 < b < 32)


def read_article(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[str, str, str]:
    """(text, encoding, sha256) of a file; raises ValueError with a one-line reason."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise ValueError("not a regular file")
    if st.st_size > max_bytes:
        raise ValueError(f"file is {st.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit (setting max_file_mb)")
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValueError("broken UTF-16 text") from exc
        if not text.strip():
            raise ValueError("empty file")
        return text, "utf-16", hashlib.sha256(data).hexdigest()
    head = data[:8192]
    if b"\x00" in data or len(head) - len(head.translate(None, CONTROL_BYTES)) > 0.1 * len(head):
        raise ValueError("binary file (NUL or control bytes), not text")
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
