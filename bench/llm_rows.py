"""Local-model latency: time to first token and to the full answer on seeds questions, with
today's prompt and with the compacted one (rag/answer/compact.py), interleaved question by question on
one loaded model; llama.cpp's KV-cache reuse of the shared prompt prefix; peak RSS of `rag ask`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from rag import Assistant, Settings
from rag.answer.compact import ContextBudget, compact
from rag.llm.local import LocalProcessLLM, make_local_llm

from .report import median


def _prompt_tokens(llm: LocalProcessLLM, messages: list[dict[str, str]]) -> list[int]:
    text = "\n".join(m["content"] for m in messages)
    return llm.tokenize(text)


def timed_stream(llm: LocalProcessLLM, messages, settings: Settings, began: float, max_tokens: int | None = None) -> tuple[float, float, str]:  # noqa: ANN001
    first = None
    pieces = []
    for token in llm.stream(messages, max_tokens=max_tokens or settings.llm_max_tokens, temperature=0.0, timeout=settings.llm_timeout_s):
        if first is None:
            first = time.perf_counter() - began
        pieces.append(token)
    return (first if first is not None else float("nan")), time.perf_counter() - began, "".join(pieces)


def measure_answers(index_dir: Path, embedder, questions: list[str], settings: Settings) -> dict:  # noqa: ANN001
    settings = settings.model_copy(update={"index_dir": index_dir, "llm_backend": "local"})
    began = time.perf_counter()
    llm = make_local_llm(settings)
    llm.start()  # the worker process loads the model
    load_s = time.perf_counter() - began
    assistant = Assistant.from_settings(settings, embedder=embedder, llm=llm)
    budget = ContextBudget.from_settings(settings)
    rows = []
    for q in questions:
        record = {"question": q}
        for mode in ("full", "compact"):
            began = time.perf_counter()
            found = assistant.retriever.retrieve(q, settings.top_k)
            verify_chunks = list(found.chunks)
            if mode == "compact":
                compacted = compact(q, found, embedder, budget)
                messages = assistant.build_messages(q, compacted.prompt)
                verify_chunks = list(compacted.originals.chunks)
            else:
                messages = assistant.build_messages(q, found)
            prepared = time.perf_counter() - began
            first, total, text = timed_stream(llm, messages, settings, began)
            checked = assistant.verifier.verify(text, verify_chunks, q, assistant.documents)
            record[mode] = {
                "first_s": first,
                "total_s": total,
                "prepare_s": prepared,
                "prompt_tokens": len(_prompt_tokens(llm, messages)),
                "passages": len(verify_chunks),
                "supported": bool(checked.supported),
                "answer": text.strip(),
            }
        rows.append(record)
    cache = prefix_cache(llm, assistant, questions, settings)
    return {"load_s": load_s, "rows": rows, "cache": cache}


def prefix_cache(llm: LocalProcessLLM, assistant: Assistant, questions: list[str], settings: Settings) -> dict:
    """Prompt-read time of one question with no KV cache (after reset) versus right after another
    question (llama-cpp-python reuses the longest common token prefix), 1 generated token each."""
    if len(questions) < 2:
        return {}
    a, b = questions[0], questions[1]
    msgs_a = assistant.build_messages(a, assistant.retriever.retrieve(a, settings.top_k))
    msgs_b = assistant.build_messages(b, assistant.retriever.retrieve(b, settings.top_k))
    ta, tb = _prompt_tokens(llm, msgs_a), _prompt_tokens(llm, msgs_b)
    shared = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
    llm.reset()
    cold = timed_stream(llm, msgs_a, settings, time.perf_counter(), max_tokens=1)[0]
    timed_stream(llm, msgs_b, settings, time.perf_counter(), max_tokens=1)
    warm = timed_stream(llm, msgs_a, settings, time.perf_counter(), max_tokens=1)[0]
    return {"shared_tokens": shared, "prompt_tokens": len(ta), "cold_s": cold, "after_other_s": warm}


def summary(result: dict, mode: str) -> dict:
    rows = [r[mode] for r in result["rows"]]
    return {
        "first_p50": median([r["first_s"] for r in rows]),
        "first_max": max(r["first_s"] for r in rows),
        "total_p50": median([r["total_s"] for r in rows]),
        "total_max": max(r["total_s"] for r in rows),
        "tokens": median([r["prompt_tokens"] for r in rows]),
        "supported": sum(r["supported"] for r in rows),
        "n": len(rows),
    }


def peak_rss_of_ask(index_dir: Path, question: str) -> dict:
    """Peak RSS of a real `rag ask` process with the local model (GNU time's maximum RSS)."""
    rag = Path(sys.executable).parent / "rag"
    command = ["/usr/bin/time", "-v", str(rag), "ask", question, "--index", str(index_dir), "--backend", "local"]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"`rag ask` failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return {"peak_gb": int(found.group(1)) / 1024 / 1024, "seconds": seconds, "answer": done.stdout.strip().splitlines()[0]}
