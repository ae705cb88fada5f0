"""One settings object for the whole engine.

Built explicitly (``Settings(...)``) or from the environment (prefix ``RAG_``) and a ``.env``
file, then passed down. Nothing here reads configuration at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "rag-news"


class Settings(BaseSettings):
    """Every knob of the engine, with its default and what it does."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Corpus and index
    corpus_dir: Path = Field(Path("seeds"), description="Folder of articles that `rag ingest` reads by default.")
    index_dir: Path = Field(Path("index"), description="Folder where the index is persisted.")
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Folder for assembled model files and other caches.",
    )

    feedback_path: Path = Field(Path("data/feedback.jsonl"), description="JSONL file where chat feedback (thumbs, comments) is appended.")

    # Chunking
    chunk_tokens: int = Field(160, ge=32, le=250, description="Target chunk size in embedder tokens (the embedder reads 256 at most).")
    chunk_overlap_sentences: int = Field(1, ge=0, le=3, description="Sentences repeated between neighbouring chunks.")

    # Embedding
    embed_backend: Literal["minilm", "fake"] = Field("minilm", description="`minilm`: packaged all-MiniLM-L6-v2; `fake`: hashing embedder for tests.")
    embed_batch_size: int = Field(64, ge=1, description="Texts per encoder batch.")
    torch_threads: int = Field(0, ge=0, description="Threads for the encoder; 0 keeps torch's default.")

    # Retrieval
    top_k: int = Field(4, ge=1, le=20, description="Passages given to the LLM.")
    candidate_k: int = Field(20, ge=1, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    min_dense_score: float = Field(0.25, description="Below this cosine similarity for the best passage the engine refuses without asking the LLM.")

    # LLM
    llm_backend: Literal["local", "openai", "fake"] = Field("local", description="`local` (llama.cpp, offline), `openai` (any OpenAI-compatible API) or `fake` (tests).")
    llm_threads: int = Field(2, ge=1, description="CPU threads for the local model.")
    llm_context: int = Field(4096, ge=512, description="Context window of the local model, in tokens.")
    llm_max_tokens: int = Field(256, ge=16, description="Most tokens an answer may have.")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    llm_timeout_s: float = Field(120.0, gt=0, description="Seconds an answer may take before the backend is reported as failing.")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries for transient API errors (429, 5xx, connection).")
    local_model: Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"] = Field("qwen2.5-coder-1.5b", description="Packaged GGUF model for the local backend.")
    openai_base_url: str = Field("https://api.openai.com/v1", description="Base URL of the OpenAI-compatible API.")
    openai_model: str = Field("gpt-4o-mini", description="Model name sent to the API.")
    openai_api_key: str = Field("", description="API key (also read from RAG_OPENAI_API_KEY). Never logged.", repr=False)
    fake_replies: list[str] = Field(default_factory=list, description="Scripted replies of the fake LLM; empty means it echoes a cited summary of its prompt.")

    # Verification
    support_overlap: float = Field(0.5, ge=0.0, le=1.0, description="Share of a sentence's content words that the cited passage must contain.")
    support_similarity: float = Field(0.62, ge=0.0, le=1.0, description="Embedding similarity that also counts as support when the overlap is lower.")
    retry_similarity: float = Field(0.45, ge=0.0, le=1.0, description="When the model refuses although the best passage is at least this similar, ask once more for the best sentence verbatim (still verified).")
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted.")
