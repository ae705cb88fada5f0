"""``Engines``: the per-process cache of assistants behind the chat UI (and any server).

The index and the embedder load once, each LLM backend loads once, and chat settings
(``top_k``, backend) pick a variant that shares them. Thread-safe; call ``get`` off the event
loop, since it may load a model. It holds no UI text (``chat.py``) and no answering logic.

    engines = Engines(Settings())                  # loads on first use
    engines = Engines(settings, base=assistant)    # or around an assistant you built
    engines = Engines(settings, served=engine)     # or sharing a server's engine (``serve.py``)

Under ``rag serve`` the server loads its engine when it starts and swaps it after a re-ingest;
``base`` then waits for that engine (a question asked meanwhile is held, not dropped) and always
answers with its current assistant.
"""

from __future__ import annotations

import threading
from typing import Protocol

from ..answer.engine import Assistant
from ..llm.base import LLM
from ..llm.factory import make_llm
from ..settings import Settings


LOAD_WAIT_S = 600.0  # how long a chat question waits for a server's engine to load


class ServedEngine(Protocol):
    """What ``Engines`` needs of a server's engine (``api_engine.Engine``)."""

    def loading(self) -> bool: ...

    def wait(self, timeout_s: float) -> Assistant: ...

    def swap(self, assistant: Assistant) -> None: ...


class Engines:
    """Cache of assistants sharing one index and embedder; one LLM per backend."""

    def __init__(self, settings: Settings, base: Assistant | None = None, served: ServedEngine | None = None) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._base = base
        self._served = served
        self._llms: dict[str, LLM] = {}
        self._variants: dict[tuple[int, str], Assistant] = {}

    def loading(self) -> bool:
        """True while a server's engine is still loading (``base`` would wait for it)."""
        return self._served is not None and self._served.loading()

    def base(self) -> Assistant:
        """Loads the index and embedder on first call; errors are raised, not cached."""
        if self._served is not None:
            return self._served.wait(LOAD_WAIT_S)
        with self._lock:
            if self._base is None:
                self._base = Assistant.from_settings(self.settings)
            return self._base

    def swap(self, assistant: Assistant) -> None:
        """Answer with ``assistant`` from now on (e.g. after articles were added from the chat);
        variants built on the old index are rebuilt on their next use."""
        if self._served is not None:
            self._served.swap(assistant)
            return
        with self._lock:
            self._base = assistant

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
            variant = self._variants.get(key)
            if variant is not None and variant.index is base.index:  # not one from before a re-ingest
                return variant
        settings = base.settings.model_copy(update={"top_k": key[0], "llm_backend": key[1]})
        llm = base.llm if key[1] == base.settings.llm_backend else self._llm(settings)
        assistant = Assistant(settings, base.index, base.embedder, llm)
        with self._lock:
            kept = self._variants.get(key)
            if kept is None or kept.index is not base.index:
                self._variants[key] = assistant
            return self._variants[key]
