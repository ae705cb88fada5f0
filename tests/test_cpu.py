"""The llama.cpp build flags derived from /proc/cpuinfo (rag/llm/cpu.py), on recorded CPUs of the
three kinds these machines come in, and the stamp check that stops a carried .venv crashing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.llm.cpu import build_for, features_of, runtime_mismatch

SAMPLES = Path(__file__).parent / "fixtures" / "cpuinfo"


def flags(sample: str) -> dict[str, str]:
    build = build_for(features_of((SAMPLES / sample).read_text()))
    return dict(arg.removeprefix("-D").split("=") for arg in build.cmake_args)


def test_avx2_only_amd_gets_no_avx512_and_no_native_build():
    f = flags("amd_epyc_avx2.txt")
    assert f["GGML_AVX2"] == f["GGML_FMA"] == f["GGML_F16C"] == f["GGML_BMI2"] == "ON"
    assert all(f[k] == "OFF" for k in f if k.startswith("GGML_AVX512"))
    assert f["GGML_NATIVE"] == "OFF"
    assert build_for(features_of((SAMPLES / "amd_epyc_avx2.txt").read_text())).kind == "avx2"


def test_avx512_intel_uses_avx512_but_not_extensions_it_lacks():
    f = flags("intel_skylake_avx512.txt")
    assert f["GGML_AVX512"] == "ON"
    assert f["GGML_AVX512_VNNI"] == f["GGML_AVX512_BF16"] == f["GGML_AVX512_VBMI"] == "OFF"  # Skylake has none of them


def test_amx_intel_uses_vnni_and_bf16_and_never_amx():
    f = flags("intel_sapphire_rapids_amx.txt")
    assert f["GGML_AVX512"] == f["GGML_AVX512_VNNI"] == f["GGML_AVX512_BF16"] == f["GGML_AVX512_VBMI"] == "ON"
    assert f["GGML_AVX_VNNI"] == "ON"
    assert f["GGML_AMX_TILE"] == f["GGML_AMX_INT8"] == f["GGML_AMX_BF16"] == "OFF"


def test_partial_avx512_is_not_enough():
    # a CPU with avx512f but without avx512bw (e.g. Knights Landing) must not get ggml's AVX-512 code
    f = dict(a.removeprefix("-D").split("=") for a in build_for(frozenset({"avx", "avx2", "fma", "avx512f", "avx512cd"})).cmake_args)
    assert f["GGML_AVX512"] == "OFF"


def test_a_cpu_without_avx2_gets_a_baseline_build():
    build = build_for(frozenset({"sse4_2", "avx"}))
    assert build.kind == "baseline"
    assert "-DGGML_AVX2=OFF" in build.cmake_args


def test_a_build_for_avx512_carried_to_an_avx2_machine_is_refused(tmp_path):
    stamp = tmp_path / "llama-cpu.json"
    stamp.write_text(json.dumps(build_for(features_of((SAMPLES / "intel_sapphire_rapids_amx.txt").read_text())).stamp()))
    why = runtime_mismatch(stamp, features_of((SAMPLES / "amd_epyc_avx2.txt").read_text()))
    assert why and "avx512f" in why and "make install" in why
    # ... and the same build on its own CPU is fine
    assert runtime_mismatch(stamp, features_of((SAMPLES / "intel_sapphire_rapids_amx.txt").read_text())) is None


def test_an_avx2_build_runs_on_every_recorded_cpu(tmp_path):
    stamp = tmp_path / "llama-cpu.json"
    stamp.write_text(json.dumps(build_for(features_of((SAMPLES / "amd_epyc_avx2.txt").read_text())).stamp()))
    for sample in SAMPLES.iterdir():
        assert runtime_mismatch(stamp, features_of(sample.read_text())) is None, sample.name


@pytest.mark.parametrize("command", ["cmake-args", "stamp", "describe"])
def test_install_script_entry_runs_with_the_bare_interpreter(command):
    # scripts/install.sh runs this file with the bare interpreter (-P: rag/types.py must not shadow the stdlib)
    script = Path(__file__).parent.parent / "rag" / "llm" / "cpu.py"
    out = subprocess.run([sys.executable, "-P", str(script), command], capture_output=True, text=True, check=True).stdout
    assert out.strip()
    if command == "stamp":
        assert json.loads(out)["recipe"] >= 1
