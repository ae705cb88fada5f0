"""An ``Assistant`` that answers only from the articles an ``ArticleFilter`` leaves.

``Assistant.filtered(since=..., until=..., source=...)`` builds one: it shares the index, the
embedder and the LLM (loaded once, by whichever assistant needs it first); its retriever masks
the candidates (see ``index/retrieve.py``), and each ``Answer`` it gives carries ``filter``:
the filter and how many articles it left. It changes nothing in how an answer is made.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

from ..index.retrieve import ArticleFilter
from .engine import AnswerStream, Assistant, History, Run


class _SharedLLM:
    """The parent assistant's LLM, loaded on first use (a search never loads it)."""

    def __init__(self, parent: Assistant) -> None:
        self._parent = parent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parent.llm, name)


class FilteredAssistant(Assistant):
    def stream(self, question: str, history: History | None = None) -> AnswerStream:
        return AnswerStream(self._noted(super().stream(question, history)))

    @property
    def filter_summary(self) -> dict[str, Any]:
        """``{"since", "until", "source", "articles"}``: the filter and the articles it leaves."""
        return {**self.retriever.article_filter.to_dict(), "articles": self.retriever.filtered_articles}

    def _noted(self, inner: AnswerStream) -> Run:
        tokens: Iterator[str] = iter(inner)
        yield from tokens
        assert inner.answer is not None  # set when its run ended
        return replace(inner.answer, filter=self.filter_summary)


def with_filter(parent: Assistant, article_filter: ArticleFilter) -> Assistant:
    """``parent`` itself without a filter; else a ``FilteredAssistant`` sharing its parts."""
    if not article_filter:
        return parent
    return FilteredAssistant(parent.settings, parent.index, parent.embedder, _SharedLLM(parent), parent.judge_scorer, article_filter=article_filter)
