"""``rag ingest --watch``: the watcher ingests a file added to the folder and drops one removed."""

from __future__ import annotations

import queue
import shutil
import threading
from pathlib import Path

from rag import Settings
from rag.ingest.run import ingest
from rag.ingest.watch import relevant, watch

NEWS = Path(__file__).resolve().parent / "fixtures" / "news"


def _next(reports: queue.Queue, timeout: float = 60.0):
    return reports.get(timeout=timeout)


def test_watcher_picks_up_an_added_and_a_removed_file(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(NEWS / "newswire-export.jsonl", corpus / "newswire-export.jsonl")
    settings = Settings(index_dir=tmp_path / "idx")
    ingest([corpus], settings, embedder)
    reports: queue.Queue = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        for report in watch([corpus], settings, embedder, debounce_ms=200, stop_event=stop):
            reports.put(report)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        threading.Event().wait(0.5)  # let the watcher start before the first change
        shutil.copy(NEWS / "northbridge-daily.rss", corpus / "northbridge-daily.rss")
        added = _next(reports)
        while not added.added:  # a partial write can come as its own batch first
            added = _next(reports)
        assert sorted(added.added) and all(a.startswith("northbridge-daily.rss#") for a in added.added)
        assert "newswire-export.jsonl" in added.unchanged and added.embedded > 0

        (corpus / "newswire-export.jsonl").unlink()
        removed = _next(reports)
        assert sorted(removed.removed) == ["newswire-export.jsonl:1", "newswire-export.jsonl:2", "newswire-export.jsonl:6"]
        assert removed.embedded == 0
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_only_files_ingest_reads_trigger_a_run():
    assert relevant("seeds/a.txt") and relevant("/x/feed.RSS") and relevant("export.jsonl")
    assert not relevant("seeds/.a.txt.swp") and not relevant("notes.pdf") and not relevant("seeds/.hidden/a.txt")
