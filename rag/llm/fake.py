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
        self.prompts: list[Messages] = []  # conversations sent to stream()
        self.judged: list[Messages] = []  # conversations sent to score() (the support judge)
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

    def score(self, conversations: list[Messages], words: list[str], *, timeout: float) -> list[list[float]]:
        """A judge that behaves like a lexical one: for a yes/no question about a fenced passage
        and a statement (or question), P(first word) is the share of the statement's content words,
        numbers and names found in the passage; the second word gets the rest (the last word, in
        the three-way question: the fake never calls a statement false)."""
        out = []
        for messages in conversations:
            with self._lock:
                self.judged.append(messages)
            user = messages[-1]["content"]
            passage = re.search(r"<<<\n(.*?)\n>>>", user, re.DOTALL)
            claim = re.search(r"\n(?:Statement|Question): (.*?)\n", user)
            share = _share(claim.group(1), passage.group(1)) if passage and claim else 0.5
            if "unknown -" in user:  # the three-way question: stated or not said, never "false"
                out.append([share, 0.0, 1.0 - share])
                continue
            out.append([share, 1.0 - share] + [0.0] * (len(words) - 2))
        return out

    def stream(self, messages: Messages, *, max_tokens: int, temperature: float, timeout: float, grammar: str | None = None) -> Iterator[str]:
        with self._lock:
            self.prompts.append(messages)
            reply = self.replies.pop(0) if self.replies else self._echo(messages)
        yield from re.findall(r"\S+\s*|\s+", reply)


def _share(claim: str, passage: str) -> float:
    from ..text.words import content_words, names, numbers

    wanted = content_words(claim) | numbers(claim) | names(claim)
    have = content_words(passage) | numbers(passage) | names(passage)
    return len(wanted & have) / len(wanted) if wanted else 0.0
