"""``rag ingest --watch``: follow folders and ingest what is added, changed or removed.

watchfiles (Rust ``notify``) reports batches of changes, debounced; each batch that touches a
file ingest reads (or removes one) runs one incremental ``ingest`` of the watched paths, which
re-embeds only files whose sha256 changed and drops documents of files that are gone. It yields
each run's ``IngestReport``; stop it with Ctrl-C or ``stop_event``. A failed run (say, another
ingest holds the lock) is reported as a skipped entry and the watch goes on.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

from ..errors import IngestError
from ..index.embed import Embedder
from ..settings import Settings
from ..types import IngestReport
from .files import SUFFIXES
from .run import ingest


def relevant(path: str) -> bool:
    """A change worth an ingest: a file of a read suffix, not hidden: ``relevant("a/b.rss") -> True``."""
    p = Path(path)
    return p.suffix.lower() in SUFFIXES and not any(part.startswith(".") for part in p.parts[-2:])


def watch(
    paths: list[Path],
    settings: Settings,
    embedder: Embedder,
    *,
    debounce_ms: int = 1600,
    stop_event: threading.Event | None = None,
) -> Iterator[IngestReport]:
    """Ingest ``paths`` each time files under them change, yielding every run's report."""
    import watchfiles

    folders = [str(p) for p in paths]
    for changes in watchfiles.watch(*folders, debounce=debounce_ms, stop_event=stop_event, raise_interrupt=False):
        if not any(relevant(path) for _, path in changes):
            continue
        try:
            yield ingest(paths, settings, embedder)
        except IngestError as exc:
            yield IngestReport(skipped={"(watch)": str(exc)})
