"""The HTTP API's filters: `since`/`until`/`source` on /v1/search and /v1/check, and the extra
body field `filters` on /v1/chat/completions; citations carry title, URL and site."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag import Assistant, Settings
from rag.faces.api import ApiSettings, create_app
from rag.ingest.run import ingest
from rag.llm.fake import FakeLLM

NEWS = Path(__file__).resolve().parent / "fixtures" / "news"
KEY = "test-key-filters"
STRIKE = "Dockworkers at the Port of Valmora voted on Friday to end an 11-day strike [1]."


@pytest.fixture(scope="module")
def client(tmp_path_factory, embedder):
    corpus = tmp_path_factory.mktemp("news-api")
    for p in NEWS.iterdir():
        shutil.copy(p, corpus / p.name)
    settings = Settings(index_dir=tmp_path_factory.mktemp("news-api-index"), llm_backend="fake")
    ingest([corpus], settings, embedder)
    app = create_app(lambda: Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM([STRIKE] * 20)), ApiSettings(_env_file=None, api_keys=[KEY]))
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as c:
        deadline = time.monotonic() + 120  # the app loads the engine in the background at start
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, c.get("/readyz").json()
            time.sleep(0.1)
        yield c


def test_search_filters_by_date_and_source(client):
    everything = client.post("/v1/search", json={"query": "Valmora port strike", "k": 10}).json()
    assert "filter" not in everything and {h["source"] for h in everything["hits"]} >= {"newswire-export.jsonl:1", "valmora-strike.html"}
    late = client.post("/v1/search", json={"query": "Valmora port strike", "k": 10, "since": "2026-03-15"}).json()
    assert late["filter"]["since"] == "2026-03-15" and late["filter"]["articles"] >= 1
    assert all(h["published"] >= "2026-03-15" for h in late["hits"]) and "valmora-strike.html" not in {h["source"] for h in late["hits"]}
    site = client.post("/v1/search", json={"query": "Valmora port strike", "source": "The Coastal Courier"}).json()
    assert {h["source"] for h in site["hits"]} == {"valmora-strike.html"}
    assert site["hits"][0]["site"] == "The Coastal Courier" and site["hits"][0]["url"].startswith("https://www.coastalcourier.example/")


def test_chat_completions_take_filters_as_an_extra_body_field(client):
    body = {"messages": [{"role": "user", "content": "How did the Valmora strike end?"}]}
    narrowed = client.post("/v1/chat/completions", json={**body, "filters": {"source": "northbridge-daily.rss"}}).json()
    assert narrowed["filter"] == {"since": None, "until": None, "source": "northbridge-daily.rss", "articles": 3}
    assert narrowed["citations"] and all(c["source"].startswith("northbridge-daily.rss#") for c in narrowed["citations"])
    assert narrowed["citations"][0]["url"] == "https://northbridgedaily.example/2026/03/14/valmora-strike-ends"
    nothing = client.post("/v1/chat/completions", json={**body, "filters": {"until": "2020"}}).json()
    assert nothing["refused"] and nothing["filter"]["articles"] == 0


def test_a_bad_filter_date_is_a_400_with_one_line(client):
    reply = client.post("/v1/search", json={"query": "strike", "since": "yesterday"})
    assert reply.status_code == 400 and "YYYY-MM-DD" in reply.json()["error"]["message"]
