"""LLM backends behind one small interface: ``stream(messages) -> Iterator[str]``.

``local``  llama.cpp on the packaged Qwen2.5-Coder GGUF (offline, serialised behind a lock);
``openai`` any OpenAI-compatible endpoint through llama-index's ``OpenAILike``;
``fake``   scripted or echoing replies, for tests. Chosen in ``make_llm``; imports are lazy.
Every backend enforces ``timeout`` over the whole answer and raises ``LLMError`` subclasses
with one-line messages that never contain the API key.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Iterator, Protocol

from .errors import LLMError, LLMTimeoutError
from .model import ensure_model
from .settings import Settings

Messages = list[dict[str, str]]


class LLM(Protocol):
    name: str

    def stream(self, messages: Messages, *, max_tokens: int, temperature: float, timeout: float) -> Iterator[str]: ...


def _check_deadline(deadline: float, timeout: float, name: str) -> None:
    if time.monotonic() > deadline:
        raise LLMTimeoutError(f"{name} did not finish within {timeout:g} s (setting llm_timeout_s)")


class LocalLLM:
    """llama.cpp in-process. One generation at a time: the model is not re-entrant."""

    def __init__(self, settings: Settings) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMError("llama-cpp-python is not installed; run: make install (it builds it with the right CPU flags)") from exc
        path = ensure_model(settings.local_model, settings.cache_dir)
        self.name = f"local:{settings.local_model}"
        self._lock = threading.Lock()
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=settings.llm_context,
                n_threads=settings.llm_threads,
                n_threads_batch=settings.llm_threads,
                n_batch=512,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"could not load the local model {path}: {exc}") from exc

    def stream(self, messages: Messages, *, max_tokens: int, temperature: float, timeout: float) -> Iterator[str]:
        with self._lock:
            deadline = time.monotonic() + timeout
            parts = self._llm.create_chat_completion(
                messages=messages, stream=True, max_tokens=max_tokens, temperature=temperature, seed=0
            )
            for part in parts:
                _check_deadline(deadline, timeout, self.name)
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta


class FakeLLM:
    """Test backend. Plays ``replies`` in order; when none are left it echoes: the first sentence
    of passage [1] cited as [1], or the follow-up question for a rewrite prompt. ``prompts``
    records every conversation it was sent, so tests can see which passages reached it."""

    name = "fake"

    def __init__(self, replies: list[str] | None = None) -> None:
        self.replies = list(replies or [])
        self.prompts: list[Messages] = []
        self._lock = threading.Lock()

    def _echo(self, messages: Messages) -> str:
        user = messages[-1]["content"]
        passage = re.search(r"\[1\][^\n]*\n<<<\n(.*?)\n>>>", user, re.DOTALL)
        if passage:
            first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", passage.group(1).strip())[0]
            return f"{first} [1]"
        follow_up = re.search(r"Follow-up question: (.*)", user)
        if follow_up:
            return follow_up.group(1).strip()
        return "The articles don't say."

    def stream(self, messages: Messages, *, max_tokens: int, temperature: float, timeout: float) -> Iterator[str]:
        with self._lock:
            self.prompts.append(messages)
            reply = self.replies.pop(0) if self.replies else self._echo(messages)
        yield from re.findall(r"\S+\s*|\s+", reply)


def make_llm(settings: Settings) -> LLM:
    match settings.llm_backend:
        case "local":
            return LocalLLM(settings)
        case "openai":
            from .api_llm import OpenAICompatibleLLM  # retries, deadline and key scrubbing live there

            return OpenAICompatibleLLM(settings)
        case "fake":
            return FakeLLM(settings.fake_replies)
    raise LLMError(f"unknown llm_backend {settings.llm_backend!r}; choose local, openai or fake")
