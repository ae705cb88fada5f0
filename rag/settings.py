"""One settings object for the whole engine.

Built explicitly (``Settings(...)``) or from the environment (prefix ``RAG_``) and a ``.env``
file, then passed down. Nothing here reads configuration at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "rag-news"


class Settings(BaseSettings):
    """Every knob of the engine, with its default and what it does."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Corpus and index
    corpus_dir: Path = Field(Path("seeds"), description="Folder of articles that `rag ingest` reads by default.")
    max_file_mb: float = Field(5.0, gt=0, description="`rag ingest` skips files larger than this (news articles are rarely over 0.1 MB; embedding 1 MB of text takes about a minute on 2 cores).")
    index_dir: Path = Field(Path("index"), description="Folder where the index is persisted.")
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Folder for assembled model files and other caches.",
    )

    store: Literal["faiss", "postgres"] = Field("faiss", description="Where the index lives. `faiss`: files in index_dir, loaded into memory (one machine, one writer). `postgres`: PostgreSQL with pgvector (HNSW, cosine) and a full-text index, shared by any number of `rag serve` processes and ingests; see README \"Scaling out\".")
    database_url: str = Field("", description="PostgreSQL connection URL for store=postgres (e.g. `postgresql://rag@db.example/news`; one corpus per database). Empty: an embedded PostgreSQL 16 from the pgserver package, data in <index_dir>/postgres, Unix socket only, stopped when the last process using it exits.", repr=False)

    feedback_path: Path = Field(Path("data/feedback.jsonl"), description="JSONL file where chat feedback (thumbs, comments) is appended.")

    # Chunking
    chunk_tokens: int = Field(160, ge=32, le=250, description="Target chunk size in embedder tokens (the embedder reads 256 at most).")
    chunk_overlap_sentences: int = Field(1, ge=0, le=3, description="Sentences repeated between neighbouring chunks.")

    # Embedding
    embed_backend: Literal["minilm", "fake"] = Field("minilm", description="`minilm`: packaged all-MiniLM-L6-v2; `fake`: hashing embedder for tests.")
    embed_batch_size: int = Field(16, ge=1, description="Texts per encoder batch. 16 measured ~1.5x faster than 64 on 2 CPU cores (less padding and better cache use); see BENCHMARKS.md.")
    torch_threads: int = Field(0, ge=0, description="Threads for the encoder; 0 keeps torch's default.")

    # Retrieval
    top_k: int = Field(4, ge=1, le=20, description="Passages given to the LLM.")
    candidate_k: int = Field(20, ge=1, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = Field(1, ge=1, description="Reciprocal-rank-fusion constant: a passage scores 1/(rrf_k + rank) in each list. Small, so that either retriever's first picks count as much as the boosts that multiply the fused score (a name ×1.41, a number ×2): at the textbook 60, ranks 0 and 10 differ by 16% and the boosts alone ordered the passages. Answer in the prompt (`bench.prompt_recall`), 60 -> 1: golden 40 -> 42 of 46, paraphrases 77 -> 82 of 92, editions 34 -> 34 of 35 (evals/README.md, thirteenth session).")
    approximate_index_above: int = Field(50_000, ge=0, description="Above this many chunks `rag ingest` builds an approximate FAISS HNSW index instead of the exact one (much faster search, recall@10 reported by `make bench`); 0 means always exact. Takes effect at the next ingest.")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree (links per vector); higher is more accurate, larger and slower to build.")
    hnsw_ef_construction: int = Field(80, ge=8, description="HNSW candidate list size while building the index.")
    hnsw_ef_search: int = Field(800, ge=8, description="HNSW candidate list size while searching (FAISS: stored in the index, re-ingest with --rebuild to change it; PostgreSQL: set on each connection); higher is more accurate and slower. Dense recall@10 at 1M synthetic chunks on pgvector, m=32 (BENCHMARKS.md, Index stores), two builds of the same data: 0.762 / 0.739 at 96, 0.887 / 0.858 at 200, 0.946 / 0.934 at 400, 0.977 / 0.976 at 800; 512 gave 0.958 / 0.950, too close to the 0.95 goal.")
    min_dense_score: float = Field(0.25, description="Below this cosine similarity for the best passage the engine refuses without asking the LLM.")

    # News features (rag/answer/news.py, rag/text/dates.py, rag/answer/articles.py)
    reprint_similarity: float = Field(0.8, ge=0.0, le=1.0, description="Sentences of two articles at least this similar (MiniLM cosine) are treated as one reprinted wire sentence: shown once, cited to both files.")
    conflict_similarity: float = Field(0.45, ge=0.0, le=1.0, description="Least similarity of two sentences from different articles for a different place of the same event to count as a disagreement.")
    same_story_similarity: float = Field(0.75, ge=0.0, le=1.0, description="Least similarity of two sentences for different numbers or days in them to count as a disagreement.")
    time_boost: float = Field(2.0, ge=1.0, le=10.0, description="Factor on the fused score of passages dated as the question's time expression (\"on September 1\", \"in May\", \"before the parade\"); 1 turns it off.")
    constraint_boost: float = Field(2.0, ge=1.0, le=10.0, description="Factor on the fused score of a passage for each year or number the question states that it (or its article's date) carries, and its inverse for each it lacks (names count half): passages about the asked edition of a recurring event outrank other editions. 1 turns it off.")
    extra_candidates: int = Field(4, ge=0, le=20, description="Passages retrieved beyond top_k, so that merging reprints still fills top_k context passages.")
    article_lines: int = Field(8, ge=1, le=50, description="Most lines in a list or timeline answer (\"Which articles mention ...\", \"What happened on ...\").")

    # Prompt compaction (rag/answer/compact.py): fewer prompt tokens, so the local model answers sooner
    context_compaction: bool = Field(True, description="Show the model only the sentences of each passage that support the question (verification still uses the whole passages).")
    context_budget_tokens: int = Field(175, ge=32, description="Most (estimated) tokens of passage text and passage headers in the prompt when compaction is on; 175 gives ~275-token prompts, ~2 s to the first local token on 2 cores.")
    context_passage_overhead_tokens: int = Field(22, ge=0, description="Tokens counted for each passage's header and delimiters (prompts/passage.txt): 22 Qwen tokens measured for one date.")
    context_max_sentences_per_passage: int = Field(3, ge=1, description="Most sentences kept from one passage.")
    context_min_sentence_score: float = Field(0.3, description="Sentences scoring below this (similarity to the question + lexical share x weight) are not chosen for their score, except the best sentence of all; the budget left (context_fill) may still show them.")
    context_decisive_score: float = Field(0.75, description="When the best passage scores at least this much ...")
    context_decisive_margin: float = Field(0.15, ge=0.0, description="... and beats every other passage by this margin, only `context_decisive_keep` passages are shown.")
    context_decisive_keep: int = Field(2, ge=1, description="Passages shown when the top one is decisive.")
    context_fill: bool = Field(True, description="Spend the budget the score cut leaves unused on the kept passages' other sentences (best passage first): an answer sentence often shares few words with the question.")
    context_lexical_weight: float = Field(0.5, ge=0.0, description="Weight of the share of the question's content words, numbers and names in a sentence's score.")
    context_kind_weight: float = Field(0.5, ge=0.0, description="Added to the score of a sentence holding the kind of thing the question asks for and does not give (a person for \"Who …?\", a figure for \"How many …?\", a date for \"When …?\", a place for \"Where …?\"; rag/answer/expects.py): an answer sentence shares few words with its question. Equal to the lexical weight: holding the asked thing counts as much as holding every word of the question. 0 turns it off.")

    # LLM
    llm_backend: Literal["local", "openai", "fake"] = Field("local", description="`local` (llama.cpp, offline), `openai` (any OpenAI-compatible API) or `fake` (tests).")
    llm_threads: int = Field(2, ge=1, description="CPU threads for the local model.")
    llm_context: int = Field(4096, ge=512, description="Context window of the local model, in tokens.")
    llm_max_tokens: int = Field(256, ge=16, description="Most tokens an answer may have.")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    llm_timeout_s: float = Field(120.0, gt=0, description="Seconds an answer may take before the backend is reported as failing.")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries for transient API errors (429, 5xx, connection), all within llm_timeout_s; never after the answer has started streaming.")
    llm_backoff_s: float = Field(0.5, ge=0.0, le=30.0, description="First wait before an API retry; doubles each retry (a server's Retry-After is honoured when longer and it fits the timeout).")
    local_model: Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"] = Field("qwen2.5-coder-1.5b", description="Packaged GGUF model for the local backend.")
    openai_base_url: str = Field("https://api.openai.com/v1", description="Base URL of the OpenAI-compatible API.")
    openai_model: str = Field("gpt-4o-mini", description="Model name sent to the API.")
    openai_api_key: str = Field("", description="API key (also read from RAG_OPENAI_API_KEY). Never logged.", repr=False)
    fake_replies: list[str] = Field(default_factory=list, description="Scripted replies of the fake LLM; empty means it echoes a cited summary of its prompt.")

    # Verification
    support_overlap: float = Field(0.5, ge=0.0, le=1.0, description="Share of a sentence's content words that the cited passage must contain.")
    support_similarity: float = Field(0.62, ge=0.0, le=1.0, description="Embedding similarity that also counts as support when the overlap is lower.")
    retry_similarity: float = Field(0.45, ge=0.0, le=1.0, description="When the model refuses although the best passage is at least this similar, ask once more for the best sentence verbatim (still verified).")
    split_questions: bool = Field(True, description="Answer a question that asks two things (\"Where did X go in May, and where did Y meet Z?\") as two questions, each retrieved, answered and verified on its own, shown one after the other; a part the articles do not answer is named. Only where the second part is a question by itself (rag/answer/relevance.py question_parts).")
    stop_at_drift: bool = Field(True, description="End the answer, and stop the model, at the draft's first sentence after the first that shares no word, number or name with the question (a small model copying on through its passage after answering).")
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted.")

    # Semantic support check (rag/answer/judge.py): the model is asked yes/no per claim and evidence
    judge: bool = Field(True, description="Check every answer sentence that is not a near-verbatim copy of its quote with the model as a yes/no judge (P(yes) read from the first token), besides the lexical checks. Off: lexical checks only.")
    judge_supported_at: float = Field(0.5, ge=0.0, le=1.0, description="Least P(yes) (normalised over yes/no) for the judge to count a claim as stated by its evidence; calibrated on evals/claims.jsonl (see evals/README.md).")
    judge_verbatim_ratio: float = Field(0.9, ge=0.0, le=1.0, description="An answer sentence at least this similar (difflib ratio) to its quoted sentence is a copy and skips the judge.")
    check_candidates: int = Field(3, ge=1, le=10, description="Sentences closest to a claim that `rag check` shows the judge (each with the sentence before it).")
    judge_exchange_margin: float = Field(0.05, ge=0.0, le=1.0, description="A claim naming two parties in different roles is not stated by evidence the judge reads better with the two exchanged (P(yes) higher by more than this): 'Oyelaran defeated Tamsin' over 'Tamsin … her rival, Oyelaran'. Also `rag check`'s margin for calling such a claim contradicted.")
    check_supported_at: float = Field(0.7, ge=0.0, le=1.0, description="`rag check` calls a claim supported when the judge's P(true), of its three answers true/false/unknown, reaches this for a sentence with every number and name of the claim; calibrated on evals/claims.jsonl as the lowest threshold with no more false 'supported' than a stricter one, with the roles-exchanged check on (see evals/README.md).")
    check_contradicted_at: float = Field(0.4, ge=0.0, le=1.0, description="`rag check` calls a claim contradicted when the judge's P(false) reaches this and is above its other two answers (and no date shows the sentence is about another occasion).")
    check_same_rest: float = Field(0.6, ge=0.0, le=1.0, description="`rag check` calls a claim contradicted when a candidate sentence gives one of its values (year, date, number, name, negation) differently and has at least this share of the claim's other content words; calibrated on evals/claims.jsonl (see evals/README.md).")


def setting_problem(exc: ValidationError) -> str:
    """One line for the first setting ``Settings`` could not read: its variable, the value, why.

    >>> import os
    >>> os.environ["RAG_TOP_K"] = "many"
    >>> try:
    ...     Settings()
    ... except ValidationError as exc:
    ...     print(setting_problem(exc))
    setting RAG_TOP_K='many': Input should be a valid integer, unable to parse string as an integer
    >>> del os.environ["RAG_TOP_K"]
    """
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    return f"setting RAG_{field.upper()}={first.get('input')!r}: {first['msg']}"
