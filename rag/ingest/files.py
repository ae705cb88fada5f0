"""Find the article files under the paths given to ``rag ingest`` and read them as text.

``discover`` walks folders (no hidden files, no symlinks leaving the corpus, UTF-8 names only)
and returns the files with a supported suffix plus a one-line reason for every file skipped.
``read_bytes`` refuses special or oversized files; ``decode_text`` decodes a plain article
(UTF-16 by BOM, else UTF-8, cp1252, latin-1) and refuses binary or empty ones. News formats
(pages, feeds, JSONL) are parsed by ``formats.py``. Nothing here cleans, chunks or embeds.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import IngestError
from .formats import READERS

# suffix -> how it is read: "text" (clean.py, offsets into the file) or "news" (formats.py)
SUFFIXES = {".txt": "text", ".md": "text", ".markdown": "text", **{suffix: "news" for suffix in READERS}}
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    source: str
    path: Path


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
    data = read_bytes(path, max_bytes)
    return (*decode_text(data), hashlib.sha256(data).hexdigest())


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file no larger than ``max_bytes``; ValueError with a reason."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise ValueError("not a regular file")
    if st.st_size > max_bytes:
        raise ValueError(f"file is {st.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit (setting max_file_mb)")
    data = path.read_bytes()
    if not data.strip():
        raise ValueError("empty file")
    return data


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a plain article's bytes; ValueError for binary or empty text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValueError("broken UTF-16 text") from exc
        if not text.strip():
            raise ValueError("empty file")
        return text, "utf-16"
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
    return text, encoding
