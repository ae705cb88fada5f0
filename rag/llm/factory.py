"""``make_llm``: the one place a backend is chosen, from ``settings.llm_backend``.

    llm = make_llm(settings)   # local | openai | fake; each imported only when chosen

A separate module from ``base.py`` so that backends import the protocol without an import
cycle. It does not configure the backends beyond handing them the settings.
"""

from __future__ import annotations

from ..errors import LLMError
from ..settings import Settings
from .base import LLM

BACKENDS = ("local", "openai", "fake")


def make_llm(settings: Settings) -> LLM:
    match settings.llm_backend:
        case "local":
            from .local import make_local_llm  # a supervised worker process: a native crash is an error, not the end

            return make_local_llm(settings)
        case "openai":
            from .openai import OpenAICompatibleLLM  # retries, deadline and key scrubbing live there

            return OpenAICompatibleLLM(settings)
        case "fake":
            from .fake import FakeLLM

            return FakeLLM(settings.fake_replies)
    raise LLMError(f"unknown llm_backend {settings.llm_backend!r}; choose {', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}")
