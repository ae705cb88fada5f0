"""The data and the stores that ``bench.store_rows`` measures, built once and cached.

The data are SYNTHESISED, not embedded: unit vectors around 1,024 random centres (clustered
Gaussian noise, 384 dimensions), and texts of ~120 words drawn from a Zipf law over 50,000 made-up
words; each query is a chunk's vector plus noise, with three of that chunk's rarer words.
The FAISS index (HNSW + bm25s) and the PostgreSQL database (bulk-loaded with the product's schema,
then indexed) are cached under ~/.cache/rag-news/bench/stores; a cached database at an older
schema is upgraded by the product's own migrations, as ``rag ingest`` would. Also the product's
write paths (``PgWriter``, ``write_index``), timed. Measures no searches: ``store_rows`` does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

CACHE = Path.home() / ".cache" / "rag-news" / "bench" / "stores"
GENERATOR = "store-synth-v2"  # bump when the data change: the caches are rebuilt (a schema change migrates)
DIM, CENTRES, VOCAB, WORDS_PER_CHUNK, CHUNKS_PER_DOC = 384, 1024, 50_000, 120, 10


class QueryVectors:
    """An embedder that returns the synthesised vector of each known query text."""

    name, dim = "bench-synthetic", DIM

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthesise(n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray, list[str], list[str]]:
    """(chunk vectors, chunk texts, query vectors, query texts, common-word queries); deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CENTRES, DIM)).astype(np.float32)
    vectors = np.empty((n, DIM), dtype=np.float32)
    for lo in range(0, n, 50_000):
        hi = min(n, lo + 50_000)
        vectors[lo:hi] = _unit(centres[rng.integers(0, CENTRES, hi - lo)] + 0.9 * rng.standard_normal((hi - lo, DIM)).astype(np.float32))
    syllables = [a + b for a in "bdfgklmnprstvz" for b in "aeiou"]
    words = np.array(["".join(rng.choice(syllables, 3)) + str(i % 7) for i in range(VOCAB)])  # digits keep stemmers off
    p = 1.0 / np.arange(1, VOCAB + 1) ** 1.07
    p /= p.sum()
    texts = []
    ranks_all = []
    for lo in range(0, n, 50_000):
        ranks = rng.choice(VOCAB, size=(min(n, lo + 50_000) - lo, WORDS_PER_CHUNK), p=p)
        texts.extend(" ".join(words[r]) + "." for r in ranks)
        ranks_all.append(ranks)
    ranks = np.concatenate(ranks_all)
    picks = rng.choice(n, n_queries, replace=False)
    queries = _unit(vectors[picks] + 0.05 * rng.standard_normal((n_queries, DIM)).astype(np.float32))
    query_texts = []
    for i, row in enumerate(picks):
        rare = sorted(set(ranks[row]), reverse=True)[:3]  # the chunk's three rarest words
        query_texts.append(f"q{i} " + " ".join(words[r] for r in rare))
    common = [" ".join(words[r] for r in rng.integers(20, 200, 3)) for _ in range(n_queries)]  # words in ~3-30% of chunks
    return vectors, texts, queries, query_texts, common


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatIP(DIM)
    index.add(vectors)
    return index.search(queries, k)[1]


# -- the two stores, built once and cached --------------------------------------------------------
def chunk_objects(texts: list[str]):  # noqa: ANN201
    from rag.types import Chunk, Sentence

    return [Chunk(f"doc{i // CHUNKS_PER_DOC:07d}.txt:{(i % CHUNKS_PER_DOC) * 1000}-{(i % CHUNKS_PER_DOC) * 1000 + len(t)}",
                  f"doc{i // CHUNKS_PER_DOC:07d}.txt", (i % CHUNKS_PER_DOC) * 1000, (i % CHUNKS_PER_DOC) * 1000 + len(t), t,
                  (Sentence(t, (i % CHUNKS_PER_DOC) * 1000, (i % CHUNKS_PER_DOC) * 1000 + len(t)),), file=f"doc{i // CHUNKS_PER_DOC:07d}.txt")
            for i, t in enumerate(texts)]


def document_objects(chunks) -> list:  # noqa: ANN001
    from rag.index.store import Document

    docs = []
    for lo in range(0, len(chunks), CHUNKS_PER_DOC):
        group = chunks[lo : lo + CHUNKS_PER_DOC]
        text = " " * (group[-1].end)
        for c in group:
            text = text[: c.start] + c.text + text[c.end :]
        docs.append(Document(group[0].source, text, "0" * 64, None, None, "utf-8", len(group), file=group[0].source))
    return docs


def faiss_store(n: int, vectors: np.ndarray, chunks: list, docs: list, settings, log) -> tuple:  # noqa: ANN001
    """IndexData as ``load_index`` returns it (HNSW over ``n`` vectors, bm25s), and build seconds."""
    import faiss
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.faiss import FaissVectorStore

    from rag.index.store import IndexData, VectorIndexConfig, build_vector_index

    folder = CACHE / f"faiss-{GENERATOR}-{n}"
    stamp = folder / "stamp.json"
    if stamp.is_file():
        built = json.loads(stamp.read_text())
        index = faiss.read_index(str(folder / "faiss.index"))
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = settings.hnsw_ef_search  # as built now, not as cached
        bm25 = BM25Retriever.from_persist_dir(str(folder / "bm25"))
    else:
        log(f"  faiss {n}: building HNSW and bm25s ...")
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        index, _ = build_vector_index(vectors, DIM, VectorIndexConfig.from_settings(settings))
        hnsw_s = time.perf_counter() - t
        t = time.perf_counter()
        bm25 = BM25Retriever.from_defaults(nodes=[TextNode(text=c.text, id_=c.id) for c in chunks], similarity_top_k=20)
        bm25_s = time.perf_counter() - t
        faiss.write_index(index, str(folder / "faiss.index"))
        bm25.persist(str(folder / "bm25"))
        built = {"hnsw_s": hnsw_s, "bm25_s": bm25_s}
        stamp.write_text(json.dumps(built))
    data = IndexData(folder, {"vector_index": {"kind": "hnsw"}}, {d.source: d for d in docs}, chunks, vectors, FaissVectorStore(faiss_index=index), bm25)
    return data, built


def pg_store(n: int, vectors: np.ndarray, chunks: list, docs: list, settings, embedder, log) -> tuple:  # noqa: ANN001
    """A PgIndex over a database of ``n`` chunks on a cached embedded server, and build seconds."""
    import warnings

    import psycopg
    from psycopg.types.json import Jsonb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    from pgvector.psycopg import register_vector

    from rag.index.pg import HNSW_SQL, MIGRATIONS, bm25_tokens, tsvector_literal
    from rag.index.pg_write import pg_manifest
    from rag.index.store import expected_manifest

    CACHE.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(CACHE / f"pg-{GENERATOR}", cleanup_mode="stop")
    name = f"bench_{n}"
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    url = server.get_uri(name)
    built = None
    if exists:
        with psycopg.connect(url, autocommit=True) as conn:
            try:
                built = conn.execute("SELECT built FROM bench_stamp").fetchone()[0]
            except psycopg.Error:
                built = None
    if built is None:
        log(f"  postgres {n}: loading and indexing ...")
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
            register_vector(conn)
            conn.execute("CREATE TABLE rag_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            s = settings
            conn.execute(MIGRATIONS[0][2].format(dim=DIM, hnsw=HNSW_SQL.format(m=s.hnsw_m, ef_construction=max(s.hnsw_ef_construction, 2 * s.hnsw_m))))
            conn.execute("INSERT INTO rag_migrations (version) VALUES (1)")  # the later ones below, as an upgrade
            conn.execute("DROP INDEX chunks_embedding; DROP INDEX chunks_lexemes")  # bulk load first, index after
            t = time.perf_counter()
            tokens = 0
            with conn.cursor().copy("COPY documents (id, source, origin, meta, text) FROM STDIN") as copy:
                for i, d in enumerate(docs, 1):
                    copy.write_row((i, d.source, d.origin, Jsonb({k: v for k, v in d.__dict__.items() if k != "text"}), d.text))
            with conn.cursor().copy("COPY chunks (document_id, chunk_key, data, n_tokens, lexemes, embedding) FROM STDIN") as copy:
                for i, (c, v) in enumerate(zip(chunks, vectors)):
                    words = bm25_tokens(c.text)
                    tokens += len(words)
                    copy.write_row((i // CHUNKS_PER_DOC + 1, c.id, Jsonb(c.to_dict()), len(words), tsvector_literal(words), v))
            load_s = time.perf_counter() - t
            conn.execute("SELECT setval('documents_id_seq', %s)", (len(docs),))
            t = time.perf_counter()
            conn.execute("INSERT INTO lexicon SELECT x, count(*) FROM chunks, unnest(tsvector_to_array(lexemes)) AS x GROUP BY x")
            conn.execute("UPDATE corpus_stats SET documents = %s, chunks = %s, tokens = %s", (len(docs), len(chunks), tokens))
            lexicon_s = time.perf_counter() - t
            t = time.perf_counter()
            conn.execute("CREATE INDEX chunks_lexemes ON chunks USING gin (lexemes)")
            gin_s = time.perf_counter() - t
            conn.execute("SET maintenance_work_mem = '4GB'")
            conn.execute("SET max_parallel_maintenance_workers = 1")  # 2 cores: the leader and one worker
            t = time.perf_counter()
            conn.execute(f"CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops) WITH (m = {s.hnsw_m}, ef_construction = {max(s.hnsw_ef_construction, 2 * s.hnsw_m)})")
            hnsw_s = time.perf_counter() - t
            conn.execute("VACUUM ANALYZE")
            conn.execute("INSERT INTO rag_manifest VALUES (1, %s)", (Jsonb(pg_manifest(settings, expected_manifest(settings, embedder))),))
            built = {"load_s": load_s, "lexicon_s": lexicon_s, "gin_s": gin_s, "hnsw_s": hnsw_s}
            conn.execute("CREATE TABLE bench_stamp (built jsonb)")
            conn.execute("INSERT INTO bench_stamp VALUES (%s)", (Jsonb(built),))
    built = upgrade(url, built, log)
    from rag.index.pg import open_pg_index

    index = open_pg_index(settings.model_copy(update={"database_url": url}), expected_manifest(settings, embedder))
    with psycopg.connect(url) as conn:
        sizes = dict(conn.execute(
            "SELECT 'database', pg_database_size(current_database()) UNION ALL "
            "SELECT 'chunks (table + TOAST)', pg_table_size('chunks') UNION ALL "
            "SELECT 'HNSW index', pg_relation_size('chunks_embedding') UNION ALL "
            "SELECT 'GIN index', pg_relation_size('chunks_lexemes') UNION ALL "
            "SELECT 'postings (table)', pg_table_size('postings') UNION ALL "
            "SELECT 'postings indexes', pg_indexes_size('postings') UNION ALL "
            "SELECT 'documents', pg_total_relation_size('documents') UNION ALL "
            "SELECT 'lexicon', pg_total_relation_size('lexicon')").fetchall())
    return index, built, sizes, server


def upgrade(url: str, built: dict, log) -> dict:  # noqa: ANN001
    """Apply the product's migrations the cached database lacks (as ``rag ingest`` does, in one
    transaction), then VACUUM so that index-only scans need no heap; seconds added to ``built``."""
    import psycopg
    from psycopg.types.json import Jsonb

    from rag.index.pg import IMPACT_SQL, MIGRATIONS

    with psycopg.connect(url, autocommit=True) as conn:
        done = {r[0] for r in conn.execute("SELECT version FROM rag_migrations").fetchall()}
        todo = [(number, sql) for number, _, sql in MIGRATIONS if number not in done]
        if not todo:
            return built
        log(f"  postgres: migrating to schema {todo[-1][0]} ...")
        t = time.perf_counter()
        with conn.transaction():
            conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for number, sql in todo:
                conn.execute(sql.format(impact=IMPACT_SQL))  # no migration after the first needs dim or hnsw
                conn.execute("INSERT INTO rag_migrations (version) VALUES (%s)", (number,))
        built = {**built, "migrate_s": time.perf_counter() - t, "migrated_to": todo[-1][0]}
        conn.execute("VACUUM ANALYZE")
        conn.execute("UPDATE bench_stamp SET built = %s", (Jsonb(built),))
    return built


def write_path(settings, embedder, server, n: int = 4096) -> dict[str, float]:  # noqa: ANN001
    """Chunks/s through the product's writers, embedding excluded (new databases on ``server``):
    FAISS ``write_index``; PostgreSQL's first ingest (one transaction, HNSW built at the end) and
    its incremental path (a transaction per batch of 256 chunks into indexed tables)."""
    import tempfile

    import psycopg

    from rag.index.pg_write import PgWriter
    from rag.index.store import VectorIndexConfig, expected_manifest, write_index

    vectors, texts, *_ = synthesise(n, 1, seed=7)
    chunks = chunk_objects(texts)
    docs = document_objects(chunks)
    pairs = [(d, chunks[i * CHUNKS_PER_DOC : (i + 1) * CHUNKS_PER_DOC]) for i, d in enumerate(docs)]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_index(Path(tmp), {"format_version": 3, **expected_manifest(settings, embedder)}, docs, chunks, vectors, vector_index=VectorIndexConfig.from_settings(settings))
        out["faiss"] = n / (time.perf_counter() - t)
    for mode in ("first", "incremental"):
        name = f"bench_writes_{mode}"
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        pg = settings.model_copy(update={"store": "postgres", "database_url": server.get_uri(name)})
        writer = PgWriter(pg, expected_manifest(pg, embedder), rebuild=False)  # a new database: rebuild mode
        try:
            if mode == "incremental":  # commit the empty, fully indexed tables, then a transaction per batch
                writer.conn.execute(writer._hnsw_sql())
                writer.conn.execute("COMMIT")
                writer.rebuild = writer.deferred_hnsw = False
            t = time.perf_counter()
            row = 0
            for lo in range(0, len(pairs), 256 // CHUNKS_PER_DOC):
                batch = pairs[lo : lo + 256 // CHUNKS_PER_DOC]
                count = sum(len(c) for _, c in batch)
                writer.apply([], batch, vectors[row : row + count])
                row += count
            writer.finish()
            out[f"postgres_{mode}"] = n / (time.perf_counter() - t)
        finally:
            writer.close()
    return out
