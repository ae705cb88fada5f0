"""Shared fixtures: a real index of the seeds (real MiniLM embedder), built once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# Seed questions the articles answer, asked many at once by the concurrency and store tests.
SEED_QUESTIONS = [
    "What was China-Russia trade in 2024?",
    "Where did Xi open the SCO summit?",
    "How many cooperation agreements did Xi and Putin sign?",
    "Who attended the Beijing parade?",
    "What tariffs did Trump put on India?",
]


@pytest.fixture(scope="session")
def embedder():
    from rag.index.embed import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, embedder) -> Path:
    """Index folder built from seeds/ with the real embedder. Treat as read-only."""
    from rag import Settings
    from rag.ingest.run import ingest

    index_dir = tmp_path_factory.mktemp("seed-index")
    ingest([SEEDS], Settings(index_dir=index_dir), embedder)
    return index_dir


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of seeds/ for tests that change files."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def make_assistant(seed_index, embedder):
    """Build an Assistant on the seed index with a fake LLM scripted by ``replies``."""
    from rag import Assistant, Settings
    from rag.llm.fake import FakeLLM

    def build(replies=None, **overrides):
        settings = Settings(index_dir=seed_index, llm_backend="fake", **overrides)
        llm = FakeLLM(replies)
        return Assistant.from_settings(settings, embedder=embedder, llm=llm), llm

    return build


@pytest.fixture(scope="session")
def local_assistant(seed_index, embedder):
    """Assistant with the real local LLM (loaded once). Tests using it are marked ``llm``."""
    from rag import Assistant, Settings

    return Assistant.from_settings(Settings(index_dir=seed_index, llm_backend="local"), embedder=embedder)


# -- the PostgreSQL store (issue 16): one embedded server per test session ----------------------
@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """An embedded PostgreSQL 16 + pgvector (pgserver), started once and stopped at the end."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="stop")
    yield server
    from rag.index.pg import close_pools

    close_pools()
    server.cleanup()


@pytest.fixture
def pg_url(pg_server):
    """The URL of a new, empty database on the session's server, dropped after the test."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_server.get_uri("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = pg_server.get_uri(name)
    yield url
    from rag.index.pg import close_pools

    close_pools(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["faiss", "postgres"])
def store(request) -> str:
    """Each store-facing test runs on both index stores."""
    return request.param


@pytest.fixture
def store_settings(store, tmp_path, request):
    """``make(**overrides)``: Settings for this test's store (a fresh database for PostgreSQL)."""
    from rag import Settings

    extra = {"database_url": request.getfixturevalue("pg_url")} if store == "postgres" else {}

    def make(**overrides):
        return Settings(**{"index_dir": tmp_path / "idx", "store": store, **extra, **overrides})

    return make
