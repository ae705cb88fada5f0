"""`python -m bench.runtime`: the local model's runtime on this CPU (issue 11), written into the
per-CPU table of BENCHMARKS.md (the row of this CPU kind is replaced, the others are kept).

Measured side by side on one machine, in one run:
- prompt reading (tokens/s) of a ~500-token passage, cold KV cache, and generation speed, with
  llama.cpp's weight repacking on and off (the same build: `use_extra_bufts`, the runtime switch
  behind `GGML_CPU_REPACK`), plus each model's resident memory;
- the product's answers (retrieval, the real compacted answer prompt, greedy, cold cache) with the model
  in-process versus in the supervised worker process (rag/llm/local.py), question by question
  interleaved: the cost of crash isolation.

Takes ~10 min on 2 idle cores of the AVX2-only AMD. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

from .report import KEEP_BELOW, median

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- runtime-table:begin -->", "<!-- runtime-table:end -->"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _load(config, repack: bool):  # noqa: ANN001, ANN202 - WorkerConfig -> LoadedModel
    """The worker's model class, loaded in this process with repacking on or off."""
    import llama_cpp.llama_cpp as C

    from rag.llm.local import LoadedModel

    default = C.llama_model_default_params

    def params():  # noqa: ANN202
        p = default()
        p.use_extra_bufts = repack
        return p

    C.llama_model_default_params = params
    try:
        before = _rss_mb()
        model = LoadedModel(config)
        return model, _rss_mb() - before
    finally:
        C.llama_model_default_params = default


def _prompt_and_generation(model, text: str, new_tokens: int = 48) -> tuple[int, float, float]:  # noqa: ANN001
    llm = model.llm
    tokens = llm.tokenize(text.encode(), add_bos=False, special=False)
    llm.reset()
    began = time.perf_counter()
    llm.eval(tokens)
    read_s = time.perf_counter() - began
    began = time.perf_counter()
    for _ in range(new_tokens):  # greedy decode, one token at a time
        llm.eval([llm.sample(temp=0.0)])
    gen_s = time.perf_counter() - began
    return len(tokens), len(tokens) / read_s, new_tokens / gen_s


def _in_process_answer(model, messages, max_tokens: int) -> tuple[float, float, str]:  # noqa: ANN001
    model.llm.reset()
    pieces: list[str] = []
    first: list[float] = []
    began = time.perf_counter()

    def send(message: dict) -> None:
        if not first:
            first.append(time.perf_counter() - began)
        pieces.append(message["token"])

    model.chat({"messages": messages, "max_tokens": max_tokens, "temperature": 0.0}, send, threading.Event())
    return first[0] if first else float("nan"), time.perf_counter() - began, "".join(pieces)


def measure(questions: int) -> dict:
    from rag import Assistant, Settings
    from rag.index.embed import MiniLMEmbedder
    from rag.llm.cpu import build_for, this_cpu
    from rag.llm.local import make_local_llm, runtime_stamp_path

    from .llm_rows import timed_stream

    settings = Settings(llm_backend="local")
    worker = make_local_llm(settings)
    config = worker.config
    stamp = json.loads(runtime_stamp_path().read_text()) if runtime_stamp_path().exists() else {}
    names = [x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("model name")]
    out: dict = {"cpu": f"{names[0] if names else 'unknown CPU'} [{' '.join(build_for(this_cpu()).features)}]", "stamp": stamp, "threads": settings.llm_threads}

    # 1. Repacking on/off: prompt reading and generation, one model at a time.
    passage = re.sub(r"\s+", " ", (ROOT / "seeds" / sorted(os.listdir(ROOT / "seeds"))[0]).read_text(encoding="utf-8"))[:2500]
    for repack in (True, False):
        model, rss = _load(config, repack)
        runs = [_prompt_and_generation(model, passage) for _ in range(2)]
        out[f"repack_{'on' if repack else 'off'}"] = {
            "prompt_tokens": runs[0][0],
            "read_tok_s": max(r[1] for r in runs),
            "gen_tok_s": max(r[2] for r in runs),
            "rss_mb": rss,
        }
        del model
        print(f"repack {repack}: {runs}, {rss:.0f} MB", file=sys.stderr, flush=True)

    # 2. Worker vs in-process on the product's own answer prompt, interleaved per question.
    embedder = MiniLMEmbedder(batch_size=settings.embed_batch_size, threads=settings.torch_threads)
    assistant = Assistant.from_settings(settings, embedder=embedder, llm=worker)
    model, _ = _load(config, repack="REPACK=OFF" not in stamp.get("cmake_args", ""))
    worker.start()
    lines = [json.loads(x) for x in (ROOT / "evals" / "golden.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    asked = [x["question"] for x in lines if x.get("answerable", True)][:: max(1, len(lines) // questions)][:questions]
    rows = []
    for n, question in enumerate(asked):
        found = assistant.context(question)  # the product's own prompt: retrieval, reprints, compaction
        messages = assistant.build_messages(question, assistant.compact(question, found).prompt)
        if n % 2:  # alternate which goes first, so that drift in the machine's load cancels out
            worker.reset()
            outside = timed_stream(worker, messages, settings, time.perf_counter())
            inside = _in_process_answer(model, messages, settings.llm_max_tokens)
        else:
            inside = _in_process_answer(model, messages, settings.llm_max_tokens)
            worker.reset()
            outside = timed_stream(worker, messages, settings, time.perf_counter())
        rows.append({"question": question, "in_first": inside[0], "in_total": inside[1], "worker_first": outside[0], "worker_total": outside[1], "same_text": inside[2] == outside[2], "prompt_tokens": len(worker.tokenize(messages[-1]["content"]))})
        print(rows[-1], file=sys.stderr, flush=True)
    worker.close()
    out["answers"] = rows
    out["in_first_p50"] = median([r["in_first"] for r in rows])
    out["in_total_p50"] = median([r["in_total"] for r in rows])
    out["worker_first_p50"] = median([r["worker_first"] for r in rows])
    out["worker_total_p50"] = median([r["worker_total"] for r in rows])
    out["overhead"] = median([r["worker_total"] / r["in_total"] - 1 for r in rows])
    return out


def table_row(m: dict) -> tuple[str, str]:
    on, off = m["repack_on"], m["repack_off"]
    kind = m["stamp"].get("kind", "?")
    key = f"{m['cpu']} ({kind} build)"
    from rag.llm.cpu import REPACK_BY_KIND

    chosen = "on" if REPACK_BY_KIND.get(kind) else "off"
    row = (
        f"| {key} | {time.strftime('%Y-%m-%d')} | {m['threads']} | "
        f"{on['read_tok_s']:.1f} / {off['read_tok_s']:.1f} | {on['gen_tok_s']:.1f} / {off['gen_tok_s']:.1f} | {on['rss_mb']:.0f} / {off['rss_mb']:.0f} MB | {chosen} | "
        f"{m['in_first_p50']:.1f} / {m['in_total_p50']:.1f} s | {m['worker_first_p50']:.1f} / {m['worker_total_p50']:.1f} s | {m['overhead'] * 100:+.1f}% |"
    )
    return key, row


HEADER = [
    "| CPU (build) | measured | threads | prompt read tok/s, repack on / off | generation tok/s, on / off | model RAM, on / off | repack in the install recipe | answer in-process: first token / full (p50) | answer in worker: first / full (p50) | worker overhead (p50 per answer) |",
    "|---|---|---|---|---|---|---|---|---|---|",
]


def write_table(path: Path, key: str, row: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    kept: list[str] = []
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        body, tail = rest.split(END, 1)
        kept = [x for x in body.splitlines() if x.startswith("| ") and not x.startswith(HEADER[0][:12]) and not x.startswith(f"| {key} |")]
    else:
        marker = "" if KEEP_BELOW in text else KEEP_BELOW + " (bench.runtime, bench.store); `python -m bench` keeps them -->\n\n"
        head, tail = text.rstrip() + "\n\n" + marker + "## Local model runtime per CPU (`python -m bench.runtime`)\n\n", "\n"
    section = "\n".join([BEGIN, *HEADER, *kept, row, END])
    path.write_text(head + section + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=4, help="golden questions answered both ways")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)
    measured = measure(args.questions)
    cache = Path.home() / ".cache" / "rag-news" / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "last-runtime.json").write_text(json.dumps(measured, indent=2), encoding="utf-8")
    key, row = table_row(measured)
    write_table(Path(args.out), key, row)
    print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
