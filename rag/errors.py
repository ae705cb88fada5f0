"""The engine's error tree. Every message is one line that says what to do next."""

from __future__ import annotations


class RagError(Exception):
    """Base class: anything the engine reports to a user."""


class IndexNotFoundError(RagError):
    """No index where one was expected."""


class IndexMismatchError(RagError):
    """The index on disk was built by another format, model or chunking, or is damaged."""


class IngestError(RagError):
    """Ingestion could not run (bad path, another ingest holds the lock, ...)."""


class QuestionError(RagError):
    """The question is empty, too long or otherwise unusable."""


class LLMError(RagError):
    """The LLM backend failed or is not installed."""


class LLMTimeoutError(LLMError):
    """The LLM backend did not answer within its timeout."""


class PromptError(RagError):
    """A prompt template is missing or was given the wrong variables."""


class EvalError(RagError):
    """The evaluation could not run (bad options, empty corpus, ...)."""


class GoldenError(EvalError):
    """A line of the golden file is not a valid case."""
