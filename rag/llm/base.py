"""The LLM interface every backend implements: the ``LLM`` protocol, ``Messages`` (the
chat-format list the backends take) and the deadline every backend enforces.

    for token in llm.stream(messages, max_tokens=256, temperature=0.0, timeout=120): ...

``timeout_error`` is the one message a backend raises when an answer runs past
``llm_timeout_s``. This module imports no backend (``factory.make_llm`` picks one) and builds
no prompts (``rag/answer/prompt.py``).
"""

from __future__ import annotations

import time
from typing import Iterator, Protocol

from ..errors import LLMTimeoutError

Messages = list[dict[str, str]]


class LLM(Protocol):
    name: str

    def stream(self, messages: Messages, *, max_tokens: int, temperature: float, timeout: float) -> Iterator[str]: ...


def timeout_error(name: str, timeout: float, detail: str = "") -> LLMTimeoutError:
    """The error for an answer that took longer than ``timeout`` seconds."""
    return LLMTimeoutError(f"{name} did not finish within {timeout:g} s (setting llm_timeout_s)" + (f": {detail}" if detail else ""))


def check_deadline(deadline: float, timeout: float, name: str) -> None:
    """Raise ``timeout_error`` once ``time.monotonic()`` is past ``deadline``."""
    if time.monotonic() > deadline:
        raise timeout_error(name, timeout)
