"""The real UI as `make run` serves it: `rag serve` (chat at /chat/, API at /v1) with the fake LLM
and the real embedder, driven by Chromium through Playwright.

Needs /usr/bin/chromium and the `playwright` package (no `playwright install`); skipped
without them. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "What was China-Russia trade in 2024?"

sync_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`rag serve` in a child process on a free loopback port."""

    def __init__(self, index_dir: Path, feedback: Path) -> None:
        self.port = _free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.root}/chat/"
        self.feedback = feedback
        self.log = feedback.parent.parent / "serve.log"  # the app creates data/ itself
        rag = Path(sys.executable).parent / "rag"
        env = {
            **os.environ,
            "RAG_INDEX_DIR": str(index_dir),
            "RAG_LLM_BACKEND": "fake",
            "RAG_FEEDBACK_PATH": str(feedback),
            "HF_HUB_OFFLINE": "1",
            "OMP_WAIT_POLICY": "PASSIVE",
        }
        self.proc = subprocess.Popen(
            [str(rag), "serve", "--backend", "fake", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=open(self.log, "wb"),
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 90, path: str = "/readyz") -> None:
        """Until /readyz says the engine is loaded (the server loads it at start, not per chat),
        or until ``path="/healthz"`` says the process is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rag serve exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.root}{path}", timeout=2) as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError as exc:  # 503 while loading; "failed" will not change
                if json.loads(exc.read() or b"{}").get("status") == "failed":
                    raise RuntimeError(f"the engine did not load: {self.log.read_text()[-2000:]}") from exc
                time.sleep(0.5)
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"rag serve did not get ready: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _serve(index_dir: Path, tmp_path: Path):
    server = Server(index_dir, tmp_path / "data" / "feedback.jsonl")
    try:
        server.wait()
        yield server
    finally:
        server.stop()


@pytest.fixture
def seed_server(seed_index, tmp_path):
    yield from _serve(seed_index, tmp_path)


@pytest.fixture
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def _ask(page, question: str, answers_before: int) -> str:
    """Type a question; wait for the verified answer (or a refusal) and return its text."""
    # The composer ignores input while a task runs (the engine loads in on_chat_start).
    page.locator("#stop-button").wait_for(state="detached", timeout=60_000)
    page.fill("#chat-input", question)
    page.locator("#chat-submit").click()
    done = page.locator(".step", has_text=re.compile(r"Sources|No supported answer|⚠"))
    done.nth(answers_before).wait_for(timeout=60_000)
    return done.nth(answers_before).inner_text()


def test_ask_cite_follow_up_and_feedback(seed_server, page, make_assistant):
    # What the library itself answers with the same fake LLM: the UI must show exactly this.
    assistant, _ = make_assistant()
    expected = assistant.ask(QUESTION)
    assert not expected.refused
    fact = re.sub(r"\s*\[\d+\]", "", expected.answer)[:40]
    source = expected.citations[0].source
    named = (expected.citations[0].title or source)[:30]  # the Sources list names an article by its title, else its file

    page.goto(seed_server.root + "/")  # `make run` prints the root; it leads to the chat
    assert page.url.rstrip("/") == seed_server.url.rstrip("/")
    page.wait_for_selector("#chat-input", timeout=30_000)
    page.get_by_text("Where did Xi open the SCO summit?").wait_for()  # starters shown

    first = _ask(page, QUESTION, 0)
    assert fact in first and named in first
    page.locator("a.element-link", has_text="[1]").first.click()
    side = page.get_by_text(f"[1] {source}")
    side.first.wait_for(timeout=10_000)  # the side element names the file
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "answer.png"))

    second = _ask(page, "And where was the summit held?", 1)
    assert "Sources" in second or "No supported answer" in second

    # Thumbs down with a comment reaches the feedback file through the data layer.
    page.locator("button:has(svg.lucide-thumbs-down)").first.click()
    page.locator("textarea").last.fill("checking feedback")
    page.locator("#submit-feedback").click()
    deadline = time.monotonic() + 10
    while not seed_server.feedback.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    rows = [json.loads(line) for line in seed_server.feedback.read_text().splitlines()]
    assert rows[-1]["rating"] == "down" and rows[-1]["comment"] == "checking feedback"
    assert rows[-1]["question"] == QUESTION
    page.screenshot(path=str(ARTIFACTS / "follow-up.png"), full_page=True)


def _ready(server: Server) -> bool:
    try:
        with urllib.request.urlopen(f"{server.root}/readyz", timeout=2) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return False


def test_question_asked_while_the_engine_loads_is_answered(seed_index, tmp_path, page):
    """The engine loads when the server starts; a chat opened meanwhile says so, and a question
    typed then waits for the engine instead of being dropped."""
    server = Server(seed_index, tmp_path / "data" / "feedback.jsonl")
    try:
        server.wait(path="/healthz")
        page.goto(server.url)
        page.wait_for_selector("#chat-input", timeout=30_000)
        if _ready(server):
            pytest.skip("the engine loaded before the chat opened")
        page.get_by_text("Loading the index and the model").first.wait_for(timeout=10_000)
        text = _ask(page, QUESTION, 0)
        assert "Sources" in text and "⚠" not in text
    finally:
        server.stop()


SCRIPT_ARTICLE = """date 2025-09-04
Harbor festival report

The harbor festival drew 5,000 visitors to the waterfront on Thursday. <script>document.title='pwned'</script> Organizers praised the <b>volunteers</b> and the *fireworks*. <img src=x onerror="window.__pwned=1"><svg onload="window.__pwned=2"></svg>

A second paragraph about boats and the weather.
"""


@pytest.fixture
def script_server(tmp_path, embedder):
    from rag import Settings
    from rag.ingest.run import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbor.txt").write_text(SCRIPT_ARTICLE, encoding="utf-8")
    shutil.copy(ROOT / "seeds" / "001_794c705cbf82de55.txt", corpus)
    index_dir = tmp_path / "index"
    ingest([corpus], Settings(index_dir=index_dir), embedder)
    yield from _serve(index_dir, tmp_path)


def test_article_html_shows_as_text(script_server, page):
    page.goto(script_server.url)
    page.wait_for_selector("#chat-input", timeout=30_000)
    text = _ask(page, "How many visitors did the harbor festival draw?", 0)
    assert "5,000" in text and re.search(r"harbor\.txt|Harbor festival report", text)  # the file, or its title
    page.locator("a.element-link", has_text="[1]").first.click()
    page.get_by_text("<script>document.title='pwned'</script>", exact=False).first.wait_for(timeout=10_000)
    assert page.title() != "pwned"
    assert page.evaluate("() => window.__pwned") is None  # no handler in the article ran
    assert page.locator("script:text('pwned')").count() == 0
    assert page.get_by_text("<b>volunteers</b>", exact=False).count() >= 1  # shown, not rendered
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "escaped-html.png"))


def test_two_browser_sessions_at_once_keep_their_own_histories(seed_server):
    """Two browser contexts (separate Chainlit sessions) ask at the same time, then follow up;
    each page shows only its own turns."""
    first_q, second_q = "Who attended the Beijing parade?", "Where did Xi open the SCO summit?"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = [browser.new_context().new_page() for _ in range(2)]
            for pg in pages:
                pg.goto(seed_server.url)
                pg.wait_for_selector("#chat-input", timeout=30_000)
                pg.locator("#stop-button").wait_for(state="detached", timeout=60_000)
            for pg, q in zip(pages, (first_q, second_q)):  # both submitted before either answers
                pg.fill("#chat-input", q)
                pg.locator("#chat-submit").click()
            done = re.compile(r"Sources|No supported answer|⚠")
            for pg in pages:
                pg.locator(".step", has_text=done).first.wait_for(timeout=60_000)
            follow = [_ask(pg, f"And what else happened there? ({i})", 1) for i, pg in enumerate(pages)]
            assert all("⚠" not in f for f in follow)
            texts = [pg.locator("body").inner_text() for pg in pages]
        finally:
            browser.close()
    assert first_q in texts[0] and "(0)" in texts[0] and second_q not in texts[0] and "(1)" not in texts[0]
    assert second_q in texts[1] and "(1)" in texts[1] and first_q not in texts[1] and "(0)" not in texts[1]
