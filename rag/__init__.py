"""rag: question answering over a news corpus with verified, quote-level citations.

    from rag import Assistant, Settings
    assistant = Assistant.from_settings(Settings(index_dir="index"))
    print(assistant.ask("How many cooperation agreements did Xi and Putin sign?").answer)

Importing this package does no work: models and indexes load when you ask for them.
"""

from .answer.engine import Assistant, AnswerStream
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
from .types import Answer, AnswerSentence, Citation, Hit, IngestReport

__all__ = [
    "Answer",
    "AnswerSentence",
    "AnswerStream",
    "Assistant",
    "Citation",
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
]
