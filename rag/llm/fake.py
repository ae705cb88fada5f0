"""The ``fake`` backend: scripted or echoing replies, selected by ``llm_backend="fake"``.

It records every conversation it is sent (``prompts``), so tests can assert which passages
reached the model. No network, no model file.
"""

from __future__ import annotations

import re
import threading
from typing import Iterator

from .base import Messages


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
