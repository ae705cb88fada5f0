"""What runs behind the HTTP API: the engine (loaded once, swapped whole after a re-ingest), the
answer queue (bounded, so the local model is never asked more than it can answer), the ingest
jobs, and ``answer_in_pieces`` with ``StoppableLLM``, which run one answer and stop it when asked.

No HTTP here (``api.py`` turns these into responses), and no retrieval or verification (the
engine's). Everything is thread-based: answers run in a worker pool, ingests in their own thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator

from rag import Answer, AnswerStream, Assistant, IngestError, RagError

log = logging.getLogger("rag.api")


class Cancelled(Exception):
    """The client went away or its deadline passed; the answer was stopped."""


def answer_in_pieces(stream: AnswerStream, emit: Callable[[str], None], cancelled: threading.Event) -> Answer:
    """Run one answer to its end, handing each verified piece to ``emit`` as the engine yields it
    (the pieces join to ``answer.answer``; the model's raw tokens are never seen here).

    ``cancelled`` stops the answer: between two pieces here, and between two tokens of the model
    when the assistant's LLM is a ``StoppableLLM`` (the engine yields only at sentence ends).
    """
    pieces = iter(stream)
    _this_answer.cancelled = cancelled
    try:
        for piece in pieces:
            if cancelled.is_set():
                raise Cancelled
            emit(piece)
    except Cancelled:
        getattr(pieces, "close", lambda: None)()  # closes the model's token stream too
        raise
    finally:
        _this_answer.cancelled = None
    if stream.answer is None:  # the engine sets it when its pieces end; never left unset
        raise RagError("the engine ended without an answer")
    return stream.answer


_this_answer = threading.local()  # the cancel event of the answer this worker thread computes


class StoppableLLM:
    """Wraps an LLM so that an answer the server abandons (client gone, deadline passed) stops
    between two tokens instead of generating to its end. Outside ``answer_in_pieces`` (the chat
    UI, the CLI) it only passes tokens on; everything else is the wrapped LLM's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream(self, messages: Any, **kwargs: Any) -> Iterator[str]:
        cancelled: threading.Event | None = getattr(_this_answer, "cancelled", None)
        tokens = self.inner.stream(messages, **kwargs)
        try:
            for token in tokens:
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled
                yield token
        finally:
            getattr(tokens, "close", lambda: None)()


class Engine:
    """The one ``Assistant`` the server answers with. Loaded in a background thread when the
    server starts; replaced whole after a re-ingest (requests in flight keep the old one)."""

    def __init__(self, factory: Callable[[], Assistant]) -> None:
        self._factory = factory
        self._assistant: Assistant | None = None
        self._error: RagError | None = None
        self._began = time.monotonic()
        self._settled = threading.Event()  # set when loading has succeeded or failed
        self.load_seconds: float | None = None

    def start_loading(self) -> None:
        self._began = time.monotonic()
        threading.Thread(target=self._load, name="rag-engine-load", daemon=True).start()

    def _load(self) -> None:
        try:
            self._load_once()
        finally:
            self._settled.set()

    def _load_once(self) -> None:
        try:
            assistant = self._factory()
            assistant.llm  # load the model now, not on the first question  # noqa: B018
        except RagError as exc:
            log.error("the engine did not load: %s", exc)
            self._error = exc
        except Exception as exc:  # noqa: BLE001 - reported by /readyz and every /v1 call
            log.exception("the engine did not load")
            self._error = RagError(f"the engine did not load: {type(exc).__name__}: {' '.join(str(exc).split())}")
        else:
            self.load_seconds = time.monotonic() - self._began
            self.swap(assistant)

    def get(self) -> Assistant:
        """The current assistant; the load error, or LookupError while it still loads."""
        if self._assistant is not None:
            return self._assistant
        if self._error is not None:
            raise self._error
        raise LookupError("the engine is still loading; retry in a few seconds")

    def loading(self) -> bool:
        return not self._settled.is_set() and self._assistant is None

    def wait(self, timeout_s: float) -> Assistant:
        """``get``, after waiting up to ``timeout_s`` for the load to end (for the chat UI, which
        holds a question until the engine can answer it instead of dropping it)."""
        if not self._settled.wait(timeout_s) and self._assistant is None:
            raise RagError(f"the engine is still loading after {timeout_s:g} s; see the server log, or ask again")
        return self.get()

    def swap(self, assistant: Assistant) -> None:
        self._assistant, self._error = assistant, None  # one reference assignment: atomic

    def state(self) -> dict[str, Any]:
        assistant = self._assistant
        if assistant is not None:
            index = assistant.index
            return {"status": "ready", "documents": len(index.documents), "chunks": len(index.chunks), "llm_backend": assistant.settings.llm_backend, "load_s": round(self.load_seconds or 0.0, 2)}
        if self._error is not None:
            return {"status": "failed", "error": " ".join(str(self._error).split())}
        return {"status": "loading", "waited_s": round(time.monotonic() - self._began, 1)}


class AnswerQueue:
    """A worker pool that admits at most ``workers + depth`` jobs; ``submit`` says no beyond."""

    def __init__(self, workers: int, depth: int) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="rag-answer")
        self.workers, self.limit = workers, workers + depth
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0
        self._seconds: deque[float] = deque([5.0], maxlen=20)  # recent job durations, for Retry-After

    def submit(self, work: Callable[[], Any]) -> Future | None:
        """The job's future, or None when the queue is full. A job cancelled before it starts,
        or ended early, frees its place at once."""
        with self._lock:
            if self._admitted >= self.limit:
                return None
            self._admitted += 1

        def run() -> Any:
            with self._lock:
                self._running += 1
            began = time.monotonic()
            try:
                return work()
            finally:
                with self._lock:
                    self._running -= 1
                    self._seconds.append(time.monotonic() - began)

        try:
            future = self._pool.submit(run)
        except RuntimeError:  # shutting down
            self._release(None)
            return None
        future.add_done_callback(self._release)
        return future

    def _release(self, _: Future | None) -> None:
        with self._lock:
            self._admitted -= 1

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the queue ahead times a recent job's duration."""
        with self._lock:
            ahead = max(1, self._admitted - self.workers + 1)
            typical = sum(self._seconds) / len(self._seconds)
        return max(1, min(600, math.ceil(typical * ahead / self.workers)))

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"admitted": self._admitted, "running": self._running, "waiting": self._admitted - self._running, "limit": self.limit}

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class IngestJobs:
    """Re-ingests of the corpus folder, one at a time, each in its own thread. After a success
    the engine switches to a new assistant on the new index (same embedder and model)."""

    KEEP = 20  # finished jobs remembered for GET /v1/ingest/{id}

    def __init__(self, engine: Engine, entry_point: Callable[[], Callable[..., Any]]) -> None:
        self._engine, self._entry_point = engine, entry_point
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Any]] = {}

    def start(self, *, rebuild: bool = False) -> dict[str, Any]:
        with self._lock:
            running = next((j for j in self._jobs.values() if j["status"] == "running"), None)
            if running is not None:
                raise IngestError(f"ingest job {running['id']} is still running; poll GET /v1/ingest/{running['id']}")
            job = {"id": uuid.uuid4().hex[:16], "status": "running", "rebuild": rebuild, "started": _now(), "finished": None, "report": None, "error": None}
            self._jobs[job["id"]] = job
            for old in list(self._jobs)[: -self.KEEP]:
                del self._jobs[old]
        threading.Thread(target=self._run, args=(job["id"], rebuild), name="rag-ingest", daemon=True).start()
        return dict(job)

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return dict(job) if job else None

    def _run(self, job_id: str, rebuild: bool) -> None:
        result: dict[str, Any]
        try:
            old = self._engine.get()
            ingest = self._entry_point()
            report = ingest([old.settings.corpus_dir], old.settings, old.embedder, rebuild=rebuild)
            self._engine.swap(Assistant.from_settings(old.settings, embedder=old.embedder, llm=old.llm))
            result = {"status": "succeeded", "report": report.to_dict()}
        except RagError as exc:
            result = {"status": "failed", "error": " ".join(str(exc).split())}
        except Exception as exc:  # noqa: BLE001 - the job reports it; the log keeps the traceback
            log.exception("ingest job %s failed", job_id)
            result = {"status": "failed", "error": f"internal error ({type(exc).__name__}); the server log has the details"}
        with self._lock:
            self._jobs[job_id].update(result, finished=_now())


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


__all__ = ["AnswerQueue", "Cancelled", "Engine", "IngestJobs", "StoppableLLM", "answer_in_pieces"]
