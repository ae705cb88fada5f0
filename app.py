"""Chainlit chat over the news corpus: a thin adapter around ``rag.Assistant``.

Served by ``rag serve`` (at /chat, beside the HTTP API), it answers with the server's engine,
loaded once when the server starts; a question asked while it loads waits for it. Run on its own
with ``chainlit run app.py``, the engine loads on the first chat, once per process. Configure with
RAG_* environment variables (see ``rag/settings.py``; feedback goes to RAG_FEEDBACK_PATH, default
data/feedback.jsonl). No work happens at import.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

import chainlit as cl
from chainlit.input_widget import Select, Slider, Switch, TextInput
from pydantic import ValidationError

from rag import Answer, AnswerStream, Assistant, RagError, Settings
from rag.faces.chat import (
    answer_markdown,
    attachments_markdown,
    check_markdown,
    claim_to_check,
    citation_element_name,
    citation_markdown,
    error_message,
    escape_markdown,
    passage_element_name,
    passage_markdown,
)
from rag.faces.engines import Engines
from rag.faces.feedback import FeedbackDataLayer, FeedbackStore
from rag.faces.serve import served_engines

log = logging.getLogger("rag.app")

STARTERS = [
    "How many cooperation agreements did Xi and Putin sign?",
    "What was China-Russia trade in 2024?",
    "Where did Xi open the SCO summit?",
    "Who attended the Beijing parade?",
]
HISTORY_TURNS = 3
LOADING = "Loading the index and the model; a question asked now is answered as soon as they are ready."


@functools.lru_cache(maxsize=1)
def engines() -> Engines:
    return served_engines() or Engines(Settings())


@functools.lru_cache(maxsize=1)
def feedback_layer() -> FeedbackDataLayer:
    return FeedbackDataLayer(FeedbackStore(Settings().feedback_path))


@cl.data_layer
def _data_layer() -> FeedbackDataLayer:
    return feedback_layer()


@cl.set_starters
async def starters() -> list[cl.Starter]:
    return [cl.Starter(label=q, message=q) for q in STARTERS]


@cl.on_chat_start
async def start() -> None:
    cl.user_session.set("history", [])
    try:
        settings = engines().settings
    except ValidationError as exc:  # a RAG_* setting that cannot be read: say which, in one line
        await cl.Message(content=error_message(exc), author="system").send()
        return
    backends = list(dict.fromkeys([settings.llm_backend, "local", "openai"]))
    await cl.ChatSettings(
        [
            Slider(id="top_k", label="Passages given to the model", initial=settings.top_k, min=1, max=10, step=1),
            Select(id="llm_backend", label="LLM backend", values=backends, initial_value=settings.llm_backend),
            Switch(id="show_sources", label="Show sources", initial=True),
            TextInput(id="since", label="Only articles published since (YYYY-MM-DD)", initial=""),
            TextInput(id="until", label="Only articles published until (YYYY-MM-DD)", initial=""),
            TextInput(id="source", label="Only articles from (file, site or feed)", initial=""),
        ]
    ).send()
    if engines().loading():  # under `rag serve`: the server is loading it; on_message waits for it
        await cl.Message(content=LOADING, author="system").send()
        return
    try:
        await asyncio.to_thread(engines().base)  # load index and embedder before the first question
    except RagError as exc:
        await cl.Message(content=error_message(exc, settings.index_dir), author="system").send()


def side_elements(answer: Answer, assistant) -> list[cl.Text]:  # noqa: ANN001
    docs = assistant.index.documents
    if answer.refused:
        return [
            cl.Text(name=passage_element_name(i), content=passage_markdown(i, hit, _text(docs, hit.source)), display="side")
            for i, hit in enumerate(answer.closest, start=1)
        ]
    return [
        cl.Text(
            name=citation_element_name(c),
            content=citation_markdown(c, _text(docs, c.source), getattr(docs.get(c.source), "title", None)),
            display="side",
        )
        for c in answer.citations
    ]


def _text(docs, source: str) -> str | None:  # noqa: ANN001
    doc = docs.get(source)
    return doc.text if doc is not None else None


async def _stream_into(message: cl.Message, stream: AnswerStream) -> Answer:
    """Show the stream's text as it comes (escaped) and return the checked answer."""
    tokens = iter(stream)
    while (token := await asyncio.to_thread(next, tokens, None)) is not None:
        await message.stream_token(escape_markdown(token))
    assert stream.answer is not None  # set by the engine when its token iterator ends
    return stream.answer


@cl.on_message
async def on_message(message: cl.Message) -> None:
    chosen = cl.user_session.get("chat_settings") or {}
    history: list[tuple[str, str]] = cl.user_session.get("history") or []
    try:
        index_dir = engines().settings.index_dir
    except ValidationError as exc:
        await cl.Message(content=error_message(exc), author="system").send()
        return
    reply = cl.Message(content="")
    if engines().loading():
        await cl.Message(content=LOADING, author="system").send()
    files = [e for e in (message.elements or []) if getattr(e, "path", None)]
    if files:  # attached articles: add them first, then answer the question (if one came with them)
        if not await add_attachments(files) or not message.content.strip():
            return
    try:
        assistant = await asyncio.to_thread(engines().get, int(chosen.get("top_k") or 0) or None, chosen.get("llm_backend"))
        assistant = assistant.filtered(**{k: (chosen.get(k) or "").strip() or None for k in ("since", "until", "source")})
        if claim := claim_to_check(message.content):  # "Check: <claim>" fact-checks instead of answering
            check = await asyncio.to_thread(assistant.check, claim)
            reply.content = check_markdown(check)
            docs = assistant.index.documents
            reply.elements = [
                cl.Text(name=citation_element_name(c), content=citation_markdown(c, _text(docs, c.source)), display="side")
                for c in check.evidence
            ]
            await reply.send()
            return
        stream = assistant.stream(message.content, history=history[-HISTORY_TURNS:])
        answer = await _stream_into(reply, stream)
    except RagError as exc:
        reply.content = error_message(exc, index_dir)
        await reply.send()  # also ends a stream that had begun
        return
    except Exception as exc:  # never a traceback in the chat; the log keeps it
        log.exception("answering failed")
        reply.content = error_message(exc, index_dir)
        await reply.send()
        return
    show_sources = chosen.get("show_sources", True)
    reply.content = answer_markdown(answer, show_sources=show_sources)
    reply.elements = side_elements(answer, assistant) if show_sources else []
    reply.metadata = {"question": message.content, "refused": answer.refused}
    await reply.send()  # replaces the streamed tokens with the verified text
    # Chainlit rates the run step that holds the reply, so key the details by both ids.
    for step_id in filter(None, {reply.id, reply.parent_id}):
        feedback_layer().remember(
            step_id,
            question=message.content,
            standalone_question=answer.standalone_question,
            answer=answer.answer,
            refused=answer.refused,
            sources=sorted({c.source for c in answer.citations}),
        )
    history.append((message.content, answer.answer))
    cl.user_session.set("history", history)


async def add_attachments(files: list) -> bool:  # noqa: ANN001 - Chainlit file elements
    """Check, save (into the corpus folder) and ingest attached files, then answer from the new
    index; says in the chat what was added and what was skipped. False when it failed."""
    from rag.ingest.attach import add_files

    try:
        base = await asyncio.to_thread(engines().base)
        named = [(f.name, Path(f.path)) for f in files]
        attached = await asyncio.to_thread(add_files, named, base.settings.corpus_dir, base.settings, base.embedder)
        if attached.report is not None and (attached.report.added or attached.report.updated or attached.report.removed):
            fresh = await asyncio.to_thread(Assistant.from_settings, base.settings, embedder=base.embedder, llm=base.llm)
            engines().swap(fresh)
    except RagError as exc:
        await cl.Message(content=error_message(exc, engines().settings.index_dir), author="system").send()
        return False
    await cl.Message(content=attachments_markdown(attached.report, attached.refused), author="system").send()
    return True
