"""Pack an article's sentences into overlapping chunks sized for the 256-token embedder.

Chunks never span a place where a repeated passage was dropped, prefer to end at paragraph
breaks, and repeat ``overlap`` sentences when a paragraph has to be cut for size.
"""

from __future__ import annotations

import re

from ..types import Chunk, Sentence
from .clean import GAP, PARAGRAPH, CleanArticle

_PIECE = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """WordPiece-like token estimate (words and punctuation, +15% for sub-words)."""
    return int(len(_PIECE.findall(text)) * 1.15) + 1


def chunk_article(article: CleanArticle, source: str, *, max_tokens: int, overlap: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    current: list[Sentence] = []
    size = 0

    def flush() -> None:
        if current:
            first, last = current[0], current[-1]
            chunks.append(
                Chunk(
                    id=f"{source}:{first.start}-{last.end}",
                    source=source,
                    start=first.start,
                    end=last.end,
                    text=" ".join(s.text for s in current),
                    sentences=tuple(current),
                    published=article.published,
                    title=article.title,
                )
            )

    for sentence, brk in zip(article.sentences, article.breaks):
        tokens = estimate_tokens(sentence.text)
        hard_break = brk == GAP
        soft_break = brk == PARAGRAPH and size >= 0.6 * max_tokens
        if current and (hard_break or soft_break):
            flush()
            current, size = [], 0
        elif current and size + tokens > max_tokens:
            flush()
            current = current[-overlap:] if overlap else []
            size = sum(estimate_tokens(s.text) for s in current)
            if size + tokens > max_tokens:
                current, size = [], 0
        current.append(sentence)
        size += tokens
    flush()
    return chunks

