"""The chat UI without a browser: formatting (rag/faces/chat.py, rag/faces/engines.py), the feedback store and data layer,
and app.py's handlers driven through a recording Chainlit context with the fake LLM."""

from __future__ import annotations

import asyncio
import json

import pytest

from rag import Answer, AnswerSentence, Citation, Hit, IndexNotFoundError, LLMError, LLMTimeoutError, QuestionError, Settings
from rag.faces.engines import Engines
from rag.faces.chat import (
    answer_markdown,
    citation_element_name,
    citation_markdown,
    error_message,
    escape_keeping_markers,
    escape_markdown,
    highlight,
    paragraph_bounds,
    passage_markdown,
)

ARTICLE = (
    "Title line\n\n"
    "First paragraph says <script>alert('x')</script> & more *stars* [link](http://e.com).\n\n"
    "Trade reached 244.8 billion dollars in 2024. It grew again.\n\n"
    "Last paragraph."
)


def _span(text: str, quote: str) -> tuple[int, int]:
    start = text.index(quote)
    return start, start + len(quote)


# -- escaping and highlighting ---------------------------------------------------------------
def test_escape_markdown_neutralises_html_and_markdown():
    out = escape_markdown("<script>alert('x')</script> & **b** [l](u) # h\n- item `c`")
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;" in out and "&amp;" in out
    assert "\\*\\*b\\*\\*" in out and "\\[l\\]\\(u\\)" in out and "\\#" in out and "\\`c\\`" in out


def test_escape_keeping_markers_leaves_citation_markers_linkable():
    out = escape_keeping_markers("Trade hit $244.8 billion [1][2]. <b>x</b> [3].")
    assert "[1][2]" in out and "[3]" in out
    assert "\\$244\\.8" in out and "&lt;b&gt;" in out


def test_highlight_bolds_the_quote_inside_its_paragraph_only():
    start, end = _span(ARTICLE, "Trade reached 244.8 billion dollars in 2024.")
    out = highlight(ARTICLE, start, end)
    assert out.startswith("… **Trade reached 244\\.8 billion dollars in 2024\\.**")
    assert "It grew again" in out
    assert "Title line" not in out and "Last paragraph" not in out


def test_highlight_escapes_script_in_the_surrounding_paragraph():
    start, end = _span(ARTICLE, "First paragraph says")
    out = highlight(ARTICLE, start, end)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "\\*stars\\*" in out and "\\[link\\]" in out


def test_paragraph_bounds_cut_long_paragraphs():
    text = "A sentence here. " * 200 + "The quote is here. " + "More words follow. " * 200
    start, end = _span(text, "The quote is here.")
    lo, hi = paragraph_bounds(text, start, end, limit=100)
    assert start - lo <= 100 and hi - end <= 100
    assert text[lo:hi].startswith("A sentence") and text[lo:hi].rstrip().endswith(".")


def _citation(n: int, quote: str, text: str = ARTICLE, source: str = "000_x.txt") -> Citation:
    start, end = _span(text, quote)
    return Citation(n=n, source=source, start=start, end=end, quote=quote, published="2025-09-03")


def test_citation_element_name_matches_the_marker_and_content_names_the_source():
    c = _citation(2, "Trade reached 244.8 billion dollars in 2024.")
    assert citation_element_name(c) == "[2]"
    md = citation_markdown(c, ARTICLE, title="A <b>title</b>")
    assert "000\\_x\\.txt" in md and "2025\\-09\\-03" in md
    assert "**Trade reached" in md and "&lt;b&gt;title" in md and "<b>" not in md


def test_citation_markdown_survives_a_changed_article():
    c = _citation(1, "Trade reached 244.8 billion dollars in 2024.")
    md = citation_markdown(c, "a different text", None)
    assert "**Trade reached 244\\.8" in md


def _answer(**kw) -> Answer:
    base = dict(question="q", answer="", refused=False, citations=(), sentences=())
    return Answer(**{**base, **kw})


def test_answer_markdown_marks_removed_sentences_and_lists_sources():
    c = _citation(1, "Trade reached 244.8 billion dollars in 2024.")
    answer = _answer(
        answer="Trade reached $244.8 billion in 2024 [1].",
        citations=(c,),
        sentences=(
            AnswerSentence("Trade reached $244.8 billion in 2024.", (1,), True),
            AnswerSentence("It will <i>double</i> next year [1].", (1,), False),
        ),
    )
    md = answer_markdown(answer)
    verified, removed = md.split("Removed", 1)
    assert "2024 [1]" in verified and "- [1] 000\\_x\\.txt \\(2025\\-09\\-03\\)" in verified
    assert "double" not in verified
    assert "unverified" in removed and "~~It will &lt;i&gt;double&lt;/i&gt; next year\\.~~" in removed
    assert "[1]" not in removed  # a removed sentence never links to a source

    hidden = answer_markdown(answer, show_sources=False)
    assert "[1]" not in hidden and "Sources" not in hidden


def test_refusal_markdown_offers_the_closest_passages():
    hit = Hit(source="003_y.txt", start=0, end=10, text=ARTICLE[:10], score=0.3, published=None)
    md = answer_markdown(_answer(answer="The articles don't say.", refused=True, closest=(hit,)))
    assert md.startswith("**No supported answer.**")
    assert "Passage 1 (003\\_y\\.txt)" in md
    assert "**Passage 1: 003\\_y\\.txt**" in passage_markdown(1, hit, ARTICLE)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (IndexNotFoundError("no index in idx; build it with: rag ingest --index idx"), "No index yet in `idx`. Build it with `rag ingest`"),
        (LLMTimeoutError("local did not finish within 5 s"), "The language model timed out"),
        (LLMError("llama-cpp-python is not installed"), "backend is unavailable: llama\\-cpp\\-python is not installed"),
        (QuestionError("the question is empty; type a question about the articles"), "The question is empty"),
        (RuntimeError("boom\nTraceback"), "Something went wrong (RuntimeError)"),
    ],
)
def test_error_messages_are_one_line(exc, expected):
    msg = error_message(exc, "idx")
    assert expected in msg and "\n" not in msg and "Traceback" not in msg


# -- feedback ----------------------------------------------------------------------------------
def test_feedback_store_and_data_layer(tmp_path):
    from chainlit.types import Feedback

    from rag.faces.feedback import FeedbackDataLayer, FeedbackStore

    store = FeedbackStore(tmp_path / "data" / "feedback.jsonl")
    layer = FeedbackDataLayer(store)
    layer.remember("m1", question="Q?", answer="A [1].", sources=["000_x.txt"])
    fid = asyncio.run(layer.upsert_feedback(Feedback(forId="m1", value=0, comment="wrong date", threadId="t1")))
    asyncio.run(layer.upsert_feedback(Feedback(forId="m2", value=1)))
    asyncio.run(layer.delete_feedback(fid))
    rows = [json.loads(line) for line in (tmp_path / "data" / "feedback.jsonl").read_text().splitlines()]
    assert rows[0]["rating"] == "down" and rows[0]["comment"] == "wrong date" and rows[0]["question"] == "Q?"
    assert rows[0]["feedback_id"] == fid and rows[0]["sources"] == ["000_x.txt"] and "time" in rows[0]
    assert rows[1]["rating"] == "up" and rows[1]["message_id"] == "m2" and rows[1]["comment"] is None
    assert rows[2] == {**rows[2], "event": "delete", "feedback_id": fid}
    assert store.read() == rows


# -- engines -----------------------------------------------------------------------------------
def test_engines_share_index_and_vary_top_k(seed_index, embedder):
    from rag import Assistant
    from rag.llm.fake import FakeLLM

    settings = Settings(index_dir=seed_index, llm_backend="fake")
    engines = Engines(settings, base=Assistant.from_settings(settings, embedder=embedder, llm=FakeLLM()))
    base = engines.get()
    variant = engines.get(top_k=2)
    assert base is engines.get(top_k=base.settings.top_k)
    assert variant.settings.top_k == 2 and variant.index is base.index and variant.llm is base.llm
    assert engines.get(top_k=2) is variant


def test_engines_report_a_missing_index(tmp_path):
    with pytest.raises(IndexNotFoundError):
        Engines(Settings(index_dir=tmp_path / "nothing", llm_backend="fake")).base()


# -- handlers through a recording Chainlit context ---------------------------------------------
class Recorder:
    """What the handlers sent to the UI, from a stub emitter."""

    def __init__(self):
        self.steps: dict[str, dict] = {}
        self.tokens: list[str] = []
        self.elements: list[dict] = []
        self.settings: list = []


@pytest.fixture
def chat(monkeypatch, tmp_path, make_assistant):
    """Run app handlers in a Chainlit HTTP context; returns (app module, recorder, build)."""
    import chainlit.data as cl_data
    from chainlit.config import FILES_DIRECTORY
    from chainlit.context import init_http_context
    from chainlit.emitter import BaseChainlitEmitter

    # Chainlit makes ./.files when imported and a chainlit server deletes it when it stops (the
    # browser tests run one here), after which sending an element in-process fails.
    FILES_DIRECTORY.mkdir(parents=True, exist_ok=True)

    import app
    from rag.faces.feedback import FeedbackDataLayer, FeedbackStore

    rec = Recorder()

    class Emitter(BaseChainlitEmitter):
        async def send_step(self, step_dict):
            rec.steps[step_dict["id"]] = dict(step_dict)

        async def update_step(self, step_dict):
            rec.steps[step_dict["id"]] = dict(step_dict)

        async def stream_start(self, step_dict):
            rec.steps[step_dict["id"]] = dict(step_dict)
            rec.tokens.append(step_dict["output"])

        async def send_token(self, id, token, is_sequence=False, is_input=False):
            rec.tokens.append(token)

        async def send_element(self, element_dict):
            rec.elements.append(dict(element_dict))

        def set_chat_settings(self, settings):  # synchronous in the real emitter
            rec.settings.append(settings)

        async def emit(self, event, data):
            if event == "chat_settings":
                rec.settings.append(data)

    layer = FeedbackDataLayer(FeedbackStore(tmp_path / "feedback.jsonl"))
    monkeypatch.setattr(cl_data, "_data_layer", layer)
    monkeypatch.setattr(cl_data, "_data_layer_initialized", True)
    monkeypatch.setattr(app, "feedback_layer", lambda: layer)

    def build(replies=None, **overrides):
        assistant, llm = make_assistant(replies, **overrides)
        engines = Engines(assistant.settings, base=assistant)
        monkeypatch.setattr(app, "engines", lambda: engines)
        return llm

    async def run(*coros):
        ctx = init_http_context()
        ctx.emitter = Emitter(ctx.session)
        for make in coros:
            await make()

    return app, rec, build, run, layer


def _messages(rec):
    return [s for s in rec.steps.values() if s.get("type") == "assistant_message"]


def test_chat_start_sends_settings(chat):
    app, rec, build, run, _ = chat
    build()
    asyncio.run(run(app.start))
    widgets = {w["id"]: w for w in rec.settings[-1]}
    assert set(widgets) == {"top_k", "llm_backend", "show_sources", "since", "until", "source"}
    assert {"local", "openai"} <= {i["value"] for i in widgets["llm_backend"]["items"]}
    assert not _messages(rec)  # index loaded fine: no warning


def test_starters_are_four_corpus_questions():
    import app

    starters = asyncio.run(app.starters())
    assert len(starters) == 4 and all(s.message.endswith("?") for s in starters)


def test_message_streams_then_shows_verified_answer_with_side_elements(chat):
    import chainlit as cl

    app, rec, build, run, layer = chat
    build(["Trade between China and Russia reached 244.8 billion U.S. dollars in 2024 [1]. It will <b>triple</b> by 2026 [1]."])

    async def ask():
        await app.start()
        await app.on_message(cl.Message(content="What was China-Russia trade in 2024?"))

    asyncio.run(run(ask))
    streamed = "".join(rec.tokens)
    assert "244\\.8" in streamed  # raw tokens went out first, escaped
    (final,) = _messages(rec)
    assert "244\\.8 billion" in final["output"] and "[1]" in final["output"]
    assert "Removed" in final["output"] and "~~It will &lt;b&gt;triple&lt;/b&gt;" in final["output"]
    side = [e for e in rec.elements if e["display"] == "side"]
    assert [e["name"] for e in side] == ["[1]"] and side[0]["forId"] == final["id"]
    assert layer.remembered(final["id"])["sources"] == ["001_794c705cbf82de55.txt"]


def test_a_check_message_fact_checks_the_claim_with_its_quote(chat):
    import chainlit as cl

    app, rec, build, run, _ = chat
    build()  # the fake backend judges lexically: the claim's words are all in 001's sentence

    async def check():
        await app.start()
        await app.on_message(cl.Message(content="Check: Xi recalled his state visit to Moscow in May"))

    asyncio.run(run(check))
    (final,) = _messages(rec)
    assert final["output"].startswith("**Supported.**") and "Moscow in May" in final["output"]
    side = [e for e in rec.elements if e["display"] == "side"]
    assert [e["name"] for e in side] == ["[1]"] and side[0]["forId"] == final["id"]


def test_follow_up_uses_history(chat):
    import chainlit as cl

    app, rec, build, run, _ = chat
    llm = build()

    async def ask_twice():
        await app.start()
        await app.on_message(cl.Message(content="What was China-Russia trade in 2024?"))
        await app.on_message(cl.Message(content="And where was the summit?"))
        assert len(cl.user_session.get("history")) == 2

    asyncio.run(run(ask_twice))
    assert len(_messages(rec)) == 2
    assert any("Follow-up question: And where was the summit?" in m[-1]["content"] for m in llm.prompts)


def test_refusal_offers_closest_passages(chat):
    import chainlit as cl

    app, rec, build, run, _ = chat
    build(["The articles don't say."], retry_similarity=1.0)

    async def ask():
        await app.on_message(cl.Message(content="What was China-Russia trade in 2024?"))

    asyncio.run(run(ask))
    (final,) = _messages(rec)
    assert final["output"].startswith("**No supported answer.**")
    # Chainlit sends a message's elements concurrently (asyncio.gather), so their arrival order is not ours
    assert sorted(e["name"] for e in rec.elements)[:1] == ["Passage 1"]


@pytest.mark.parametrize(("question", "expected"), [("   ", "The question is empty"), ("x" * 2000, "the limit is")])
def test_bad_question_gives_one_line(chat, question, expected):
    import chainlit as cl

    app, rec, build, run, _ = chat
    build()
    asyncio.run(run(lambda: app.on_message(cl.Message(content=question))))
    (final,) = _messages(rec)
    assert expected in final["output"] and "\n" not in final["output"]


def test_llm_failure_gives_one_line(chat, monkeypatch):
    import chainlit as cl

    from rag.llm.fake import FakeLLM

    app, rec, build, run, _ = chat
    llm = build()

    def broken(self, messages, **kw):
        raise LLMTimeoutError("fake did not finish within 1 s (setting llm_timeout_s)")
        yield  # pragma: no cover

    monkeypatch.setattr(FakeLLM, "stream", broken)
    asyncio.run(run(lambda: app.on_message(cl.Message(content="What was China-Russia trade in 2024?"))))
    (final,) = _messages(rec)
    assert final["output"].startswith("⚠ The language model timed out") and "\n" not in final["output"]


def test_missing_index_at_chat_start(chat, monkeypatch, tmp_path):
    app, rec, build, run, _ = chat
    engines = Engines(Settings(index_dir=tmp_path / "none", llm_backend="fake"))
    monkeypatch.setattr(app, "engines", lambda: engines)
    asyncio.run(run(app.start))
    (final,) = [s for s in rec.steps.values() if "No index yet" in (s.get("output") or "")]
    assert "rag ingest" in final["output"]


def test_a_setting_that_cannot_be_read_is_one_line_in_the_chat(chat, monkeypatch):
    import chainlit as cl

    # Run with `chainlit run app.py`, the settings are read at the first chat: a bad RAG_* value
    # is named in one line, at chat start and for a message, instead of a failed handler.
    app, rec, _, run, _ = chat
    monkeypatch.setenv("RAG_TOP_K", "many")
    monkeypatch.setattr(app, "engines", lambda: Engines(Settings()))
    asyncio.run(run(app.start, lambda: app.on_message(cl.Message(content="What was China-Russia trade in 2024?"))))
    said = [s["output"] for s in rec.steps.values() if "RAG\\_TOP\\_K='many'" in (s.get("output") or "")]  # as Markdown
    assert len(said) == 2 and all(m.startswith("⚠ The server's setting") and "valid integer" in m and "\n" not in m for m in said)
