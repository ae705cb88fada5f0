"""Benchmark rows, the machine description, the printed table and BENCHMARKS.md.

Only formatting lives here; the measuring modules fill ``Row`` objects and a details dict.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


@dataclass
class Row:
    item: str
    measured: str
    goal: str
    passed: bool | None  # None: informational, no goal
    note: str = ""

    @property
    def verdict(self) -> str:
        return "—" if self.passed is None else ("PASS" if self.passed else "FAIL")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# BENCHMARKS.md: `python -m bench` rewrites what is above this marker and keeps what is below it
# (the sections bench.runtime and bench.store_rows write).
KEEP_BELOW = "<!-- sections below are written by other benchmarks"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def vector_flags() -> str:
    """" (AVX2, AVX-512)" or what of them the CPU lacks: the local model's build depends on it."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0].split()
    except (OSError, IndexError):
        return ""
    return f" ({'AVX2' if 'avx2' in flags else 'no AVX2'}, {'AVX-512' if 'avx512f' in flags else 'no AVX-512'})"


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    packages = []
    for name in ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "llama-index-core", "llama-cpp-python"):
        try:
            packages.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            packages.append(f"{name} (not installed)")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = "?"
    return [
        f"CPU: {cpu}; {os.cpu_count()} cores visible (nproc); RAM {mem}; load average at start {load}",
        f"Python {platform.python_version()} on {platform.platform()}",
        "Packages: " + ", ".join(packages),
        f"Repository commit: {commit or '?'} (plus uncommitted changes, if any)",
    ]


def table(rows: list[Row]) -> str:
    head = ["item", "measured", "goal", "result"]
    body = [[r.item, r.measured, r.goal, r.verdict] for r in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(4)]
    widths = [min(w, 70) for w in widths]
    fmt = lambda cells: "  ".join(c[:w].ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(b) for b in body])


def markdown(rows: list[Row], details: list[str], command: str, mode: str, started: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))} "
        f"({mode} mode, {time.time() - started:.0f} s). Every ratio is measured side by side in the same run.",
        "",
        "## Machine",
        "",
        *[f"- {m}" for m in machine()],
        "",
        "## Results",
        "",
        "| item | measured | goal | result | note |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r.item, r.measured, r.goal, r.verdict, r.note]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    lines += ["", "## Details and method", ""] + details + [""]
    return "\n".join(lines)
