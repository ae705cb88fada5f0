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
