"""The engine's store-facing behaviour on both index stores (FAISS files and PostgreSQL + pgvector).

Each test here runs once per store (the ``store`` fixture); the PostgreSQL runs use a fresh
database on the embedded server that the test session starts once and stops at its end
(``pg_server`` in conftest). The real MiniLM embedder ranks; the fake one is used where only the
store's bookkeeping is under test.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rag import Assistant, IndexMismatchError, IndexNotFoundError, IngestError, Settings
from rag.index.embed import FakeEmbedder
from rag.index.stores import open_index
from rag.ingest.run import ingest
from rag.llm.fake import FakeLLM

from .conftest import SEED_QUESTIONS, SEEDS

QUESTIONS = SEED_QUESTIONS
CHANGED, DELETED = "003_688ff7a65efc7fda.txt", "002_ed8ed3a4a9ec07fd.txt"


def comparable(answer) -> dict:
    data = answer.to_dict()
    data.pop("timings")
    return data


def state(settings: Settings, embedder) -> dict[str, str]:
    """{document: sha256} of the live index, after checking every chunk has its document."""
    index = open_index(settings, embedder)
    documents = {name: doc.sha256 for name, doc in index.documents.items()}
    assert {c.source for c in index.chunks} == set(documents)
    return documents


@contextlib.contextmanager
def another_ingest_running(settings: Settings):
    """Hold what a running ingest holds: the FAISS folder's lock, or the database's advisory lock."""
    if settings.store == "faiss":
        from rag.index.store import ingest_lock

        with ingest_lock(settings.index_dir):
            yield
        return
    import psycopg

    from rag.index.pg import LOCK_SQL

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        assert conn.execute(LOCK_SQL).fetchone()[0]
        yield


def test_ingest_then_reingest_embeds_only_changed_files_and_drops_deleted(store_settings, corpus, embedder):
    settings = store_settings()
    first = ingest([corpus], settings, embedder)
    assert len(first.added) == 4 and first.embedded == first.chunks > 0
    again = ingest([corpus], settings, embedder)
    assert again.embedded == 0 and len(again.unchanged) == 4 and again.chunks == first.chunks

    changed = corpus / CHANGED
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA new closing sentence was added today.", encoding="utf-8")
    (corpus / DELETED).unlink()
    third = ingest([corpus], settings, embedder)
    assert third.updated == (CHANGED,) and third.removed == (DELETED,) and third.added == ()
    index = open_index(settings, embedder)
    assert third.embedded == sum(c.source == CHANGED for c in index.chunks)
    assert set(index.documents) == {p.name for p in corpus.iterdir()} and third.chunks == len(index.chunks)
    assert index.documents[CHANGED].text.endswith("added today.")


def test_search_hits_are_slices_of_the_original_files(store_settings, corpus, embedder):
    settings = store_settings(llm_backend="fake")
    ingest([corpus], settings, embedder)
    assistant = Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM())
    hits = assistant.search("China Russia bilateral trade 2024", k=4)
    assert len(hits) == 4 and any("244.8" in h.text for h in hits[:2])
    for h in hits:
        assert h.text == (corpus / h.source).read_text(encoding="utf-8")[h.start : h.end]
    narrowed = assistant.filtered(source=CHANGED)
    assert {h.source for h in narrowed.search("trade", k=3)} == {CHANGED}
    assert narrowed.retriever.filtered_articles == 1


def test_both_stores_give_the_same_hits_and_answers(tmp_path, corpus, embedder, pg_url):
    """RAG_STORE=postgres answers as the default store does: same passages, same checked answers."""
    questions = QUESTIONS + ["Which articles mention Putin?", "Summarize the article about the parade"]
    results = {}
    for store, extra in [("faiss", {}), ("postgres", {"database_url": pg_url})]:
        settings = Settings(index_dir=tmp_path / store, store=store, llm_backend="fake", **extra)
        ingest([corpus], settings, embedder)
        assistant = Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM())
        results[store] = {
            "hits": [[h.to_dict() for h in assistant.search(q, k=6)] for q in questions],
            "answers": [comparable(assistant.ask(q)) for q in questions],
            "filtered": [h.to_dict() for h in assistant.filtered(since="2025-09-03").search(QUESTIONS[0], k=4)],
            "sources": [s.to_dict() for s in assistant.sources()],
        }
    assert results["postgres"] == results["faiss"]
    assert sum(not a["refused"] for a in results["faiss"]["answers"]) >= 3  # real answers, not only refusals


def test_index_of_another_model_is_refused_and_ingest_rebuilds_it(store_settings, corpus, embedder):
    settings = store_settings()
    ingest([corpus], settings, FakeEmbedder())
    with pytest.raises(IndexMismatchError, match=rf"rebuild it with: rag ingest --rebuild --index {settings.index_dir}$"):
        open_index(settings, embedder)
    report = ingest([corpus], settings, embedder)  # no --rebuild: a foreign index is rebuilt
    assert len(report.added) == 4 and report.embedded == report.chunks
    assert set(state(settings, embedder)) == {p.name for p in SEEDS.iterdir()}


def test_missing_index_names_the_command(store_settings, embedder):
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        open_index(store_settings(), embedder)


def test_doctor_describes_the_index_of_either_store(store_settings, corpus):
    from rag.faces.doctor import check_index

    settings = store_settings()
    missing = check_index(settings)
    assert not missing.ok and "rag ingest" in missing.fix
    report = ingest([corpus], settings, FakeEmbedder())
    line = check_index(settings)
    assert line.ok and f"4 articles, {report.chunks} chunks" in line.detail, line.detail


def test_second_ingest_is_refused_with_one_line(store_settings, corpus):
    from rag.index.pg_server import describe

    settings = store_settings()
    fake = FakeEmbedder()
    ingest([corpus], settings, fake)
    where = settings.index_dir if settings.store == "faiss" else describe(settings)
    with another_ingest_running(settings), pytest.raises(IngestError) as err:
        ingest([corpus], settings, fake)
    assert str(err.value) == f"another ingest is writing {where}; wait for it to finish and retry"
    assert ingest([corpus], settings, fake).unchanged  # the lock is free again


def test_twenty_concurrent_searches_and_five_asks_agree_with_one_alone(store_settings, corpus, embedder):
    """20 searches at the same moment (each store's pool or shared index), then one ask per question
    at once (tests/test_concurrency.py has 20 asks on the default store)."""
    settings = store_settings(llm_backend="fake")
    ingest([corpus], settings, embedder)
    assistant = Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM())
    searched = {q: [h.to_dict() for h in assistant.search(q)] for q in QUESTIONS}
    alone = {q: comparable(assistant.ask(q)) for q in QUESTIONS}

    def together(jobs: list[str], work) -> list:  # noqa: ANN001
        start = threading.Barrier(len(jobs))

        def one(question: str):  # noqa: ANN202
            start.wait(timeout=60)
            return work(question)

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            return list(pool.map(one, jobs))

    many = [QUESTIONS[i % len(QUESTIONS)] for i in range(20)]
    for question, hits in zip(many, together(many, lambda q: [h.to_dict() for h in assistant.search(q)])):
        assert hits == searched[question], question
    for question, answer in zip(QUESTIONS, together(QUESTIONS, lambda q: comparable(assistant.ask(q)))):
        assert answer == alone[question], question


def test_searches_keep_answering_while_an_ingest_writes(store_settings, corpus, embedder, tmp_path):
    settings = store_settings(llm_backend="fake")
    ingest([corpus], settings, embedder)
    old = {p.name: p.read_text(encoding="utf-8") for p in corpus.iterdir()}
    for p in corpus.iterdir():  # every file changes: the ingest re-embeds and rewrites all of them
        p.write_text("Update: this story was revised.\n\n" + old[p.name], encoding="utf-8")
    new = {p.name: p.read_text(encoding="utf-8") for p in corpus.iterdir()}
    assistant = Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM())
    done, seen, errors = threading.Event(), [], []

    def search_until_done() -> None:
        while not done.is_set() or not seen:
            try:
                hits = assistant.search(QUESTIONS[0], k=4)
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(repr(exc))
                return
            seen.append(len(hits))

    readers = [threading.Thread(target=search_until_done) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        report = ingest([corpus], settings, embedder)
    finally:
        done.set()
        for t in readers:
            t.join(timeout=60)
    assert not errors and seen and all(n == 4 for n in seen)
    assert len(report.updated) == 4
    if settings.store == "postgres":  # the store is shared: the same assistant sees the new texts
        for h in assistant.search(QUESTIONS[0], k=4):
            assert h.text == new[h.source][h.start : h.end]
