"""Synthetic corpora for the benchmark, recombined from the sentences of seeds/.

``write_corpus(n_chunks)`` writes article files (``date`` line, 3-7 paragraphs of 2-4 distinct
seed sentences drawn at random with a fixed seed) until the product's own cleaner and chunker
would make at least ``n_chunks`` chunks. Same arguments, same files; cached under
``~/.cache/rag-news/bench/corpora``.

``SentenceMeanEmbedder`` is the documented shortcut for corpora too large to embed for real in a
benchmark run (100k chunks would take ~40 min on 2 cores): a chunk's vector is the normalised mean
of the REAL MiniLM vectors of its seed sentences (computed once and cached). It carries the real
model's name, so the product loads and queries the index with the real encoder. It is used only
where the report says so.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np

from rag.ingest.chunk import chunk_article
from rag.ingest.clean import clean

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
CACHE = Path.home() / ".cache" / "rag-news" / "bench"
GENERATOR = "seed-sentences-v1"


def seed_sentences() -> list[str]:
    """Distinct cleaned sentences of the seed articles (at least 25 characters long)."""
    out: dict[str, None] = {}
    for path in sorted(SEEDS.iterdir()):
        article = clean(path.read_text(encoding="utf-8"))
        for s in article.sentences:
            if len(s.text) >= 25:
                out.setdefault(s.text, None)
    return list(out)


def make_article(rng: random.Random, sentences: list[str]) -> str:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    picked = rng.sample(sentences, min(len(sentences), rng.randint(10, 24)))
    paragraphs, at = [], 0
    while at < len(picked):
        size = rng.randint(2, 4)
        paragraphs.append(" ".join(picked[at : at + size]))
        at += size
    return f"date 2025-{month:02d}-{day:02d} " + "\n\n".join(paragraphs) + "\n"


def write_corpus(n_chunks: int, *, chunk_tokens: int, overlap: int, seed: int = 0, cache: Path = CACHE) -> tuple[Path, int]:
    """Folder of generated articles making at least ``n_chunks`` chunks, and the exact count."""
    folder = cache / "corpora" / f"{GENERATOR}-{n_chunks}-{chunk_tokens}-{overlap}-{seed}"
    stamp = folder / ".complete.json"
    if stamp.is_file():
        return folder, int(json.loads(stamp.read_text())["chunks"])
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    rng = random.Random(seed)
    sentences = seed_sentences()
    total, i = 0, 0
    while total < n_chunks:
        text = make_article(rng, sentences)
        name = f"syn_{i:06d}.txt"
        total += len(chunk_article(clean(text), name, max_tokens=chunk_tokens, overlap=overlap))
        (folder / name).write_text(text, encoding="utf-8")
        i += 1
    stamp.write_text(json.dumps({"chunks": total, "files": i, "generator": GENERATOR}))
    return folder, total


class SentenceMeanEmbedder:
    """Shortcut embedder (see module docstring). ``seconds`` sums the time spent in ``encode``."""

    def __init__(self, real, cache: Path = CACHE) -> None:  # noqa: ANN001 - a MiniLMEmbedder
        self.name = real.name
        self.dim = real.dim
        self.seconds = 0.0
        path = cache / f"sentence-vectors-{GENERATOR}.npz"
        sentences = seed_sentences()
        if path.is_file():
            data = np.load(path, allow_pickle=False)
            if list(data["sentences"]) == sentences:
                vectors = data["vectors"]
            else:
                vectors = None
        else:
            vectors = None
        if vectors is None:
            vectors = real.encode(sentences)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, sentences=np.array(sentences), vectors=vectors)
        self._real = real
        self._sentences = sentences
        self._vectors = vectors
        self._order = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        began = time.perf_counter()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            found = [i for i in self._order if self._sentences[i] in text]
            out[row] = self._vectors[found].mean(axis=0) if found else self._real.encode([text])[0]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        self.seconds += time.perf_counter() - began
        return out
