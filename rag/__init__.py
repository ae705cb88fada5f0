"""rag: question answering over a news corpus with verified, quote-level citations.

    from rag import Assistant, Settings
    assistant = Assistant.from_settings(Settings(index_dir="index"))
    print(assistant.ask("How many cooperation agreements did Xi and Putin sign?").answer)

Importing this package does no work: models and indexes load when you ask for them, and the
engine's heavy libraries are imported on first use of ``Assistant``.
"""

from typing import TYPE_CHECKING

from .errors import (
    IndexMismatchError,
    IndexNotFoundError,
    IngestError,
    LLMError,
    LLMTimeoutError,
    PromptError,
    QuestionError,
    RagError,
)
from .settings import Settings
from .types import Answer, AnswerSentence, Citation, ClaimCheck, Hit, IngestReport

if TYPE_CHECKING:
    from .answer.engine import AnswerStream, Assistant


def __getattr__(name: str) -> object:
    # The engine pulls in llama-index, FAISS and the encoder: imported when first asked for, so
    # that `import rag` (and the local model's worker process, which imports rag.llm) stays light.
    if name in ("Assistant", "AnswerStream"):
        from .answer import engine

        return getattr(engine, name)
    if name == "close_stores":
        from .index.stores import close_stores

        return close_stores
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

__all__ = [
    "Answer",
    "AnswerSentence",
    "AnswerStream",
    "Assistant",
    "Citation",
    "ClaimCheck",
    "Hit",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IngestError",
    "IngestReport",
    "LLMError",
    "LLMTimeoutError",
    "PromptError",
    "QuestionError",
    "RagError",
    "Settings",
    "close_stores",
]
