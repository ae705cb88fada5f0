"""The ``openai`` backend: any OpenAI-compatible chat API, through llama-index's ``OpenAILike``.

What it adds to the SDK, because an API fails in all the ways networks fail:

* one deadline (``llm_timeout_s``) over the whole answer, retries and waits included; each
  request gets only the time that is left, so a slow server cannot stretch it; and because the
  SDK's read timeout only bounds the gap between bytes, a watchdog shuts the connection at the
  deadline, so a server that keeps a stream alive with SSE ``: keep-alive`` comments (or trickles
  a JSON body) is cut on time too;
* bounded retries with exponential backoff (``llm_retries``, ``llm_backoff_s``) for 429, 5xx and
  connection errors, honouring ``Retry-After`` when it fits the deadline; never a retry once
  tokens have been streamed (the user has seen them);
* a stream that ends without a finish reason (connection cut mid-answer) is an error, not a
  short answer;
* every failure becomes one ``LLMError`` line; the API key never appears in it or in our logs.

It does not retry malformed responses or client errors (4xx other than 429): those do not heal.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import socket
import threading
import time
from typing import Iterator

from ..errors import LLMError
from ..settings import Settings
from .base import Messages, timeout_error

log = logging.getLogger("rag.llm")
MAX_WAIT_S = 20.0


class _StreamCut(Exception):
    """The server closed the stream before saying the answer was finished."""

    def __init__(self, received: bool) -> None:
        super().__init__()
        self.received = received  # False: not one chunk came (not an event stream at all)


class _Watchdog:
    """Shuts the socket of the response in flight once ``deadline`` passes.

    The SDK reads the body in the caller's thread and its read timeout restarts with every byte,
    so nothing else could interrupt a read that keeps receiving comments. ``shutdown`` (unlike
    ``close``) wakes a read blocked in another thread: it sees end-of-stream, the SDK raises or
    ends the stream, and the caller finds ``expired`` set. Only the socket is touched from the
    timer's thread; the response is closed (``release``) by the thread that reads it, once its
    read has returned."""

    def __init__(self, deadline: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._response = None  # httpx.Response of the request in flight
        self._stopped = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def attach(self, response) -> None:
        with self._lock:
            if self._stopped:
                return
            self._response = response
            if self.expired:
                _shut(response)

    def release(self) -> None:
        """Close the current response (after its read has returned in the caller's thread)."""
        with self._lock:
            response, self._response = self._response, None
        if response is not None:
            response.close()

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._stopped = True
        self.release()
        self._timer.join()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._response is not None:
                _shut(self._response)


def _shut(response) -> None:
    """Shut down the socket under an httpx response; safe while another thread reads it."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is None:
        return  # not a plain socket transport: the per-read timeout is the only bound left
    try:  # through a duplicate descriptor, so a TLS socket's state is not touched from this thread
        with socket.socket(sock.family, sock.type, fileno=os.dup(sock.fileno())) as dup:
            dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to cut


class OpenAICompatibleLLM:
    """Any OpenAI-compatible chat API (OpenAI, Ollama, vLLM, llama.cpp server...)."""

    def __init__(self, settings: Settings) -> None:
        try:
            import openai
            from llama_index.llms.openai_like import OpenAILike
        except ImportError as exc:
            raise LLMError("the openai backend needs llama-index-llms-openai-like; run: pip install -e .") from exc
        self._secret = settings.openai_api_key
        self.name = f"openai:{settings.openai_model}@{self._scrub(settings.openai_base_url)}"
        self.retries = settings.llm_retries
        self.backoff_s = settings.llm_backoff_s
        # The response hook hands each response (before its body is read) to the watchdog armed
        # in this thread; llama-index keeps the SDK's stream inside its own generator, so this
        # is the one place where OpenAILike lets us reach the connection.
        self._armed = threading.local()
        self._llm = OpenAILike(
            model=settings.openai_model,
            api_base=settings.openai_base_url,
            api_key=settings.openai_api_key or "not-needed",
            is_chat_model=True,
            context_window=settings.llm_context,
            timeout=settings.llm_timeout_s,
            max_retries=0,  # retried here, within one deadline (the SDK would multiply the timeout)
            http_client=openai.DefaultHttpxClient(event_hooks={"response": [self._on_response]}),
        )

    def _on_response(self, response) -> None:
        watchdog = getattr(self._armed, "watchdog", None)
        self._armed.watchdog = None  # one response per arming: a stale watchdog never sees another
        if watchdog is not None:
            watchdog.attach(response)

    def _scrub(self, text: str) -> str:
        text = text.replace(self._secret, "***") if self._secret else text
        text = re.sub(r"(?<=://)[^/@\s]+@", "***@", text)  # credentials inside a URL
        return re.sub(r"(sk-|Bearer\s+)[A-Za-z0-9_\-]{6,}", r"\1***", text)

    def stream(self, messages: Messages, *, max_tokens: int, temperature: float, timeout: float) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        deadline = time.monotonic() + timeout
        watchdog = _Watchdog(deadline)
        try:
            yield from self._attempts(chat, watchdog, deadline, max_tokens=max_tokens, temperature=temperature, timeout=timeout)
        finally:
            watchdog.stop()

    def _attempts(self, chat, watchdog: _Watchdog, deadline: float, *, max_tokens: int, temperature: float, timeout: float) -> Iterator[str]:
        attempt = 0
        while True:
            streamed = False
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise timeout_error(self.name, timeout)
                finished = received = False
                self._armed.watchdog = watchdog  # the request is sent on the first next(parts)
                parts = self._llm.stream_chat(chat, max_tokens=max_tokens, temperature=temperature, timeout=remaining)
                try:
                    for part in parts:
                        if watchdog.expired or time.monotonic() > deadline:
                            raise timeout_error(self.name, timeout)
                        received = True
                        choices = getattr(part.raw, "choices", None) or []
                        finished = finished or any(getattr(c, "finish_reason", None) for c in choices)
                        if part.delta:
                            streamed = True
                            yield part.delta
                finally:
                    parts.close()
                    watchdog.release()
                if not finished:
                    raise timeout_error(self.name, timeout) if watchdog.expired else _StreamCut(received)
                return
            except LLMError:
                raise
            except Exception as exc:  # the SDK and httpx raise many types; each becomes one line
                self._armed.watchdog = None
                if watchdog.expired:  # the watchdog cut the connection: whatever broke, it is the deadline
                    raise timeout_error(self.name, timeout) from None
                wait = self._retry_wait(exc, attempt)
                if streamed or wait is None or attempt >= self.retries or time.monotonic() + wait >= deadline:
                    raise self._error(exc, attempt, timeout, deadline) from None
                attempt += 1
                log.warning("%s: %s; retry %d of %d in %.1f s", self.name, self._describe(exc), attempt, self.retries, wait)
                time.sleep(wait)

    def score(self, conversations: list[Messages], words: list[str], *, timeout: float) -> list[list[float]]:
        """P(the reply starts with each word), for the support judge: read from the API's
        logprobs of the first token when it gives them, else 1.0 for the word the one-token reply
        starts with (a server without logprobs still gets a yes/no verdict). No retries: a judge
        call is short, and a failure is one line like any other."""
        deadline = time.monotonic() + timeout
        watchdog = _Watchdog(deadline)  # a body trickled byte by byte would outlast the read timeout
        try:
            return [self._score_one(messages, words, watchdog, deadline, timeout) for messages in conversations]
        finally:
            watchdog.stop()

    def _score_one(self, messages: Messages, words: list[str], watchdog: _Watchdog, deadline: float, timeout: float) -> list[float]:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        remaining = deadline - time.monotonic()
        if remaining <= 0 or watchdog.expired:
            raise timeout_error(self.name, timeout)
        self._armed.watchdog = watchdog
        try:
            reply = self._llm.chat(chat, max_tokens=2, temperature=0.0, logprobs=True, top_logprobs=10, timeout=remaining)
        except Exception as exc:  # noqa: BLE001 - one line, key scrubbed
            if watchdog.expired:
                raise timeout_error(self.name, timeout) from None
            raise self._error(exc, 0, timeout, deadline) from None
        finally:
            self._armed.watchdog = None
            watchdog.release()
        first = (reply.logprobs or [[]])[0]
        if first:
            return [sum(math.exp(lp.logprob) for lp in first if lp.token.strip().lower() == w.lower()) for w in words]
        said = (reply.message.content or "").strip().lower()
        return [1.0 if said.startswith(w.lower()) else 0.0 for w in words]

    def _retry_wait(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before retrying ``exc``, or None when retrying cannot help."""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return None  # the request already used the time that was left
        transient = isinstance(exc, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError))
        if not transient:
            return None
        wait = min(self.backoff_s * 2**attempt, MAX_WAIT_S) * (1 + 0.25 * random.random())
        response = getattr(exc, "response", None)
        try:
            after = float(response.headers.get("retry-after", "")) if response is not None else 0.0
        except ValueError:
            after = 0.0
        return max(wait, min(after, MAX_WAIT_S * 3))

    def _describe(self, exc: Exception) -> str:
        import openai

        status = getattr(exc, "status_code", None)
        if isinstance(exc, _StreamCut) and not exc.received:
            return "malformed response (no streamed chunks; is this an OpenAI-compatible chat endpoint?)"
        if isinstance(exc, _StreamCut):
            return "the stream ended before the answer was complete (connection cut)"
        if isinstance(exc, openai.APITimeoutError):
            return "the request timed out"
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            return f"cannot connect ({type(cause).__name__ if cause else 'connection error'})"
        if isinstance(exc, openai.RateLimitError):
            return "rate limited (HTTP 429)"
        if isinstance(exc, openai.AuthenticationError):
            return "the API key was rejected (HTTP 401); check RAG_OPENAI_API_KEY"
        if status is not None:
            body = getattr(exc, "body", None)
            message = body.get("message") if isinstance(body, dict) else None
            return f"HTTP {status}" + (f": {message}" if message else "")
        if isinstance(exc, (ValueError, openai.APIResponseValidationError)):
            return f"malformed response ({type(exc).__name__})"
        return type(exc).__name__ + (f": {exc}" if str(exc) else "")

    def _error(self, exc: Exception, attempt: int, timeout: float, deadline: float) -> LLMError:
        import openai

        tries = f" after {attempt + 1} attempts" if attempt else ""
        detail = " ".join(self._scrub(self._describe(exc)).split())[:300]
        if isinstance(exc, openai.APITimeoutError) or time.monotonic() >= deadline:
            return timeout_error(self.name, timeout, detail)
        return LLMError(f"{self.name} failed{tries}: {detail}")
