"""The HTTP API: OpenAI-compatible chat completions with verified citations, plus search,
sources, check and ingest. A thin edge over ``rag.Assistant``: no retrieval or prompting here.

    app = create_app(lambda: Assistant.from_settings(Settings()), ApiSettings())

One engine per process, built once when the app starts (in a background thread, so /healthz
answers while the model loads and /readyz says when it is ready). Answers run in a small worker
pool, one at a time by default because the local model answers one question at a time; at most
``queue_depth`` more wait, the rest get 429. A stream only ever carries verified sentences
(``answer_in_pieces``). What this module does not do: serve the chat UI or bind a socket
(``serve.py``), or decide what counts as supported (the engine).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated, Any, AsyncIterator, Callable

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from starlette.exceptions import HTTPException

from rag import (
    Answer,
    Assistant,
    IndexMismatchError,
    IndexNotFoundError,
    IngestError,
    LLMError,
    LLMTimeoutError,
    QuestionError,
    RagError,
    close_stores,
)

from .api_engine import AnswerQueue, Cancelled, Engine, IngestJobs, answer_in_pieces

log = logging.getLogger("rag.api")

MODEL_ID = "rag-news"
POLL_S = 0.2  # how often a waiting request looks for a gone client or a passed deadline
KEEPALIVE_S = 10.0  # an SSE comment line this often while a stream waits, so proxies keep it open
Keys = Annotated[list[str], NoDecode]


class ApiSettings(BaseSettings):
    """Settings of the HTTP server (the engine's own settings stay in ``rag.Settings``)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    api_keys: Keys = Field(default_factory=list, repr=False, description="Comma-separated bearer keys; when set, every /v1 request needs `Authorization: Bearer <key>`. Without keys the server only listens on loopback. Never logged.")
    admin_keys: Keys = Field(default_factory=list, repr=False, description="Comma-separated bearer keys allowed to start a re-ingest (POST /v1/ingest), and everything else; ingest over HTTP is off without one.")
    cors_origins: Keys = Field(default_factory=list, description="Comma-separated browser origins allowed to call the API (CORS); none by default.")
    max_request_bytes: int = Field(1_000_000, ge=1024, description="Largest /v1 request body; larger ones get 413.")
    queue_depth: int = Field(4, ge=0, le=1000, description="Answers that may wait while `answer_workers` are busy; beyond it requests get 429 with Retry-After.")
    answer_workers: int = Field(1, ge=1, le=64, description="Answers computed at once. Keep 1 for the local model (it answers one question at a time); more suits an API backend.")
    request_timeout_s: float = Field(180.0, gt=0, description="Deadline of one answer or check, waiting in the queue included; past it the answer is stopped and the request gets 504.")

    @field_validator("api_keys", "admin_keys", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


# -- errors: OpenAI's shape, one line, never a traceback --------------------------------------
# First match wins, so subclasses come before their base class.
ERROR_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (QuestionError, 400, "invalid_request_error"),
    (IndexNotFoundError, 503, "index_not_found"),
    (IndexMismatchError, 503, "index_mismatch"),
    (LLMTimeoutError, 504, "timeout"),
    (LLMError, 503, "model_unavailable"),
    (IngestError, 409, "ingest_error"),
    (RagError, 500, "server_error"),
)
HTTP_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found", 413: "request_too_large", 429: "rate_limit_exceeded", 501: "not_implemented", 503: "service_unavailable", 504: "timeout"}


class ApiError(Exception):
    """An error response: status, one-line message, OpenAI error type, extra headers."""

    def __init__(self, status: int, message: str, kind: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
        self.kind = kind or HTTP_TYPES.get(status, "server_error")


def one_line(text: str) -> str:
    return " ".join(str(text).split())[:500] or "error"


def error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": one_line(message), "type": kind, "param": None, "code": None}}


def error_response(status: int, message: str, kind: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, kind or HTTP_TYPES.get(status, "server_error")), status_code=status, headers=headers)


def rag_error(exc: RagError) -> ApiError:
    status, kind = next((s, k) for cls, s, k in ERROR_STATUS if isinstance(exc, cls))
    return ApiError(status, str(exc), kind, {"Retry-After": "5"} if status == 503 else None)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.kind, exc.headers)

    async def on_rag_error(request: Request, exc: RagError) -> JSONResponse:
        return await on_api_error(request, rag_error(exc))

    async def on_http(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(400, f"{where}: {first.get('msg', 'invalid request')}" if where else first.get("msg", "invalid request"))

    async def on_crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed")  # the traceback goes to the log, never to the client
        return error_response(500, "internal error; the server log has the details")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RagError, on_rag_error)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(Exception, on_crash)


# -- keys ---------------------------------------------------------------------------------
def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _known(token: str, keys: list[str]) -> bool:
    found = False
    for key in keys:  # every key compared, in constant time, whichever matches
        found |= hmac.compare_digest(token.encode(), key.encode())
    return bool(token) and found


def require_key(request: Request) -> None:
    settings: ApiSettings = request.app.state.api_settings
    if settings.api_keys and not _known(_bearer(request), settings.api_keys + settings.admin_keys):
        raise ApiError(401, "missing or unknown API key; send `Authorization: Bearer <key>` (RAG_API_KEYS)", "invalid_request_error", {"WWW-Authenticate": "Bearer"})


def require_admin(request: Request) -> None:
    settings: ApiSettings = request.app.state.api_settings
    if not settings.admin_keys:
        raise ApiError(403, "ingest over HTTP is off; set RAG_ADMIN_KEYS to allow it", "permission_error")
    if not _known(_bearer(request), settings.admin_keys):
        raise ApiError(401, "this needs an admin key; send `Authorization: Bearer <key>` (RAG_ADMIN_KEYS)", "invalid_request_error", {"WWW-Authenticate": "Bearer"})


class BodyLimit:
    """ASGI middleware: /v1 request bodies over ``limit`` bytes get 413 before any work."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            return await self.app(scope, receive, send)
        too_big = error_response(413, f"the request body is over {self.limit} bytes (RAG_MAX_REQUEST_BYTES)")
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await error_response(400, "bad Content-Length header")(scope, receive, send)
            if int(length) > self.limit:
                return await too_big(scope, receive, send)
            return await self.app(scope, receive, send)
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        body, more = b"", True  # chunked upload: read up to the limit, then replay it
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await too_big(scope, receive, send)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


# -- request shapes -------------------------------------------------------------------------
class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class Filters(BaseModel):
    """Which articles may be used (``Assistant.filtered``); every field optional."""

    since: str | None = Field(None, description="Only articles published on or after this date (YYYY-MM-DD, YYYY-MM or YYYY); inferred dates count, undated articles are left out.")
    until: str | None = Field(None, description="Only articles published on or before this date.")
    source: str | None = Field(None, description="Only articles from this file, site or feed.")

    def apply(self, assistant: Assistant) -> Assistant:
        return assistant.filtered(since=self.since, until=self.until, source=self.source)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # temperature, max_tokens ...: the engine's settings decide
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    filters: Filters | None = Field(None, description="Extra body field: answer only from the articles these leave.")


class SearchRequest(Filters):
    query: str
    k: int | None = Field(None, ge=1, le=50)


class CheckRequest(Filters):
    claim: str


class IngestRequest(BaseModel):
    rebuild: bool = Field(False, description="Re-embed every file, not only new and changed ones.")


def conversation(messages: list[ChatMessage]) -> tuple[list[tuple[str, str]], str]:
    """OpenAI messages -> (history of (question, answer) pairs, question). System messages are
    ignored: the engine's prompts decide how it answers."""
    turns = [(m.role, m.text()) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise QuestionError("the last message must be the user's question")
    history, asked = [], None
    for role, text in turns[:-1]:
        if role == "user":
            asked = text
        elif asked is not None:
            history.append((asked, text))
            asked = None
    return history, turns[-1][1]


def completion_extras(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [c.to_dict() for c in answer.citations],
        "refused": answer.refused,
        "closest": [h.to_dict() for h in answer.closest],
        **({"filter": answer.filter} if answer.filter is not None else {}),
    }


# -- the app ------------------------------------------------------------------------------
def create_app(assistant_factory: Callable[[], Assistant], api_settings: ApiSettings | None = None) -> FastAPI:
    """The API app. ``assistant_factory`` is called once, when the app starts."""
    settings = api_settings or ApiSettings()
    engine = Engine(assistant_factory)
    queue = AnswerQueue(settings.answer_workers, settings.queue_depth)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine.start_loading()
        yield
        queue.shutdown()
        close_stores()  # uvicorn ends a SIGTERM'd process before atexit runs

    app = FastAPI(title="rag-news API", version="1", lifespan=lifespan, description="Question answering over news articles with verified, quote-level citations. OpenAI-compatible chat completions at /v1/chat/completions.")
    app.state.api_settings, app.state.engine, app.state.queue = settings, engine, queue
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """Index and model loaded (503 while loading or when loading failed), and the queue."""
        state = engine.state()
        return JSONResponse({**state, "queue": queue.stats()}, status_code=200 if state["status"] == "ready" else 503)

    app.include_router(_v1_router(engine, queue, IngestJobs(engine, _ingest_entry_point), settings))
    return app


def _v1_router(engine: Engine, queue: AnswerQueue, jobs: IngestJobs, settings: ApiSettings) -> APIRouter:
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])

    def assistant() -> Assistant:
        try:
            return engine.get()
        except RagError as exc:
            raise rag_error(exc) from exc
        except LookupError as exc:  # still loading
            raise ApiError(503, str(exc), "service_unavailable", {"Retry-After": "2"}) from exc

    def submit(work: Callable[[threading.Event], Any]) -> tuple[Future, threading.Event]:
        cancelled = threading.Event()
        future = queue.submit(lambda: work(cancelled))
        if future is None:
            raise ApiError(429, f"the server is answering {queue.stats()['admitted']} questions already; retry later", "rate_limit_exceeded", {"Retry-After": str(queue.retry_after())})
        return future, cancelled

    async def wait(request: Request, future: Future, cancelled: threading.Event) -> Any:
        """The job's result; stops it when the client goes away or the deadline passes."""
        deadline = time.monotonic() + settings.request_timeout_s
        done = asyncio.wrap_future(future)
        try:
            while not (await asyncio.wait({done}, timeout=POLL_S))[0]:
                if await request.is_disconnected():
                    raise ApiError(499, "client closed the request")
                if time.monotonic() > deadline:
                    raise ApiError(504, f"no answer within {settings.request_timeout_s:g} s (RAG_REQUEST_TIMEOUT_S)", "timeout")
            return done.result()
        finally:
            if not future.done():
                cancelled.set()
                future.cancel()

    @v1.get("/models", tags=["chat"])
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "rag-news"}]}

    @v1.post("/chat/completions", tags=["chat"], response_model=None)
    async def chat_completions(body: ChatRequest, request: Request) -> JSONResponse | StreamingResponse:
        """OpenAI chat completions. The content is the verified answer with its [n] markers;
        `citations`, `refused` and `closest` ride along. With `stream`, verified sentences only."""
        history, question = conversation(body.messages)
        chosen = body.filters.apply(assistant()) if body.filters else assistant()
        stream = chosen.stream(question, history=history)  # checks the question now: 400, not a broken stream
        meta = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": MODEL_ID}
        if not body.stream:
            future, cancelled = submit(lambda c: answer_in_pieces(stream, lambda _: None, c))
            answer: Answer = await wait(request, future, cancelled)
            message = {"role": "assistant", "content": answer.answer}
            choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
            return JSONResponse({**meta, "object": "chat.completion", "choices": [choice], **completion_extras(answer)})
        pieces: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        future, cancelled = submit(lambda c: answer_in_pieces(stream, lambda p: loop.call_soon_threadsafe(pieces.put_nowait, p), c))
        events = _sse_events(request, meta, future, cancelled, pieces, settings.request_timeout_s)
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @v1.post("/search", tags=["search"])
    def search(body: SearchRequest) -> dict[str, Any]:
        """Retrieved passages, as `rag search --json` prints them."""
        chosen = body.apply(assistant())
        hits = chosen.search(body.query, k=body.k)
        extra = {"filter": chosen.filter_summary} if hasattr(chosen, "filter_summary") else {}
        return {"query": body.query, "hits": [h.to_dict() for h in hits], **extra}

    @v1.get("/sources", tags=["search"])
    def sources() -> list[dict[str, Any]]:
        """The indexed articles, as `rag sources --json` prints them."""
        return [s.to_dict() for s in assistant().sources()]

    @v1.post("/check", tags=["check"])
    async def check(body: CheckRequest, request: Request) -> dict[str, Any]:
        """Whether the articles support a claim, as `rag check --json` prints it."""
        engine_now = body.apply(assistant())
        if not callable(getattr(engine_now, "check", None)):
            raise ApiError(501, "claim checking is not available in this version of the engine")
        future, cancelled = submit(lambda _: engine_now.check(body.claim))
        return (await wait(request, future, cancelled)).to_dict()

    @v1.post("/ingest", tags=["ingest"], status_code=202, dependencies=[Depends(require_admin)])
    def ingest(body: IngestRequest | None = None) -> dict[str, Any]:
        """Re-ingest the corpus folder in the background; answers come from the old index until
        the new one is loaded. Poll GET /v1/ingest/{id}."""
        assistant()  # 503 while loading
        return jobs.start(rebuild=bool(body and body.rebuild))

    @v1.get("/ingest/{job_id}", tags=["ingest"])
    def ingest_status(job_id: str) -> dict[str, Any]:
        job = jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no ingest job {job_id}")
        return job
    return v1


async def _sse_events(request: Request, meta: dict, future: Future, cancelled: threading.Event, pieces: asyncio.Queue, timeout_s: float) -> AsyncIterator[str]:
    """OpenAI chunk events: the role, each verified piece, a last chunk with the citations, [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return "data: " + _json({**meta, "object": "chat.completion.chunk", "choices": [choice], **extra}) + "\n\n"

    deadline = time.monotonic() + timeout_s
    done = asyncio.wrap_future(future)
    waiting: asyncio.Task | None = None
    quiet_since = time.monotonic()
    try:
        yield chunk({"role": "assistant", "content": ""})
        while True:
            waiting = waiting or asyncio.ensure_future(pieces.get())
            finished, _ = await asyncio.wait({waiting, done}, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
            if waiting in finished:
                yield chunk({"content": waiting.result()})
                waiting, quiet_since = None, time.monotonic()
            elif done in finished:
                while not pieces.empty():
                    yield chunk({"content": pieces.get_nowait()})
                break
            elif await request.is_disconnected():
                return  # finally stops the answer and frees its place
            elif time.monotonic() > deadline:
                yield "data: " + _json(error_body(f"no answer within {timeout_s:g} s (RAG_REQUEST_TIMEOUT_S)", "timeout")) + "\n\n"
                return
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                yield ": waiting\n\n"
                quiet_since = time.monotonic()
        try:
            answer: Answer = done.result()
        except RagError as exc:
            error = rag_error(exc)
            yield "data: " + _json(error_body(error.message, error.kind)) + "\n\n"
            return
        except Cancelled:
            return
        except Exception:
            log.exception("streamed answer failed")
            yield "data: " + _json(error_body("internal error; the server log has the details", "server_error")) + "\n\n"
            return
        yield chunk({}, "stop", **completion_extras(answer))
        yield "data: [DONE]\n\n"
    finally:
        if waiting is not None:
            waiting.cancel()
        if not future.done():
            cancelled.set()
            future.cancel()


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _ingest_entry_point() -> Callable[..., Any]:
    """The library's ingest function (imported late: it pulls in the index writers)."""
    try:  # its home during the subpackage restructure; `rag.ingest` once that re-exports it
        from rag.ingest.run import ingest
    except ImportError:
        from rag.ingest import ingest  # type: ignore[no-redef]
    return ingest


__all__ = ["ApiSettings", "MODEL_ID", "create_app", "answer_in_pieces", "conversation"]
