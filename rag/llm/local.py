"""The ``local`` backend: llama.cpp in-process on the packaged Qwen2.5-Coder GGUF, offline.

One generation at a time behind a lock (the model is not re-entrant); ``timeout`` covers the
whole answer. The model file is assembled by ``model_file.py``; prompts are built elsewhere.
"""

from __future__ import annotations

import threading
import time
from typing import Iterator

from ..errors import LLMError
from ..settings import Settings
from .base import Messages, check_deadline
from .model_file import ensure_model


class LocalLLM:
    """llama.cpp in-process. One generation at a time: the model is not re-entrant."""

    def __init__(self, settings: Settings) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMError("llama-cpp-python is not installed; run: make install (it builds it with the right CPU flags)") from exc
        path = ensure_model(settings.local_model, settings.cache_dir)
        self.name = f"local:{settings.local_model}"
        self._lock = threading.Lock()
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=settings.llm_context,
                n_threads=settings.llm_threads,
                n_threads_batch=settings.llm_threads,
                n_batch=512,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"could not load the local model {path}: {exc}") from exc

    def stream(self, messages: Messages, *, max_tokens: int, temperature: float, timeout: float) -> Iterator[str]:
        with self._lock:
            deadline = time.monotonic() + timeout
            parts = self._llm.create_chat_completion(
                messages=messages, stream=True, max_tokens=max_tokens, temperature=temperature, seed=0
            )
            for part in parts:
                check_deadline(deadline, timeout, self.name)
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta
