"""Attaching a news feed in the real chat UI (`rag serve`, Chromium through Playwright): the chat
says what was added and what was skipped, and the question sent with it is answered from it,
citing the feed entry with its title and link. Skipped like test_browser.py without Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .test_browser import ARTIFACTS, _serve, page  # noqa: F401 - the page fixture is used by name

pytestmark = pytest.mark.browser
NEWS = Path(__file__).resolve().parent / "fixtures" / "news"


@pytest.fixture
def attach_server(seed_index, tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)  # the attachment is ingested into a copy
    monkeypatch.setenv("RAG_CORPUS_DIR", str(tmp_path / "corpus"))
    yield from _serve(index_dir, tmp_path)


def test_attached_feed_is_added_and_answered_from(attach_server, page, tmp_path):  # noqa: F811
    upload = tmp_path / "upload"
    upload.mkdir()
    shutil.copy(NEWS / "northbridge-daily.rss", upload / "northbridge-daily.rss")
    (upload / "notes.pdf").write_bytes(b"%PDF-1.4 not an article")
    page.goto(attach_server.url)
    page.wait_for_selector("#chat-input", timeout=30_000)
    page.get_by_text("Where did Xi open the SCO summit?").wait_for()  # starters: the chat session is up
    page.locator("#stop-button").wait_for(state="detached", timeout=60_000)
    page.wait_for_timeout(1000)  # an upload before the session's socket is open is refused (404)
    page.locator("input[type=file]").first.set_input_files([str(upload / "northbridge-daily.rss"), str(upload / "notes.pdf")])
    page.get_by_text("northbridge-daily.rss").first.wait_for(timeout=30_000)  # the composer lists it once uploaded
    page.wait_for_timeout(1000)
    page.fill("#chat-input", "What raise did the Valmora dockworkers accept?")
    page.locator("#chat-submit").click()
    added = page.locator(".step", has_text="Added")
    added.first.wait_for(timeout=90_000)
    notice = added.first.inner_text()
    assert "northbridge-daily.rss#nbd-2026-0314-valmora" in notice
    assert re.search(r"notes\.pdf.*unsupported file type \.pdf", notice)
    answer = page.locator(".step", has_text=re.compile(r"Sources|No supported answer"))
    answer.first.wait_for(timeout=90_000)
    text = answer.first.inner_text()
    assert "Port of Valmora strike ends" in text and "Northbridge Daily" in text
    assert page.locator("a[href='https://northbridgedaily.example/2026/03/14/valmora-strike-ends']").count() >= 1
    assert (tmp_path / "corpus" / "northbridge-daily.rss").is_file() and not (tmp_path / "corpus" / "notes.pdf").exists()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "attachment.png"), full_page=True)
