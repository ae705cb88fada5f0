"""The local model in a child process, so a native crash never takes the caller down.

llama.cpp is native code: an instruction the CPU lacks (SIGILL), a bad memory access (SIGSEGV)
or the kernel's OOM killer ends the whole process that runs it. ``LocalProcessLLM`` runs
llama-cpp-python in a worker process started with ``spawn`` and talks to it over a pipe; when the
worker dies, the call in flight raises a one-line ``LLMError`` ("the local model stopped (illegal
instruction); run `rag doctor`") within a second, and the next call starts a fresh worker.

The worker answers these requests, one at a time (besides ``tokenize`` and ``reset``, for benchmarks):
  ``chat``   stream a chat completion (optionally under a GBNF grammar);
  ``score``  for each prompt, the probability that the reply starts with each of some words
             (one forward pass, no sampling; the prompt prefix shared with the previous
             request is reused from llama.cpp's KV cache) — the support judge reads P(yes);
  ``ping``   is it alive.
What it does not do: choose prompts, retry, or decide what a probability means.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import LLMError
from ..settings import Settings
from .base import Messages, timeout_error
from .model_file import ensure_model

SIGNAL_WORDS = {
    signal.SIGILL: "illegal instruction: the runtime was built for another CPU",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGBUS: "bus error",
    signal.SIGABRT: "aborted",
    signal.SIGKILL: "killed, perhaps out of memory",
    signal.SIGTERM: "terminated",
}
START_TIMEOUT_S = 120.0  # spawning, importing llama_cpp and mapping a 1.1 GB file; generous for a busy machine


@dataclass(frozen=True)
class WorkerConfig:
    """What the worker needs to load the model; plain data, so it crosses the process boundary."""

    model_path: str
    n_ctx: int
    n_threads: int
    n_batch: int = 512


def death_reason(exitcode: int | None) -> str:
    """``-4`` -> 'illegal instruction: …'; a positive code -> 'exited with status N'."""
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            return SIGNAL_WORDS.get(signal.Signals(-exitcode), f"killed by signal {signal.Signals(-exitcode).name}")
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


# -- the child side ---------------------------------------------------------------------------
class LoadedModel:
    """Runs inside the worker (bench/runtime.py also loads it in-process, to time the worker's cost):
    the loaded llama.cpp model and the requests it answers."""

    def __init__(self, config: WorkerConfig) -> None:
        from llama_cpp import Llama

        self.llm = Llama(
            model_path=config.model_path,
            n_ctx=config.n_ctx,
            n_threads=config.n_threads,
            n_threads_batch=config.n_threads,
            n_batch=config.n_batch,
            verbose=False,
        )
        self._grammars: dict[str, Any] = {}
        self._formatter = None

    def grammar(self, text: str | None) -> Any:
        if not text:
            return None
        if text not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
        return self._grammars[text]

    def chat(self, request: dict, send, cancelled) -> None:  # noqa: ANN001 - pipe and event
        parts = self.llm.create_chat_completion(
            messages=request["messages"],
            stream=True,
            max_tokens=request["max_tokens"],
            temperature=request["temperature"],
            seed=0,
            grammar=self.grammar(request.get("grammar")),
        )
        for part in parts:
            if cancelled.is_set():
                break
            delta = part["choices"][0].get("delta", {}).get("content")
            if delta:
                send({"token": delta})

    def prompt_text(self, messages: Messages) -> str:
        """The chat template applied to ``messages``, ending where the assistant's reply begins."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            meta = self.llm.metadata
            eos = self._token_text(self.llm.token_eos())
            bos = self._token_text(self.llm.token_bos())
            self._formatter = Jinja2ChatFormatter(meta["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
        return self._formatter(messages=messages).prompt

    def _token_text(self, token: int) -> str:
        return self.llm.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""

    def score(self, request: dict) -> list[list[float]]:
        """For each conversation, the probability of each word (first token) as the reply's start,
        out of the whole vocabulary."""
        import llama_cpp
        import numpy as np

        words: list[str] = request["words"]
        first_ids = [{self.llm.tokenize(v.encode(), add_bos=False, special=False)[0] for v in _variants(w)} for w in words]
        out = []
        for messages in request["conversations"]:
            tokens = self.llm.tokenize(self.prompt_text(messages).encode(), add_bos=False, special=True)
            cached = self.llm.input_ids[: self.llm.n_tokens].tolist()
            same = 0
            for a, b in zip(cached, tokens[:-1]):  # always evaluate at least the last token
                if a != b:
                    break
                same += 1
            self.llm.n_tokens = same
            self.llm.eval(tokens[same:])
            # Without logits_all, llama-cpp-python keeps no logits; read the last row from the context.
            row = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
            logits = np.ctypeslib.as_array(row, shape=(self.llm.n_vocab(),)).astype(np.float64)
            weights = np.exp(logits - logits.max())
            total = float(weights.sum())
            out.append([float(sum(weights[i] for i in ids)) / total for ids in first_ids])
        return out


def _variants(word: str) -> set[str]:
    """'yes' -> {'yes', 'Yes', 'YES', ' yes', ' Yes'}: the ways a reply can start with it."""
    forms = {word.lower(), word.capitalize(), word.upper()}
    return forms | {" " + f for f in forms}


def _worker_main(conn, cancelled, config: WorkerConfig) -> None:  # noqa: ANN001 - pipe, event
    try:
        model = LoadedModel(config)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        conn.send({"error": f"could not load the local model {config.model_path}: {exc}"})
        return
    conn.send({"ready": True})
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        cancelled.clear()
        try:
            match request["op"]:
                case "chat":
                    model.chat(request, conn.send, cancelled)
                    conn.send({"done": True})
                case "score":
                    conn.send({"done": True, "probs": model.score(request)})
                case "ping":
                    conn.send({"done": True})
                case "tokenize":
                    conn.send({"done": True, "tokens": model.llm.tokenize(request["text"].encode("utf-8"), add_bos=False, special=False)})
                case "reset":  # forget the KV cache (benchmarks time a cold prompt)
                    model.llm.reset()
                    conn.send({"done": True})
                case "stop":
                    return
                case other:
                    conn.send({"error": f"unknown request {other!r}"})
        except Exception as exc:  # noqa: BLE001 - a Python error in one request must not end the worker
            conn.send({"error": f"local model error: {exc}"})


# -- the parent side --------------------------------------------------------------------------
class LocalProcessLLM:
    """The ``local`` backend: the model runs in a supervised worker process (see module doc).

    One request at a time (the model is not re-entrant); safe to share across threads."""

    def __init__(self, config: WorkerConfig, name: str, runtime_stamp: Path | None = None) -> None:
        self.name = name
        self.config = config
        self.runtime_stamp = runtime_stamp
        self._lock = threading.Lock()
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Any = None
        self._cancelled: Any = None

    # lifecycle
    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the worker and wait until the model is loaded (no-op when it runs)."""
        with self._lock:
            self._ensure(time.monotonic() + timeout, timeout)

    def close(self) -> None:
        with self._lock:
            self._stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def _ensure(self, deadline: float, timeout: float) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        self._stop()
        if self.runtime_stamp is not None:
            from .cpu import runtime_mismatch, this_cpu

            if why := runtime_mismatch(self.runtime_stamp, this_cpu()):
                raise LLMError(why)
        parent, child = self._ctx.Pipe()
        self._cancelled = self._ctx.Event()
        self._proc = self._ctx.Process(target=_worker_main, args=(child, self._cancelled, self.config), daemon=True, name="rag-local-model")
        self._proc.start()
        child.close()
        self._conn = parent
        reply = self._receive(deadline, timeout, starting=True)
        if "error" in reply:
            self._stop()
            raise LLMError(reply["error"])

    def _stop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send({"op": "stop"})
            except (OSError, ValueError):
                pass
            self._conn.close()
        if self._proc is not None:
            self._proc.join(timeout=2)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(timeout=5)
        self._proc = self._conn = None

    def _died(self) -> LLMError:
        code = None
        if self._proc is not None:
            self._proc.join(timeout=1)
            code = self._proc.exitcode
        self._proc = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        return LLMError(f"the local model stopped ({death_reason(code)}); run `rag doctor`")

    def _receive(self, deadline: float, timeout: float, starting: bool = False) -> dict:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._stop()  # a hung worker is replaced at the next call
                raise timeout_error(self.name, timeout) if not starting else LLMError(f"{self.name} did not start within {timeout:g} s")
            try:
                if self._conn.poll(min(left, 0.25)):
                    return self._conn.recv()
            except (EOFError, OSError):
                raise self._died() from None
            if not self._proc.is_alive():
                # the pipe may still hold the last replies of a worker that just exited
                try:
                    if self._conn.poll(0):
                        return self._conn.recv()
                except (EOFError, OSError):
                    pass
                raise self._died()

    def _request(self, request: dict, timeout: float) -> Iterator[dict]:
        """Send one request and yield its replies until ``done``; cancels the work in the
        worker when the caller stops early (a closed stream, a client gone)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._ensure(deadline + START_TIMEOUT_S, timeout)
            self._conn.send(request)
            finished = False
            try:
                while True:
                    reply = self._receive(deadline, timeout)
                    if "error" in reply:
                        finished = True
                        raise LLMError(reply["error"])
                    # marked before the yield: a caller that returns on ``done`` closes this
                    # generator at the yield, and the work is then finished, not cut short
                    finished = bool(reply.get("done"))
                    yield reply
                    if finished:
                        return
            finally:
                if not finished and self._proc is not None and self._proc.is_alive():
                    self._cancelled.set()
                    try:  # drain what the worker sent before it saw the cancel
                        while not self._receive(time.monotonic() + 30, 30).get("done"):
                            pass
                    except LLMError:
                        self._stop()

    # the LLM protocol
    def stream(self, messages: Messages, *, max_tokens: int, temperature: float, timeout: float, grammar: str | None = None) -> Iterator[str]:
        request = {"op": "chat", "messages": messages, "max_tokens": max_tokens, "temperature": temperature, "grammar": grammar}
        for reply in self._request(request, timeout):
            if "token" in reply:
                yield reply["token"]

    def score(self, conversations: list[Messages], words: list[str], *, timeout: float) -> list[list[float]]:
        """P(reply starts with word) for each conversation and word; see ``LoadedModel.score``."""
        request = {"op": "score", "conversations": conversations, "words": words}
        for reply in self._request(request, timeout):
            if reply.get("done"):
                return reply["probs"]
        raise LLMError(f"{self.name}: no scores returned")

    def ping(self, timeout: float = 10.0) -> None:
        for _ in self._request({"op": "ping"}, timeout):
            pass

    def tokenize(self, text: str, timeout: float = 30.0) -> list[int]:
        """The model's tokens for ``text`` (no BOS, special tokens as text)."""
        for reply in self._request({"op": "tokenize", "text": text}, timeout):
            if reply.get("done"):
                return reply["tokens"]
        return []

    def reset(self, timeout: float = 30.0) -> None:
        """Forget the prompt cache: the next request reads its whole prompt."""
        for _ in self._request({"op": "reset"}, timeout):
            pass


def runtime_stamp_path() -> Path:
    """Where scripts/install.sh records the CPU features llama.cpp was built for."""
    return Path(sys.prefix) / "llama-cpu.json"


def make_local_llm(settings: Settings) -> LocalProcessLLM:
    """The ``local`` backend for ``settings``: the packaged model (assembled and checked once),
    run by a worker process that starts on the first request (or ``start()``)."""
    try:
        import llama_cpp  # noqa: F401 - only to fail early with the fix, not in the worker
    except ImportError as exc:
        raise LLMError("llama-cpp-python is not installed; run: make install (it builds it for this CPU)") from exc
    path = ensure_model(settings.local_model, settings.cache_dir)
    config = WorkerConfig(model_path=str(path), n_ctx=settings.llm_context, n_threads=settings.llm_threads)
    return LocalProcessLLM(config, name=f"local:{settings.local_model}", runtime_stamp=runtime_stamp_path())
