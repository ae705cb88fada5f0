"""What only the PostgreSQL store has: a damaged schema, kill -9 between batch transactions, the
embedded server shared by several processes, and the lexical side scoring as bm25s does.

Through the real `rag` command where processes matter (with the fake embedder, so each process
starts in seconds); observed from outside (the database itself, ``pg_locks``, the server's pid file).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from rag import IndexMismatchError, Settings
from rag.index.embed import FakeEmbedder
from rag.index.stores import open_index
from rag.ingest.run import ingest

from .conftest import ROOT, SEEDS
from .test_reliability import _write_variant

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1", "RAG_STORE": "postgres", "RAG_EMBED_BACKEND": "fake"}


def rag(*args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.faces.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, **kw)


def pg_state(url: str) -> dict[str, str]:
    """{document: sha256}, after checking chunks, lexicon and stats agree with the documents."""
    with psycopg.connect(url) as conn:
        docs = dict(conn.execute("SELECT source, meta->>'sha256' FROM documents").fetchall())
        per_doc = dict(conn.execute("SELECT d.source, count(c.id) FROM documents d LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.source").fetchall())
        declared = dict(conn.execute("SELECT source, (meta->>'chunks')::int FROM documents").fetchall())
        stats = conn.execute("SELECT documents, chunks FROM corpus_stats").fetchone()
        df_ok = conn.execute(
            "SELECT count(*) = 0 FROM (SELECT x, count(*) n FROM chunks, unnest(tsvector_to_array(lexemes)) x GROUP BY x) t "
            "FULL JOIN lexicon l ON l.lexeme = t.x WHERE t.n IS DISTINCT FROM l.df").fetchone()[0]
        postings_ok = conn.execute(
            "SELECT count(*) = 0 FROM (SELECT c.id, u.lexeme, cardinality(u.positions) AS tf FROM chunks c, unnest(c.lexemes) u) t "
            "FULL JOIN postings p ON p.chunk_id = t.id AND p.lexeme = t.lexeme WHERE t.tf IS DISTINCT FROM p.tf").fetchone()[0]
    assert per_doc == declared, "a document lost chunks or has extra ones"
    assert stats == (len(docs), sum(per_doc.values())) and df_ok, "stats or lexicon out of step with the rows"
    assert postings_ok, "postings out of step with the chunks' words"
    return docs


DAMAGE = {
    "chunks table dropped": "DROP TABLE chunks CASCADE",
    "manifest row deleted": "DELETE FROM rag_manifest",
    "other format version": "UPDATE rag_manifest SET manifest = jsonb_set(manifest, '{format_version}', '99')",
    "other dimension": "UPDATE rag_manifest SET manifest = jsonb_set(manifest, '{embedding_dim}', '768')",
    "other chunking": "UPDATE rag_manifest SET manifest = jsonb_set(manifest, '{chunking}', '{\"chunk_tokens\": 512}')",
    "newer schema": "INSERT INTO rag_migrations (version) VALUES (99)",
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_database_gives_one_error_naming_the_fix_and_ingest_repairs_it(kind, pg_url, tmp_path, corpus):
    settings = Settings(index_dir=tmp_path / "idx", store="postgres", database_url=pg_url)
    fake = FakeEmbedder()
    ingest([corpus], settings, fake)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(DAMAGE[kind])
    with pytest.raises(IndexMismatchError) as err:
        open_index(settings, fake)
    message = str(err.value)
    assert "\n" not in message and message.endswith(f"rag ingest --rebuild --index {settings.index_dir}")
    if kind == "newer schema":
        return  # a newer version's database is not this version's to rebuild
    report = ingest([corpus], settings, fake)
    assert len(report.added) == 4 and report.embedded == report.chunks
    assert set(pg_state(pg_url)) == {p.name for p in SEEDS.iterdir()}


def _lock_held(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()[0]


def _some_new(url: str, target: dict[str, str]) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) > 0 FROM documents WHERE meta->>'sha256' = ANY(%s)", (list(target.values()),)).fetchone()[0]


def test_kill_9_mid_ingest_leaves_every_file_old_or_new_and_the_next_run_completes(pg_url, tmp_path):
    env = {**ENV, "RAG_DATABASE_URL": pg_url}
    corpus = tmp_path / "corpus"
    before = _write_variant(corpus, 0, articles=150)  # ~750 chunks: 3 batch transactions
    assert rag("ingest", str(corpus), "--index", str(tmp_path / "idx"), env=env, timeout=300).returncode == 0
    now = pg_state(pg_url)
    assert now == before
    mixed = 0
    # (what to wait for, extra delay): right after the lock; as soon as a first batch is
    # committed (the next one is being embedded or written); and a little later.
    for variant, (when, delay) in enumerate([("locked", 0.0), ("committed", 0.0), ("committed", 0.05), ("locked", 0.5)], start=1):
        target = _write_variant(corpus, variant, articles=150)
        proc = subprocess.Popen([sys.executable, "-m", "rag.faces.cli", "ingest", str(corpus), "--index", str(tmp_path / "idx")],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while not (_lock_held(pg_url) if when == "locked" else _some_new(pg_url, target)):
                assert proc.poll() is None and time.monotonic() < deadline, f"the ingest ended before {when}"
                time.sleep(0.005)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        previous, now = now, pg_state(pg_url)
        assert all(now[f] in (previous[f], target[f]) for f in target), f"kill at {when}+{delay}s left a half-written file"
        mixed += len({now[f] == target[f] for f in target}) == 2
    assert mixed >= 1, "no kill landed between two batch transactions"
    deadline = time.monotonic() + 30
    while _lock_held(pg_url):  # the server notices the dead session and frees its lock
        assert time.monotonic() < deadline
        time.sleep(0.05)
    done = rag("ingest", str(corpus), "--index", str(tmp_path / "idx"), env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert pg_state(pg_url) == target


def test_embedded_server_is_shared_by_processes_and_stopped_after_the_last(tmp_path, corpus):
    """No RAG_DATABASE_URL: `rag ingest` starts PostgreSQL in <index>/postgres; two searches and an
    ingest run at once on it; when the last process exits the server stops."""
    env = {k: v for k, v in ENV.items() if k != "RAG_DATABASE_URL"}
    index = tmp_path / "idx"
    first = rag("ingest", str(corpus), "--index", str(index), env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    data = index / "postgres"
    assert (data / "PG_VERSION").is_file() and not (data / "postmaster.pid").exists()  # stopped after ingest

    extra = corpus / "004_extra.txt"
    extra.write_text("BEIJING, Sept. 4 — A late report on the trade talks between the two leaders.\n\nThe talks went on.", encoding="utf-8")
    cli = [sys.executable, "-m", "rag.faces.cli"]
    procs = [subprocess.Popen(cli + ["ingest", str(corpus), "--index", str(index)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    procs += [subprocess.Popen(cli + ["search", "trade between China and Russia", "--json", "--index", str(index)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    assert all('"hits"' in out for out, _ in outs[1:])
    assert "1 added" in outs[0][0]
    assert not (data / "postmaster.pid").exists()  # the last one out stopped it
    search = rag("search", "late report on the trade talks", "--json", "--index", str(index), env=env, timeout=120)
    assert search.returncode == 0 and "004_extra.txt" in search.stdout


def test_lexical_ranking_equals_bm25s(pg_url, tmp_path, corpus):
    """The SQL BM25 ranks as llama-index's BM25Retriever (bm25s) does on the same chunks (ties
    in chunk order, as the FAISS store's ``Retriever.sparse``)."""
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    settings = Settings(index_dir=tmp_path / "idx", store="postgres", database_url=pg_url)
    fake = FakeEmbedder()
    ingest([corpus], settings, fake)
    index = open_index(settings, fake)
    chunks = list(index.chunks)
    order = {c.id: i for i, c in enumerate(chunks)}
    bm25 = BM25Retriever.from_defaults(nodes=[TextNode(text=c.text, id_=c.id) for c in chunks], similarity_top_k=len(chunks))
    retriever = store_retriever(index, fake)
    for query in ["China Russia trade 2024", "Modi tariffs India", "parade Beijing Kim", "the the of", "trade trade summit"]:
        ours = [c.id for c in retriever.lexical(query, len(chunks))]
        scored = [(n.node.node_id, float(n.score)) for n in bm25.retrieve(query) if n.score > 0]
        theirs = [i for i, _ in sorted(scored, key=lambda t: (-round(t[1], 5), order[t[0]]))]
        assert ours == theirs, query


def test_ingest_upgrades_a_schema_1_database_with_postings_and_ranks_alike(pg_url, tmp_path, corpus):
    """A database written before postings existed (schema 1) is upgraded in place by the next
    `rag ingest` (nothing re-embedded), and its lexical search then ranks as before."""
    settings = Settings(index_dir=tmp_path / "idx", store="postgres", database_url=pg_url)
    fake = FakeEmbedder()
    ingest([corpus], settings, fake)
    queries = ["China Russia trade 2024", "Modi tariffs India", "the the of"]
    retriever = store_retriever(open_index(settings, fake), fake)
    before = {q: [c.id for c in retriever.lexical(q, 50)] for q in queries}
    with psycopg.connect(pg_url, autocommit=True) as conn:  # back to schema 1
        conn.execute("DROP TABLE postings; ALTER TABLE corpus_stats DROP COLUMN impact_avgdl; DELETE FROM rag_migrations WHERE version = 2")
    with pytest.raises(IndexMismatchError, match="upgrade it with: rag ingest"):
        open_index(settings, fake)
    report = ingest([corpus], settings, fake)
    assert report.embedded == 0 and not report.added
    pg_state(pg_url)
    retriever = store_retriever(open_index(settings, fake), fake)
    assert {q: [c.id for c in retriever.lexical(q, 50)] for q in queries} == before


def test_common_words_read_a_bounded_number_of_postings_and_still_rank_by_bm25(pg_url, tmp_path, corpus, monkeypatch):
    """With every word "common" (WORD_DEPTH 1), the candidates are each word's best chunk and the
    chunks holding all words; those are still scored exactly: each hit's score is its bm25s score,
    and the best chunk holding all the words is found."""
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    from rag.index import pg_retrieve

    settings = Settings(index_dir=tmp_path / "idx", store="postgres", database_url=pg_url)
    fake = FakeEmbedder()
    ingest([corpus], settings, fake)
    index = open_index(settings, fake)
    chunks = list(index.chunks)
    bm25 = BM25Retriever.from_defaults(nodes=[TextNode(text=c.text, id_=c.id) for c in chunks], similarity_top_k=len(chunks))
    monkeypatch.setattr(pg_retrieve, "WORD_DEPTH", 1)
    retriever = store_retriever(index, fake)
    query = "trade China Russia"
    exact = {n.node.node_id: float(n.score) for n in bm25.retrieve(query) if n.score > 0}
    found = retriever._sparse(query, 1)
    assert found and all(abs(score - exact[chunk.id]) < 1e-6 for _, score, _, chunk in found)
    assert found[0][1] == pytest.approx(max(exact.values()))


def store_retriever(index, embedder):  # the store's retriever, as Assistant builds it
    from rag.index.stores import make_retriever

    return make_retriever(index, embedder, candidate_k=20, rrf_k=60)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen) -> None:
    import urllib.request

    for _ in range(240):
        assert proc.poll() is None, proc.stderr.read()[-800:]
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not become ready")


def _serve(index: Path, env: dict) -> tuple[str, subprocess.Popen]:
    """`rag serve` on a free loopback port, once /readyz answers: (its URL, the process)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rag.faces.cli", "serve", "--index", str(index), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
    except BaseException:
        proc.kill()
        raise
    return url, proc


def test_rag_serve_stopped_with_sigterm_stops_the_embedded_server(tmp_path, corpus):
    """uvicorn ends a SIGTERM'd process by re-raising the signal, so pgserver's exit hook never
    ran and PostgreSQL kept running; the app's shutdown now leaves the server itself."""
    env = {k: v for k, v in ENV.items() if k != "RAG_DATABASE_URL"} | {"RAG_LLM_BACKEND": "fake"}
    index = tmp_path / "idx"
    assert rag("ingest", str(corpus), "--index", str(index), env=env, timeout=300).returncode == 0
    _, server = _serve(index, env)
    try:
        assert (index / "postgres" / "postmaster.pid").exists()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    pid_file = index / "postgres" / "postmaster.pid"
    left = pid_file.read_text().split()[0] if pid_file.exists() else None
    if left:
        os.kill(int(left), signal.SIGTERM)  # do not leave a server behind when this fails
    assert left is None, server.stderr.read()[-500:]


def test_two_rag_serve_processes_answer_from_one_database_while_a_third_ingests(pg_url, tmp_path, corpus):
    """The scaling-out shape: two stateless `rag serve` processes on their own ports, one database,
    an ingest in a third process. Both answer alike, keep answering during the ingest, and find
    the newly ingested article afterwards without a restart. Real HTTP, the real ``openai`` client."""
    import openai

    env = ENV | {"RAG_DATABASE_URL": pg_url, "RAG_LLM_BACKEND": "fake"}
    index = tmp_path / "idx"
    assert rag("ingest", str(corpus), "--index", str(index), env=env, timeout=300).returncode == 0
    urls, servers = [], []
    try:
        for _ in range(2):
            url, proc = _serve(index, env)
            urls.append(url)
            servers.append(proc)
        clients = [openai.OpenAI(base_url=f"{u}/v1", api_key="unused", max_retries=0, timeout=60) for u in urls]
        question = [{"role": "user", "content": "How much was trade between China and Russia in 2024?"}]
        first = [c.chat.completions.create(model="rag-news", messages=question) for c in clients]
        assert first[0].choices[0].message.content == first[1].choices[0].message.content
        assert first[0].model_extra["citations"] == first[1].model_extra["citations"] and first[0].model_extra["citations"]

        for i in range(40):  # enough new articles that the ingest takes a while
            (corpus / f"010_late_{i:02d}.txt").write_text(
                f"MOSCOW, Sept. 5 — Late dispatch {i} on the grain corridor talks in Kazan.\n\n"
                f"Negotiators in Kazan discussed grain corridor quotas for the {i}th time.\n\nThe talks are set to resume.", encoding="utf-8")
        ingest = subprocess.Popen([sys.executable, "-m", "rag.faces.cli", "ingest", str(corpus), "--index", str(index)],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        during = [0, 0]
        while ingest.poll() is None:
            for n, c in enumerate(clients):
                reply = c.chat.completions.create(model="rag-news", messages=question)
                assert reply.model_extra["citations"], reply
                during[n] += ingest.poll() is None
        out, err = ingest.communicate(timeout=300)
        assert ingest.returncode == 0, err[-800:]
        assert "40 added" in out
        assert all(during), f"answers given while the ingest ran: {during}"

        for c in clients:  # the new articles are there for both, without a restart
            found = c.post("/search", cast_to=object, body={"query": "grain corridor talks in Kazan", "k": 4})
            assert found["hits"] and all(h["source"].startswith("010_late_") for h in found["hits"])
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
