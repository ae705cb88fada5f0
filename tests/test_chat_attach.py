"""Articles attached in the chat are checked, ingested into the chat's index and answered from at
once; the chat says what was added and what was skipped. The chat settings' date filter narrows
answers. Driven through app.py's handlers with the recording context of test_app.py."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from rag import Assistant, Settings
from rag.faces.engines import Engines
from rag.llm.fake import FakeLLM

from .test_app import _messages, chat  # noqa: F401 - the fixture is used by name

NEWS = Path(__file__).resolve().parent / "fixtures" / "news"
STRIKE = (
    "Dockworkers at the Port of Valmora voted on Friday to end an 11-day strike "
    "that had left more than 40 container ships waiting offshore, after their union accepted a two-year agreement "
    "raising wages by 6.5 percent [1]."
)


def _engines(tmp_path, seed_index, embedder, replies):
    index_dir = tmp_path / "idx"
    shutil.copytree(seed_index, index_dir)  # the session's seed index stays untouched
    settings = Settings(index_dir=index_dir, llm_backend="fake", corpus_dir=tmp_path / "corpus")
    llm = FakeLLM(replies)
    return Engines(settings, base=Assistant.from_settings(settings, embedder=embedder, llm=llm)), llm


def test_attached_feed_is_ingested_and_answered_from_at_once(chat, monkeypatch, tmp_path, seed_index, embedder):  # noqa: F811
    import chainlit as cl

    app, rec, _, run, _ = chat
    engines, llm = _engines(tmp_path, seed_index, embedder, [STRIKE])
    monkeypatch.setattr(app, "engines", lambda: engines)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "f1").write_bytes((NEWS / "northbridge-daily.rss").read_bytes())
    (uploads / "f2").write_bytes((NEWS / "newswire-export.jsonl").read_bytes())
    (uploads / "f3").write_bytes(b"%PDF-1.4 not an article")
    names = {"f1": "northbridge-daily.rss", "f2": "newswire-export.jsonl", "f3": "scan.pdf"}

    async def attach_and_ask():  # elements need the Chainlit context
        files = [cl.File(name=name, path=str(uploads / f)) for f, name in names.items()]
        await app.on_message(cl.Message(content="What raise did the Valmora dockworkers accept?", elements=files))

    asyncio.run(run(attach_and_ask))
    notice = next(m["output"] for m in rec.steps.values() if "Added" in (m.get("output") or "")).replace("\\", "")
    assert "northbridge-daily.rss#nbd-2026-0314-valmora" in notice and "newswire-export.jsonl:1" in notice
    assert "`scan.pdf`: unsupported file type .pdf" in notice
    assert "`newswire-export.jsonl:3`: malformed JSON" in notice  # a bad line, by number
    # Saved into the corpus folder (a later `rag ingest` keeps them), the PDF refused and not saved.
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["newswire-export.jsonl", "northbridge-daily.rss"]
    # The chat now answers from the new index, citing the feed entry with its title and link.
    assistant = engines.base()
    assert "northbridge-daily.rss#nbd-2026-0314-valmora" in assistant.index.documents
    assert len(assistant.index.documents) == 4 + 3 + 3  # seeds kept, articles added
    answer_step = next(m for m in rec.steps.values() if m.get("type") == "assistant_message" and "Sources" in (m.get("output") or ""))
    out = answer_step["output"]
    assert "6\\.5 percent" in out and "(https://northbridgedaily.example/2026/03/14/valmora-strike-ends)" in out
    assert "Port of Valmora strike ends" in out and "Northbridge Daily" in out
    assert llm.prompts  # it was answered, not just ingested


def test_an_attachment_alone_is_added_and_bad_files_are_refused(chat, monkeypatch, tmp_path, seed_index, embedder):  # noqa: F811
    import chainlit as cl

    app, rec, _, run, _ = chat
    engines, llm = _engines(tmp_path, seed_index, embedder, [])
    monkeypatch.setattr(app, "engines", lambda: engines)
    empty = tmp_path / "empty"
    empty.write_bytes(b"<rss><channel><title>x</title></channel></rss>")

    async def attach():
        await app.on_message(cl.Message(content="", elements=[cl.File(name="empty.rss", path=str(empty))]))

    asyncio.run(run(attach))
    (notice,) = [m["output"].replace("\\", "") for m in rec.steps.values() if "Skipped" in (m.get("output") or "")]
    assert "`empty.rss`: no feed entries" in notice
    assert not llm.prompts and not (tmp_path / "corpus").exists()
    assert len(engines.base().index.documents) == 4


def test_chat_settings_date_filter_narrows_the_answer(chat, monkeypatch, tmp_path, seed_index, embedder):  # noqa: F811
    import chainlit as cl

    app, rec, _, run, _ = chat
    engines, llm = _engines(tmp_path, seed_index, embedder, ["Trade reached 244.8 billion U.S. dollars in 2024 [1]."])
    monkeypatch.setattr(app, "engines", lambda: engines)

    async def ask():
        from chainlit.context import context

        context.session.chat_settings = {"until": "2020-01-01"}  # what the settings panel sets
        await app.on_message(cl.Message(content="What was China-Russia trade in 2024?"))

    asyncio.run(run(ask))
    final = _messages(rec)[-1]["output"]
    assert "No supported answer" in final and "Filter: until 2020\\-01\\-01 (0 articles)" in final
