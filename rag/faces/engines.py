"""``Engines``: the per-process cache of assistants behind the chat UI (and any server).

The index and the embedder load once, each LLM backend loads once, and chat settings
(``top_k``, backend) pick a variant that shares them. Thread-safe; call ``get`` off the event
loop, since it may load a model. It holds no UI text (``chat.py``) and no answering logic.

    engines = Engines(Settings())                  # loads on first use
    engines = Engines(settings, base=assistant)    # or around an assistant you built
"""

from __future__ import annotations

import threading

from ..answer.engine import Assistant
from ..llm.base import LLM
from ..llm.factory import make_llm
from ..settings import Settings


class Engines:
    """Cache of assistants sharing one index and embedder; one LLM per backend."""

    def __init__(self, settings: Settings, base: Assistant | None = None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._base = base
        self._llms: dict[str, LLM] = {}
        self._variants: dict[tuple[int, str], Assistant] = {}

    def base(self) -> Assistant:
        """Loads the index and embedder on first call; errors are raised, not cached."""
        with self._lock:
            if self._base is None:
                self._base = Assistant.from_settings(self.settings)
            return self._base

    def _llm(self, settings: Settings) -> LLM:
        with self._lock:
            if settings.llm_backend not in self._llms:
                self._llms[settings.llm_backend] = make_llm(settings)
            return self._llms[settings.llm_backend]

    def get(self, top_k: int | None = None, llm_backend: str | None = None) -> Assistant:
        """An assistant for these chat settings. Loads the LLM, so call it off the event loop."""
        base = self.base()
        key = (top_k or base.settings.top_k, llm_backend or base.settings.llm_backend)
        if key == (base.settings.top_k, base.settings.llm_backend):
            return base
        with self._lock:
            if key in self._variants:
                return self._variants[key]
        settings = base.settings.model_copy(update={"top_k": key[0], "llm_backend": key[1]})
        llm = base.llm if key[1] == base.settings.llm_backend else self._llm(settings)
        assistant = Assistant(settings, base.index, base.embedder, llm)
        with self._lock:
            return self._variants.setdefault(key, assistant)
