"""Add article files handed over one by one (chat attachments, uploads) to an index.

``add_files`` checks each file before keeping it (a known suffix, under the size limit, and
readable: a page with an article, a feed with entries, an export with at least one good line, a
text file that is text), saves the good ones into ``folder`` (the corpus folder, so a later
``rag ingest`` keeps them) and ingests only those, incrementally, keeping everything else in
the index. A file refused here is not saved. Nothing here knows about Chainlit or HTTP.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..index.embed import Embedder
from ..settings import Settings
from ..types import IngestReport
from .files import SUFFIXES, decode_text
from .formats import FormatError, read_news
from .run import ingest


@dataclass(frozen=True)
class Attached:
    """What became of attached files: the ingest report (added/updated documents, skipped lines
    or entries) and the files refused before ingest, each with its one-line reason."""

    report: IngestReport | None
    refused: dict[str, str] = field(default_factory=dict)
    saved: tuple[Path, ...] = ()


def add_files(files: list[tuple[str, Path]], folder: Path, settings: Settings, embedder: Embedder) -> Attached:
    """Check, save into ``folder`` and ingest ``(name, path)`` pairs; see the module docstring."""
    refused: dict[str, str] = {}
    keep: dict[str, bytes] = {}
    limit = int(settings.max_file_mb * 1e6)
    for raw_name, path in files:
        name = Path(str(raw_name)).name.strip()  # never a path: no "../" out of the folder
        if not name or name.startswith("."):
            refused[raw_name or "(unnamed)"] = "file name is empty or hidden; rename the file"
            continue
        if Path(name).suffix.lower() not in SUFFIXES:
            refused[name] = f"unsupported file type {Path(name).suffix or '(none)'}; expected {', '.join(sorted(SUFFIXES))}"
            continue
        try:
            size = path.stat().st_size
            if size > limit:
                raise ValueError(f"file is {size / 1e6:.1f} MB, over the {limit / 1e6:g} MB limit (setting max_file_mb)")
            data = path.read_bytes()
            check(name, data)
        except OSError as exc:
            refused[name] = f"unreadable: {exc.strerror or exc}"
            continue
        except ValueError as exc:
            refused[name] = str(exc)
            continue
        keep[name] = data
    if not keep:
        return Attached(None, refused)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, data in keep.items():
        target = folder / name
        if not (target.is_file() and hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()):
            target.write_bytes(data)
        saved.append(target)
    report = ingest(saved, settings, embedder, prune=False)
    return Attached(report, refused, tuple(saved))


def check(name: str, data: bytes) -> None:
    """ValueError with a one-line reason when ``data`` gives no article."""
    if not data.strip():
        raise ValueError("empty file")
    if SUFFIXES[Path(name).suffix.lower()] == "news":
        try:
            result = read_news(data, name)
        except FormatError as exc:
            raise ValueError(str(exc)) from exc
        if not result.articles:
            reasons = "; ".join(str(p) for p in result.problems[:3])
            raise ValueError(f"no article could be read ({reasons or 'no entries'})")
    else:
        decode_text(data)
