"""Which instruction sets this CPU has, and the llama.cpp build flags that fit it.

Standard library only, so ``scripts/install.sh`` runs it before the virtual environment has
anything in it (``python3 -P rag/llm/cpu.py cmake-args``; -P keeps rag/ off sys.path, where types.py would shadow the stdlib). It never turns on AMX: llama.cpp's AMX path
segfaults on the Intel machines of this project's kind. AVX-512 is used only when every extension
ggml compiles its AVX-512 code with is present, so a build made here never executes an
instruction this CPU lacks.

What it does not do: benchmark anything, or decide at run time which kernels to use (that is
fixed when llama.cpp is compiled). ``runtime_mismatch`` tells the engine, before it loads the
model, that the build was made for a CPU with features this one lacks.

    >>> sorted(features_of("flags : fpu avx avx2 fma f16c bmi2"))
    ['avx', 'avx2', 'bmi2', 'f16c', 'fma', 'fpu']
    >>> build_for(features_of("flags : fpu avx avx2 fma f16c bmi2")).kind
    'avx2'
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

# Bump when the flag choice changes, so installs made with the old choice are rebuilt.
RECIPE_VERSION = 5
LLAMA_CPP_PYTHON = "0.3.36"

# cpuinfo flag(s) -> ggml CMake option. A tuple needs every flag it names.
GGML_OPTIONS: dict[str, tuple[str, ...]] = {
    "GGML_SSE42": ("sse4_2",),
    "GGML_AVX": ("avx",),
    "GGML_AVX2": ("avx2",),
    "GGML_FMA": ("fma",),
    "GGML_F16C": ("f16c",),
    "GGML_BMI2": ("bmi2",),
    "GGML_AVX_VNNI": ("avx_vnni",),
    # ggml compiles its AVX-512 code with -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw
    "GGML_AVX512": ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"),
    "GGML_AVX512_VBMI": ("avx512f", "avx512vbmi"),
    "GGML_AVX512_VNNI": ("avx512f", "avx512_vnni"),
    "GGML_AVX512_BF16": ("avx512f", "avx512_bf16"),
}
# Always off: AMX crashes (see ../shared/OFFLINE.md); native would tune to the build machine.
ALWAYS_OFF = ("GGML_NATIVE", "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")

# Weight repacking ("REPACK") per CPU kind, measured (BENCHMARKS.md, "Local model runtime per CPU",
# `python -m bench.runtime`, which switches repacking at run time on one build): on the AVX2-only
# AMD EPYC, idle, it read prompts no faster (20.2 vs 19.9 tok/s, 487 tokens; generation 10.1 vs
# 9.4) and held 1.8 GB instead of 1.2 GB; on the AVX-512 Intel machine off was faster (135 vs 90
# tok/s, ../shared/OFFLINE.md). AVX2 keeps it on for now although off would save 0.6 GB: other
# kernels change the 1.5B model's greedy answers (an off build turned one real-model safety test's
# answer into a refusal), and the CI gate's thresholds were measured with it on. Switch it off
# together with a gate re-run. A CPU without AVX2 is untested; it follows AVX2.
REPACK_BY_KIND = {"avx512": False, "avx2": True, "baseline": True}


@dataclass(frozen=True)
class Build:
    """The CPU features a llama.cpp build is compiled for, and its CMake arguments."""

    features: tuple[str, ...]
    kind: str
    cmake_args: tuple[str, ...]

    def stamp(self) -> dict:
        return {
            "recipe": RECIPE_VERSION,
            "llama_cpp_python": LLAMA_CPP_PYTHON,
            "kind": self.kind,
            "features": list(self.features),
            "cmake_args": " ".join(self.cmake_args),
        }


def features_of(cpuinfo: str) -> frozenset[str]:
    """The instruction-set flags of the first processor listed in a /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def build_for(features: frozenset[str]) -> Build:
    """The build that uses every supported extension this CPU has, and nothing it lacks."""
    on = [opt for opt, needs in GGML_OPTIONS.items() if all(f in features for f in needs)]
    used = sorted({f for opt in on for f in GGML_OPTIONS[opt]})
    kind = "avx512" if "GGML_AVX512" in on else "avx2" if "GGML_AVX2" in on else "baseline"
    args = [f"-D{opt}={'ON' if opt in on else 'OFF'}" for opt in GGML_OPTIONS]
    args += [f"-D{opt}=OFF" for opt in ALWAYS_OFF]
    args.append(f"-DGGML_CPU_REPACK={'ON' if REPACK_BY_KIND[kind] else 'OFF'}")
    args.append("-DLLAVA_BUILD=OFF")  # the multimodal library (mtmd): never used, a sizeable part of the build
    return Build(features=tuple(used), kind=kind, cmake_args=tuple(args))


def this_cpu(path: str = "/proc/cpuinfo") -> frozenset[str]:
    try:
        return features_of(Path(path).read_text())
    except OSError:
        return frozenset()


def runtime_mismatch(stamp_path: Path, cpu: frozenset[str]) -> str | None:
    """Why the recorded build cannot run on ``cpu``, or None when it can (or nothing is recorded)."""
    try:
        recorded = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        return None
    missing = sorted(set(recorded.get("features", [])) - cpu)
    if missing:
        return (
            f"the local model runtime was built for a CPU with {', '.join(missing)}, which this CPU lacks; "
            "rebuild it with: make install"
        )
    return None


def main(argv: list[str]) -> int:
    build = build_for(this_cpu())
    match argv[1:] or ["cmake-args"]:
        case ["cmake-args"]:
            print(" ".join(build.cmake_args))
        case ["stamp"]:
            print(json.dumps(build.stamp(), sort_keys=True))
        case ["describe"]:
            print(f"{build.kind}: {' '.join(build.features) or 'no SIMD extensions'}")
        case _:
            print("usage: python rag/llm/cpu.py [cmake-args|stamp|describe]", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
