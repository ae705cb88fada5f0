"""The ``openai`` backend against a real HTTP server on 127.0.0.1 that misbehaves on purpose
(tests/llm_server.py): timeouts, 429, 500, malformed JSON, refused connections, cut streams,
streams kept alive by SSE comments.

Each failure must be one ``LLMError`` line within the configured timeout (plus slack), after
bounded retries with backoff where retrying makes sense, with the API key nowhere in the
message, the logs or the output.
"""

from __future__ import annotations

import logging
import shutil
import os
import subprocess
import sys
import threading
import time

import pytest

from rag import LLMError, LLMTimeoutError, Settings
from rag.llm.factory import make_llm
from rag.faces.chat import error_message

from .conftest import ROOT
from .llm_server import REPLY, MisbehavingServer, free_port

KEY = "sk-test-SECRETKEY0123456789abcdef"
MESSAGES = [{"role": "user", "content": "What was China-Russia trade in 2024?"}]
SLACK_S = 1.5


@pytest.fixture(scope="module")
def server():
    with MisbehavingServer(slow_s=30, fail_first=2) as s:
        yield s


def backend(url: str, **overrides):
    settings = Settings(llm_backend="openai", openai_base_url=url, openai_api_key=KEY, openai_model="test-model", **overrides)
    return make_llm(settings)


def run(llm, timeout: float = 5.0) -> tuple[list[str], Exception | None, float]:
    """Tokens received, the error raised (or None) and the seconds it took."""
    tokens: list[str] = []
    began = time.monotonic()
    try:
        for token in llm.stream(MESSAGES, max_tokens=64, temperature=0.0, timeout=timeout):
            tokens.append(token)
    except LLMError as exc:
        return tokens, exc, time.monotonic() - began
    return tokens, None, time.monotonic() - began


def assert_one_clean_line(exc: Exception | None, *fragments: str) -> str:
    assert exc is not None
    message = str(exc)
    assert "\n" not in message and "Traceback" not in message and KEY not in message and "SECRETKEY" not in message
    for fragment in fragments:
        assert fragment in message, message
    ui = error_message(exc)
    assert ui.startswith("⚠ The language model") and "\n" not in ui and "SECRETKEY" not in ui
    return message


def test_a_well_behaved_server_streams_the_reply(server):
    tokens, exc, _ = run(backend(server.url("ok")))
    assert exc is None and "".join(tokens) == REPLY
    assert server.requests[-1][2] == f"Bearer {KEY}"  # the key really is sent to the server


def test_slow_server_times_out_within_the_deadline(server):
    before = server.count("slow")
    tokens, exc, took = run(backend(server.url("slow"), llm_retries=2), timeout=1.5)
    assert isinstance(exc, LLMTimeoutError) and not tokens
    assert_one_clean_line(exc, "did not finish within 1.5 s (setting llm_timeout_s)")
    assert 1.4 <= took <= 1.5 + SLACK_S
    assert server.count("slow") - before == 1  # no retry: the time is used up


def test_429_is_retried_with_backoff_then_succeeds(server):
    tokens, exc, _ = run(backend(server.url("429-then-ok"), llm_retries=2, llm_backoff_s=0.3), timeout=10)
    assert exc is None and "".join(tokens) == REPLY
    times = [t for m, t, _ in server.requests if m == "429-then-ok"]
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6  # exponential backoff: 0.3 s, then 0.6 s


@pytest.mark.parametrize(("mode", "fragment"), [("429", "rate limited (HTTP 429)"), ("500", "HTTP 500: The server had an error")])
def test_persistent_server_errors_stop_after_bounded_retries(server, mode, fragment):
    before = server.count(mode)
    tokens, exc, took = run(backend(server.url(mode), llm_retries=2, llm_backoff_s=0.1), timeout=5)
    assert not tokens
    assert_one_clean_line(exc, "failed after 3 attempts", fragment)
    assert server.count(mode) - before == 3 and took < 5


def test_retries_never_outlast_the_timeout(server):
    """Backoff that would cross the deadline is not waited for: the error comes on time."""
    before = server.count("500")
    tokens, exc, took = run(backend(server.url("500"), llm_retries=10, llm_backoff_s=0.4), timeout=2.0)
    assert_one_clean_line(exc, "HTTP 500")
    assert took <= 2.0 + SLACK_S and 2 <= server.count("500") - before <= 4


def test_connection_refused_is_retried_then_reported():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    tokens, exc, took = run(backend(url, llm_retries=2, llm_backoff_s=0.1), timeout=5)
    assert_one_clean_line(exc, "failed after 3 attempts", "cannot connect")
    assert took < 5


@pytest.mark.parametrize("mode", ["bad-sse", "bad-json"])
def test_malformed_responses_are_reported_without_retry(server, mode):
    before = server.count(mode)
    tokens, exc, took = run(backend(server.url(mode), llm_retries=2), timeout=5)
    assert not tokens and not isinstance(exc, LLMTimeoutError)
    assert_one_clean_line(exc, "malformed response")
    assert server.count(mode) - before == 1 and took < 5


def test_a_stream_cut_halfway_is_an_error_not_a_short_answer(server):
    before = server.count("cut")
    tokens, exc, _ = run(backend(server.url("cut"), llm_retries=2), timeout=5)
    assert "".join(tokens) == "China-Russia trade "  # what arrived before the cut
    assert_one_clean_line(exc, "the stream ended before the answer was complete")
    assert server.count("cut") - before == 1  # tokens were shown: no silent retry


def wait_for(condition, within: float = 2.0) -> bool:
    end = time.monotonic() + within
    while not condition() and time.monotonic() < end:
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize(("mode", "shown"), [("keep-alive", "China-Russia "), ("keep-alive-0", "")])
def test_a_stream_kept_alive_by_comments_is_cut_at_the_deadline(server, mode, shown):
    """SSE comments restart the SDK's read timeout between bytes; the deadline still ends the
    answer, the connection is closed (the server sees the hang-up, no thread is left) and the
    next request works."""
    run(backend(server.url("ok")))  # the SDK's first call imports lazily (~1.6 s): not part of this deadline
    threads, before, hangups = threading.active_count(), server.count(mode), len(server.hangups)
    tokens, exc, took = run(backend(server.url(mode), llm_timeout_s=2, llm_retries=2), timeout=2)
    assert isinstance(exc, LLMTimeoutError) and "".join(tokens) == shown
    assert_one_clean_line(exc, "did not finish within 2 s (setting llm_timeout_s)")
    assert 1.9 <= took < 3.5
    assert server.count(mode) - before == 1  # no retry: the time is used up
    assert wait_for(lambda: any(m == mode for m, _ in server.hangups[hangups:]))  # the socket was closed
    assert wait_for(lambda: threading.active_count() <= threads)  # watchdog and server handler are gone
    tokens, exc, _ = run(backend(server.url("ok"), llm_timeout_s=2), timeout=2)
    assert exc is None and "".join(tokens) == REPLY


def test_the_support_judge_call_is_cut_at_the_deadline_too(server):
    """``score`` reads a whole (non-streamed) body; one trickled forever must not outlast the deadline."""
    llm = backend(server.url("keep-alive-0"), llm_timeout_s=2)
    hangups = len(server.hangups)
    began = time.monotonic()
    with pytest.raises(LLMTimeoutError) as caught:
        llm.score([MESSAGES], ["yes", "no"], timeout=2)
    assert time.monotonic() - began < 3.5
    assert_one_clean_line(caught.value, "did not finish within 2 s (setting llm_timeout_s)")
    assert wait_for(lambda: any(m == "keep-alive-0" for m, _ in server.hangups[hangups:]))


def test_the_api_key_never_reaches_messages_logs_or_output(server, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # everything the SDK, httpx and we log
    for mode in ("401-echo", "429", "cut", "ok"):
        tokens, exc, _ = run(backend(server.url(mode), llm_retries=1, llm_backoff_s=0.05), timeout=5)
        if mode == "401-echo":
            assert_one_clean_line(exc, "the API key was rejected (HTTP 401)")
    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert any(r.name.startswith("openai") for r in caplog.records)  # the SDK's debug log was captured
    assert "retry 1 of 1" in logged  # the retries were logged...
    assert "SECRETKEY" not in logged and "SECRETKEY" not in out + err  # ...without the key
    assert any(auth == f"Bearer {KEY}" for m, _, auth in server.requests if m == "401-echo")


def test_cli_reports_a_failing_backend_in_one_line(server, seed_index):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "RAG_LLM_BACKEND": "openai",
        "RAG_OPENAI_BASE_URL": server.url("500"),
        "RAG_OPENAI_API_KEY": KEY,
        "RAG_LLM_RETRIES": "1",
        "RAG_LLM_BACKOFF_S": "0.1",
    }
    out = subprocess.run(
        [sys.executable, "-m", "rag.faces.cli", "ask", "What was China-Russia trade in 2024?", "--index", str(seed_index)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr and "SECRETKEY" not in out.stderr + out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "failed after 2 attempts: HTTP 500" in errors[0], out.stderr


# -- the local model file ----------------------------------------------------------------------
@pytest.mark.llm
def test_corrupted_or_missing_local_model_is_rebuilt_from_its_packages(tmp_path):
    """A flipped byte (same size) or a deleted file is caught by the checksum and the file is
    assembled again from the installed part packages."""
    from rag.llm.model_file import MODELS, ensure_model, sha256_of

    spec = MODELS["qwen2.5-coder-1.5b"]
    good = ensure_model("qwen2.5-coder-1.5b", Settings().cache_dir)
    target = tmp_path / "models" / spec.file_name
    target.parent.mkdir()
    shutil.copyfile(good, target)
    with open(target, "r+b") as fh:  # corrupt one byte in the middle of the weights
        fh.seek(spec.size // 2)
        byte = fh.read(1)
        fh.seek(spec.size // 2)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert ensure_model("qwen2.5-coder-1.5b", tmp_path) == target
    assert sha256_of(target) == spec.sha256
    target.unlink()
    assert ensure_model("qwen2.5-coder-1.5b", tmp_path) == target and target.stat().st_size == spec.size
    assert not list(target.parent.glob(".assembling-*"))
