"""``rag doctor``: is this installation able to answer? One line per check, with the fix.

Checks Python and the pinned package versions, the CPU's instruction sets against those the
local runtime was built for, the model file (size; ``verify=True`` re-hashes it), the index
(manifest and counts) and, last, a real load of the local model and a few generated tokens in a
child process (so a broken build is reported, not fatal). ``scripts/install.sh`` runs it, so a
runtime that cannot run here fails the install rather than the first question.

What it does not do: repair anything. Each failed check names the command that does.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..errors import IndexNotFoundError, RagError
from ..settings import Settings

GENERATED_TOKENS = 16
KEY_PACKAGES = ("llama-cpp-python", "torch", "sentence-transformers", "faiss-cpu", "llama-index-core", "chainlit")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        tail = f"  → fix: {self.fix}" if not self.ok and self.fix else ""
        return f"{mark} {self.name}: {self.detail}{tail}"

    def to_dict(self) -> dict:
        return asdict(self)


def check_python() -> Check:
    ok = sys.version_info[:2] == (3, 11)
    return Check("python", ok, platform.python_version(), "use Python 3.11 (requires-python in pyproject.toml)")


def check_packages() -> Check:
    """Every pinned requirement of the installed project is present at its pinned version."""
    from packaging.requirements import Requirement

    try:
        requirements = metadata.requires("rag-news") or []
    except metadata.PackageNotFoundError:
        return Check("packages", False, "rag-news is not installed", "make install")
    wrong = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": "local"}):
            continue  # dev-only extras are not needed to answer
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{req.name} missing")
            continue
        if req.specifier and not req.specifier.contains(have, prereleases=True):
            wrong.append(f"{req.name} {have} (wants {req.specifier})")
    shown = ", ".join(f"{n} {_version(n)}" for n in KEY_PACKAGES)
    if wrong:
        return Check("packages", False, "; ".join(wrong[:5]), "make install")
    return Check("packages", True, shown)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


def check_cpu(stamp_path: Path) -> Check:
    from ..llm.cpu import build_for, runtime_mismatch, this_cpu

    cpu = this_cpu()
    here = build_for(cpu)
    try:
        built = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        return Check("cpu", False, f"this CPU: {here.kind} ({' '.join(here.features)}); no record of how llama.cpp was built ({stamp_path})", "make install")
    if why := runtime_mismatch(stamp_path, cpu):
        return Check("cpu", False, why, "make install")
    amx = sorted(f for f in cpu if f.startswith("amx"))
    note = f"; AMX present ({' '.join(amx)}) and not used" if amx else ""
    return Check("cpu", True, f"this CPU: {here.kind} ({' '.join(here.features)}); runtime built for {built.get('kind')} ({' '.join(built.get('features', []))}){note}")


def check_model(settings: Settings, verify: bool) -> Check:
    from ..llm.model_file import MODELS, ensure_model, matches, sha256_of

    spec = MODELS[settings.local_model]
    try:
        path = ensure_model(settings.local_model, settings.cache_dir)
    except RagError as exc:
        return Check("model", False, str(exc), "make install")
    size = path.stat().st_size
    if size != spec.size:
        return Check("model", False, f"{path} is {size} bytes, expected {spec.size}", f"rm {path} && rag model")
    detail = f"{path} ({size / 1e9:.2f} GB)"
    if verify:
        digest = sha256_of(path)
        if not matches(spec, digest):
            return Check("model", False, f"{path} sha256 {digest[:12]}… does not match", f"rm {path} && rag model")
        detail += f", sha256 {digest[:12]}… matches"
    else:
        detail += ", size matches (--verify re-hashes it)"
    return Check("model", True, detail)


def check_index(settings: Settings) -> Check:
    from ..index.stores import index_summary

    build = f"{'RAG_STORE=postgres ' if settings.store == 'postgres' else ''}rag ingest --index {settings.index_dir}"
    try:
        summary = index_summary(settings)
    except IndexNotFoundError as exc:
        return Check("index", False, str(exc), build)
    except RagError as exc:
        return Check("index", False, str(exc), f"rag ingest --rebuild --index {settings.index_dir}")
    if summary is None:
        return Check("index", False, f"no index in {settings.index_dir} ({settings.store} store)", build)
    s = summary
    return Check("index", True, f"{s['where']}: format {s['format']}, {s['articles']} articles, {s['chunks']} chunks, {s['embedding_model']}")


def check_generation(settings: Settings) -> Check:
    """Load the local model in a child process and time a few generated tokens."""
    from ..llm.local import make_local_llm

    began = time.perf_counter()
    llm = make_local_llm(settings)
    try:
        llm.start()
        loaded = time.perf_counter() - began
        t = time.perf_counter()
        first = None
        tokens = 0
        for _ in llm.stream(
            [{"role": "user", "content": "Count from one to twenty in words, separated by commas."}],
            max_tokens=GENERATED_TOKENS,
            temperature=0.0,
            timeout=settings.llm_timeout_s,
        ):
            tokens += 1
            first = first or time.perf_counter() - t
        spent = time.perf_counter() - t
    except RagError as exc:
        return Check("generation", False, str(exc), "make install (rebuilds llama.cpp for this CPU), then rag doctor")
    finally:
        llm.close()
    if tokens == 0:
        return Check("generation", False, "the model loaded but generated nothing", "rag doctor --verify")
    rate = (tokens - 1) / (spent - first) if tokens > 1 and spent > first else float("nan")
    return Check("generation", True, f"loaded in {loaded:.1f} s; {tokens} tokens, first after {first:.2f} s, {rate:.1f} tokens/s ({settings.llm_threads} threads)")


def run_checks(settings: Settings, *, verify: bool = False, generate: bool = True, index: bool = True, stamp_path: Path | None = None) -> list[Check]:
    from ..llm.local import runtime_stamp_path

    steps: list[Callable[[], Check]] = [
        check_python,
        check_packages,
        lambda: check_cpu(stamp_path or runtime_stamp_path()),
        lambda: check_model(settings, verify),
    ]
    if index:
        steps.append(lambda: check_index(settings))
    checks = [step() for step in steps]
    if generate:
        runtime_ok = all(c.ok for c in checks if c.name in ("cpu", "model"))
        checks.append(check_generation(settings) if runtime_ok else Check("generation", False, "skipped: fix the checks above first"))
    return checks
