"""The HTTP API through the real ``openai`` client, against a real uvicorn on a loopback port.

Fake LLM and fake embedder (fast); a wrapper around the fake LLM makes it slow where a test needs
a busy server. Only ``test_real_local_model_answers_through_the_api`` uses the local model.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import httpx
import openai
import pytest
import uvicorn

from rag import Assistant, RagError, Settings
from rag.faces.api import ApiSettings, create_app
from rag.faces.api_engine import StoppableLLM
from rag.faces.serve import build_app, check_exposure, serve

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
KEY, ADMIN = "test-key-1", "admin-key-1"
QUESTION = "What was China-Russia trade in 2024?"
QUESTIONS = [
    QUESTION,
    "Where did Xi open the SCO summit?",
    "What tariffs did Trump put on India?",
    "How many cooperation agreements did Xi and Putin sign?",
    "Who attended the Beijing parade?",
    "What did Modi say in Tianjin?",
    "What is the Power of Siberia 2 pipeline?",
    "What did Putin say about Ukraine?",
    "Which leaders met at the SCO summit?",
    "What weapons were shown at the parade?",
]


class SlowLLM:
    """Wraps the fake LLM: waits ``per_token`` seconds before each token and records prompts;
    everything else (its ``score``, which the support judge uses) is the fake's."""

    def __init__(self, inner, per_token: float) -> None:  # noqa: ANN001
        self.inner, self.per_token = inner, per_token
        self.prompts: list[list[dict[str, str]]] = []
        self.name = "slow-fake"

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.inner, name)

    def stream(self, messages, **kwargs) -> Iterator[str]:  # noqa: ANN001
        self.prompts.append(messages)
        for token in self.inner.stream(messages, **kwargs):
            time.sleep(self.per_token)
            yield token


def _settings(index_dir: Path, **overrides) -> Settings:
    return Settings(index_dir=index_dir, llm_backend="fake", embed_backend="fake", **overrides)


def _factory(settings: Settings, per_token: float = 0.0, record: list | None = None):  # noqa: ANN202
    def build() -> Assistant:
        base = Assistant.from_settings(settings)
        llm = SlowLLM(base.llm, per_token)
        if record is not None:
            record.append(llm)
        return Assistant.from_settings(settings, embedder=base.embedder, llm=StoppableLLM(llm))  # as serve.py does

    return build


def _ingest(corpus: Path, settings: Settings) -> None:
    try:  # the ingest entry point; its module moves during the subpackage restructure
        from rag.ingest.run import ingest
    except ImportError:
        from rag.ingest import ingest
    ingest([corpus], settings, _embedder(settings))


def _embedder(settings: Settings):  # noqa: ANN202
    try:
        from rag.index.embed import make_embedder
    except ImportError:
        from rag.embed import make_embedder
    return make_embedder(settings)


def _api(**overrides) -> ApiSettings:
    return ApiSettings(_env_file=None, **{"api_keys": [KEY], "admin_keys": [ADMIN], "queue_depth": 16, "max_request_bytes": 20_000, **overrides})


@contextlib.contextmanager
def running(app) -> Iterator[str]:  # noqa: ANN001
    """Serve ``app`` with uvicorn on a free loopback port until the block ends; wait for /readyz."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _client(url: str, key: str = KEY, timeout: float = 30) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=timeout)


def _ask(client: openai.OpenAI, question: str, **kwargs):  # noqa: ANN202
    return client.chat.completions.create(model="rag-news", messages=[{"role": "user", "content": question}], **kwargs)


def _file_text(corpus: Path, source: str) -> str:
    return (corpus / source).read_bytes().decode("utf-8")


def _queue(url: str) -> dict:
    return httpx.get(f"{url}/readyz").json()["queue"]


def _wait_for(condition, timeout: float = 10.0) -> float:  # noqa: ANN001
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, "condition not met in time"
        time.sleep(0.02)
    return time.monotonic() - began


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory) -> Path:
    index_dir = tmp_path_factory.mktemp("api-index")
    _ingest(SEEDS, _settings(index_dir))
    return index_dir


@pytest.fixture(scope="module")
def server(fake_index) -> Iterator[tuple[str, list]]:
    """One shared server: keys on, queue deep enough for the concurrency test."""
    record: list = []
    with running(create_app(_factory(_settings(fake_index), record=record), _api())) as url:
        yield url, record


@pytest.fixture
def url(server) -> str:
    return server[0]


def _slow_server(fake_index: Path, per_token: float, **api):  # noqa: ANN202
    return running(create_app(_factory(_settings(fake_index), per_token), _api(**api)))


# -- answers ---------------------------------------------------------------------------------
def test_plain_answer_is_the_verified_text_with_quotes_from_the_files(url, fake_index):
    completion = _ask(_client(url), QUESTION)
    content = completion.choices[0].message.content
    extra = completion.model_extra
    assert completion.model == "rag-news" and completion.choices[0].finish_reason == "stop"
    assert extra["refused"] is False and extra["citations"] and "[1]" in content
    for c in extra["citations"]:
        assert c["quote"] == _file_text(SEEDS, c["source"])[c["start"] : c["end"]]
        assert set(c) >= {"n", "source", "start", "end", "quote", "published"}
    alone = Assistant.from_settings(_settings(fake_index)).ask(QUESTION)
    assert content == alone.answer


def test_stream_carries_only_verified_sentences_and_ends_with_citations(url):
    client = _client(url)
    plain = _ask(client, QUESTION).choices[0].message.content
    chunks = list(_ask(client, QUESTION, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] and last.model_extra["refused"] is False


def test_stream_never_sends_an_unsupported_sentence(fake_index):
    supported = Assistant.from_settings(_settings(fake_index)).ask(QUESTION).answer  # the echo reply, verified
    replies = [supported + " Beijing also bought 300 walrus submarines [1]."]
    app = create_app(_factory(_settings(fake_index, fake_replies=replies)), _api())
    with running(app) as url:
        body = {"model": "rag-news", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
        with httpx.stream("POST", f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, json=body) as response:
            raw = "".join(response.iter_text())
    events = [line[len("data: ") :] for line in raw.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert text == supported and "walrus" not in raw


def test_follow_up_sends_the_history_to_the_engine(server):
    url, record = server
    client = _client(url)
    first = _ask(client, QUESTION).choices[0].message.content
    before = len(record[0].prompts)
    follow = client.chat.completions.create(
        model="rag-news",
        messages=[
            {"role": "system", "content": "ignored"},
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": first},
            {"role": "user", "content": "And what about 2023?"},
        ],
    )
    assert follow.choices[0].message.content
    condense = record[0].prompts[before][-1]["content"]  # the first prompt of this request rewrites the follow-up
    assert QUESTION in condense and "And what about 2023?" in condense


def test_concurrent_clients_get_the_answers_they_would_get_alone(url):
    client = _client(url)
    alone = {q: _ask(client, q).choices[0].message.content for q in QUESTIONS}
    with ThreadPoolExecutor(10) as pool:
        together = dict(zip(QUESTIONS, pool.map(lambda q: _ask(_client(url), q).choices[0].message.content, QUESTIONS)))
    assert together == alone


# -- security and limits -----------------------------------------------------------------------
def test_requests_without_or_with_a_wrong_key_get_401(url):
    with pytest.raises(openai.AuthenticationError):
        _ask(_client(url, key="wrong"), QUESTION)
    response = httpx.post(f"{url}/v1/search", json={"query": "trade"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert set(response.json()["error"]) >= {"message", "type"} and KEY not in response.text
    assert httpx.get(f"{url}/healthz").status_code == 200  # health checks need no key


def test_body_over_the_limit_gets_413(url):
    response = httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, json={"messages": [{"role": "user", "content": "x" * 30_000}]})
    assert response.status_code == 413 and "RAG_MAX_REQUEST_BYTES" in response.json()["error"]["message"]
    chunked = httpx.post(f"{url}/v1/search", headers={"Authorization": f"Bearer {KEY}"}, content=iter([b'{"query": "', b"y" * 30_000, b'"}']))
    assert chunked.status_code == 413


def test_over_long_question_gets_400_with_one_line(url):
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            _ask(_client(url), "why " * 400, stream=stream)
        message = caught.value.body["message"]
        assert "limit is 1000" in message and "\n" not in message and "Traceback" not in message


def test_invalid_request_is_one_line_openai_error(url):
    response = httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, json={"model": "rag-news"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error" and "messages" in response.json()["error"]["message"]


def test_full_queue_gets_429_with_retry_after(fake_index):
    with _slow_server(fake_index, 0.1, queue_depth=1) as url:
        client = _client(url)
        with ThreadPoolExecutor(2) as pool:
            busy = [pool.submit(_ask, client, q) for q in QUESTIONS[:2]]
            _wait_for(lambda: _queue(url)["admitted"] == 2)
            with pytest.raises(openai.RateLimitError) as caught:
                _ask(client, QUESTIONS[2])
            assert int(caught.value.response.headers["retry-after"]) >= 1
            assert all(f.result().choices[0].message.content for f in busy)
        assert _ask(client, QUESTIONS[2]).choices[0].message.content  # room again


def test_client_that_disconnects_mid_stream_frees_its_place(fake_index):
    with _slow_server(fake_index, 0.3, queue_depth=0) as url:
        headers = {"Authorization": f"Bearer {KEY}"}
        body = {"model": "rag-news", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
        with httpx.stream("POST", f"{url}/v1/chat/completions", headers=headers, json=body) as response:
            first = next(response.iter_lines())
            assert first.startswith("data: ") and _queue(url)["admitted"] == 1
        freed_in = _wait_for(lambda: _queue(url)["admitted"] == 0, timeout=3)
        assert freed_in < 3  # the answer alone takes longer: its generation was stopped
        assert httpx.post(f"{url}/v1/search", headers=headers, json={"query": "trade"}).status_code == 200


def test_answer_past_the_deadline_gets_504(fake_index):
    with _slow_server(fake_index, 0.3, request_timeout_s=0.5) as url:
        with pytest.raises(openai.APIStatusError) as caught:
            _ask(_client(url), QUESTION)
        assert caught.value.status_code == 504
        _wait_for(lambda: _queue(url)["admitted"] == 0, timeout=3)


# -- search, sources, check, ingest ----------------------------------------------------------------
def test_search_returns_the_cli_json_shape(url):
    response = httpx.post(f"{url}/v1/search", headers={"Authorization": f"Bearer {KEY}"}, json={"query": "China Russia trade", "k": 3})
    data = response.json()
    assert response.status_code == 200 and data["query"] == "China Russia trade" and len(data["hits"]) == 3
    for hit in data["hits"]:
        assert hit["text"] == _file_text(SEEDS, hit["source"])[hit["start"] : hit["end"]]
        assert set(hit) >= {"source", "start", "end", "text", "score", "published"}


def test_sources_and_models_are_listed(url):
    client = _client(url)
    assert [m.id for m in client.models.list()] == ["rag-news"]
    rows = httpx.get(f"{url}/v1/sources", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert sorted(r["source"] for r in rows) == sorted(p.name for p in SEEDS.iterdir() if p.is_file())


def test_check_answers_or_says_not_implemented(url):
    response = httpx.post(f"{url}/v1/check", headers={"Authorization": f"Bearer {KEY}"}, json={"claim": "China and Russia traded 244.8 billion dollars in 2024."})
    if callable(getattr(Assistant, "check", None)):
        assert response.status_code == 200
    else:
        assert response.status_code == 501 and response.json()["error"]["type"] == "not_implemented"


def test_ingest_job_needs_an_admin_key_and_switches_to_the_new_index(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    settings = _settings(tmp_path / "index", corpus_dir=corpus)
    _ingest(corpus, settings)
    with running(create_app(_factory(settings), _api())) as url:
        user, admin = {"Authorization": f"Bearer {KEY}"}, {"Authorization": f"Bearer {ADMIN}"}
        assert httpx.post(f"{url}/v1/ingest", headers=user).status_code == 401
        (corpus / "zz_new.txt").write_text("Walrus herds crossed the Bering Strait on Monday, the coast guard said.\n", encoding="utf-8")
        job = httpx.post(f"{url}/v1/ingest", headers=admin).json()
        # queries keep being served while the job runs
        assert httpx.post(f"{url}/v1/search", headers=user, json={"query": "trade"}).status_code == 200
        status = {}

        def finished() -> bool:
            status.update(httpx.get(f"{url}/v1/ingest/{job['id']}", headers=user).json())
            return status["status"] != "running"

        _wait_for(finished, timeout=60)
        assert status["status"] == "succeeded" and status["report"]["added"] == ["zz_new.txt"]
        sources = [r["source"] for r in httpx.get(f"{url}/v1/sources", headers=user).json()]
        assert "zz_new.txt" in sources
        hits = httpx.post(f"{url}/v1/search", headers=user, json={"query": "walrus herds Bering Strait", "k": 1}).json()["hits"]
        assert hits[0]["source"] == "zz_new.txt"


# -- serve ------------------------------------------------------------------------------------
def test_serve_refuses_a_public_host_without_keys():
    with pytest.raises(RagError, match="RAG_API_KEYS"):
        check_exposure("0.0.0.0", ApiSettings(_env_file=None))
    with pytest.raises(RagError, match="refusing to listen on 0.0.0.0"):
        serve(Settings(), host="0.0.0.0", port=1, api_settings=ApiSettings(_env_file=None))
    check_exposure("0.0.0.0", ApiSettings(_env_file=None, api_keys="a,b"))
    check_exposure("::1", ApiSettings(_env_file=None))


def test_served_app_has_the_chat_ui_docs_and_api(fake_index, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)  # Chainlit reads its config (.chainlit/) from the working folder
    app = build_app(_settings(fake_index), _api(), ui_target=ROOT / "app.py")
    with running(app) as url:
        root = httpx.get(f"{url}/", follow_redirects=False)
        assert root.status_code in (302, 307) and root.headers["location"] == "/chat"
        page = httpx.get(f"{url}/chat/", follow_redirects=True)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert httpx.get(f"{url}/docs").status_code == 200
        assert "/v1/chat/completions" in httpx.get(f"{url}/openapi.json").json()["paths"]
        assert _ask(_client(url), QUESTION).choices[0].message.content


@pytest.mark.llm
def test_real_local_model_answers_through_the_api(seed_index):
    settings = Settings(index_dir=seed_index, llm_backend="local")
    with running(create_app(lambda: Assistant.from_settings(settings), _api())) as url:
        completion = _ask(_client(url, timeout=300), "How many cooperation agreements did Xi and Putin sign?")
    extra = completion.model_extra
    if not extra["refused"]:
        assert extra["citations"]
        for c in extra["citations"]:
            assert c["quote"] == _file_text(SEEDS, c["source"])[c["start"] : c["end"]]
