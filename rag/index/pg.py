"""The PostgreSQL store: schema, migrations, manifest, connections, and the index as the engine sees it.

Tables (one corpus per database)::

    rag_migrations  version, applied_at          numbered schema changes applied (MIGRATIONS)
    rag_manifest    one row: format version, embedding model, dimension, chunking, indexes
    documents       source (unique), origin file, meta (every Document field but text), text
    chunks          document_id, chunk_key, data (Chunk.to_dict()), n_tokens, lexemes, embedding
                    + HNSW (vector_cosine_ops) on embedding, GIN on lexemes
    lexicon         lexeme -> document frequency (chunks holding it), for BM25's idf
    corpus_stats    one row: documents, chunks, tokens (BM25's average length), impact_avgdl
    postings        lexeme, chunk_id, tf, impact: one row per word of a chunk (migration 2)
                    + btree (lexeme, impact DESC, chunk_id): a word's best chunks first
                    + primary key (chunk_id, lexeme) INCLUDE (tf): one chunk's tf of a word

``lexemes`` is a tsvector built from exactly the tokens llama-index's BM25Retriever (bm25s) makes
of a chunk (lower case, the same token pattern, English stop words, Snowball stemmer), with
positions, so a chunk's term frequencies are exact; the lexical search is the same BM25 (Lucene
variant, k1 1.5, b 0.75) computed in SQL (``pg_retrieve.py``). ``postings`` holds the same term
frequencies once more, one row per (word, chunk), with the word's BM25 length-normalised weight
in that chunk (``impact``, idf left out: it changes with every ingest) computed with the average
length ``impact_avgdl`` of the first batch written; it only orders a word's chunks so that the
search can read a common word's best few hundred instead of all of them. Scores are always
computed from ``tf`` and the current statistics.

``PgIndex`` is what ``Assistant`` holds: ``documents`` and ``chunks`` are read on use (a mapping
and a sequence over SQL, with a small cache), so nothing is loaded at start and every process sees
what an ingest committed. Writing is ``pg_write.py``; which URL, ``pg_server.py``.
"""

from __future__ import annotations

import atexit
import functools
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..errors import IndexMismatchError, IndexNotFoundError, RagError
from ..settings import Settings
from ..types import Chunk
from .pg_server import database_url, describe
from .store import FIX, Document

FORMAT_VERSION = 1  # of the PostgreSQL layout; the FAISS store's is store.FORMAT_VERSION
POOL_SIZE = 10  # connections per process and database; more requests wait for one
BM25_K1, BM25_B = 1.5, 0.75  # bm25s defaults, which llama-index's BM25Retriever uses
LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext('rag-news ingest ' || current_database()))"

# Numbered schema changes: (number, what, SQL). Never edit a released one; append the next.
# ``{dim}`` and ``{hnsw}`` (HNSW_SQL with m, ef_construction) come from the embedder and settings.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "documents, chunks (HNSW + GIN), lexicon, stats, manifest", """
        CREATE TABLE rag_manifest (id int PRIMARY KEY CHECK (id = 1), manifest jsonb NOT NULL);
        CREATE TABLE documents (
            id bigserial PRIMARY KEY,
            source text NOT NULL UNIQUE,
            origin text NOT NULL,
            meta jsonb NOT NULL,
            text text NOT NULL
        );
        CREATE INDEX documents_origin ON documents (origin);
        CREATE TABLE chunks (
            id bigserial PRIMARY KEY,
            document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            chunk_key text NOT NULL UNIQUE,
            data jsonb NOT NULL,
            n_tokens int NOT NULL,
            lexemes tsvector NOT NULL,
            embedding vector({dim}) NOT NULL
        );
        -- vectors inline in the row (pgvector's default moves them out to TOAST once a row passes
        -- 2 kB, which ours do): an exact scan and an HNSW build read no TOAST; text and lexemes go there
        ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE PLAIN;
        CREATE INDEX chunks_document ON chunks (document_id);
        CREATE INDEX chunks_lexemes ON chunks USING gin (lexemes);
        {hnsw};
        CREATE TABLE lexicon (lexeme text PRIMARY KEY, df int NOT NULL);
        CREATE TABLE corpus_stats (
            id int PRIMARY KEY CHECK (id = 1), documents bigint NOT NULL, chunks bigint NOT NULL, tokens bigint NOT NULL
        );
        INSERT INTO corpus_stats VALUES (1, 0, 0, 0);
    """),
    (2, "postings (lexeme, chunk, tf, impact) for reading a common word's best chunks first", """
        ALTER TABLE corpus_stats ADD COLUMN impact_avgdl float8;
        UPDATE corpus_stats SET impact_avgdl = tokens::float8 / chunks WHERE chunks > 0;
        CREATE TABLE postings (chunk_id bigint NOT NULL, impact real NOT NULL, tf smallint NOT NULL, lexeme text NOT NULL);
        INSERT INTO postings SELECT c.id, {impact}, cardinality(u.positions), u.lexeme
        FROM chunks c CROSS JOIN corpus_stats s CROSS JOIN LATERAL unnest(c.lexemes) AS u;
        CREATE INDEX postings_impact ON postings (lexeme, impact DESC, chunk_id);
        ALTER TABLE postings ADD PRIMARY KEY (chunk_id, lexeme) INCLUDE (tf);
    """),
)
# A posting's weight ("impact"): BM25's tf part with the average length fixed at ``impact_avgdl``
# (``c`` a chunks row, ``u`` its unnested tsvector, ``s`` corpus_stats), a real as the index keeps it.
IMPACT_SQL = (f"(cardinality(u.positions)::float8 / (cardinality(u.positions) + {BM25_K1} * "
              f"(1 - {BM25_B} + {BM25_B} * c.n_tokens / s.impact_avgdl)))::real")
# the tables each migration adds (a database at version 1 has no postings and is not damaged)
TABLES_OF = {1: ("chunks", "documents", "lexicon", "corpus_stats", "rag_manifest", "rag_migrations"), 2: ("postings",)}
HNSW_SQL = "CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops) WITH (m = {m}, ef_construction = {ef_construction})"
TABLES = tuple(t for number in sorted(TABLES_OF) for t in TABLES_OF[number])


# -- the lexical analyser, identical to llama-index's BM25Retriever -------------------------------
_WORD = re.compile(r"(?u)\b\w\w+\b")
_stemmers = threading.local()  # PyStemmer objects are not thread-safe


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.tokenization import _infer_stopwords

    return frozenset(_infer_stopwords("english"))


def bm25_tokens(text: str) -> list[str]:
    """``"The ships sailed"`` -> ``["ship", "sail"]``: lower case, \\w\\w+ words, English stop
    words dropped, Snowball-stemmed, as bm25s tokenises for llama-index's BM25Retriever."""
    stemmer = getattr(_stemmers, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _stemmers.stemmer = Stemmer.Stemmer("english")
    stop = _stopwords()
    return stemmer.stemWords([w for w in _WORD.findall(text.lower()) if w not in stop])


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(tokens: list[str]) -> str:
    """Tokens with their positions as a tsvector literal: ``['ship', 'sail', 'ship']`` ->
    ``"'ship':1,3 'sail':2"`` (PostgreSQL keeps positions up to 16383; chunks are far shorter).
    Lexemes over 2,000 bytes (PostgreSQL's limit is 2,047) are left out."""
    positions: dict[str, list[int]] = {}
    for i, token in enumerate(tokens[:16383], 1):
        if len(token.encode("utf-8")) <= 2000:
            positions.setdefault(token, []).append(i)
    return " ".join(f"{_quote(t)}:{','.join(map(str, p))}" for t, p in positions.items())


def tsquery_any(lexemes: list[str]) -> str:
    """``["ship", "sail"]`` -> ``"'ship' | 'sail'"`` (any of them; no parsing or stemming)."""
    return " | ".join(_quote(t) for t in lexemes)


# -- connections ----------------------------------------------------------------------------------
_pools: dict[str, Any] = {}
_pools_lock = threading.Lock()


def _configure(ef_search: int):  # noqa: ANN202
    def configure(conn: Any) -> None:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        conn.execute(f"SET hnsw.ef_search = {int(ef_search)}")
        conn.commit()

    return configure


def pool_for(url: str, ef_search: int) -> Any:
    """One connection pool per process, URL and ef_search; closed at exit (before pgserver stops
    its server: atexit runs the later registration first)."""
    try:
        from psycopg_pool import ConnectionPool
    except ImportError as exc:
        raise RagError(f"the PostgreSQL store is not installed ({exc.name}); run: pip install -e .") from exc
    key = f"{url}#ef={ef_search}"
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, kwargs={"autocommit": True}, configure=_configure(ef_search), open=False, name="rag-pg")
            pool.open(wait=True, timeout=30)
            _pools[key] = pool
            if len(_pools) == 1:
                atexit.register(close_pools)
        return pool


def close_pools(url: str | None = None) -> None:
    """Close this process's pools (those for ``url`` only, when given)."""
    with _pools_lock:
        for key in [k for k in _pools if url is None or k.rsplit("#ef=", 1)[0] == url]:
            _pools.pop(key).close(timeout=5)


class Database:
    """A pool and the few query shapes the store uses."""

    def __init__(self, pool: Any, where: str) -> None:
        self.pool = pool
        self.where = where

    def rows(self, sql: str, params: Any = None) -> list[tuple]:
        with self.pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Any = None) -> tuple | None:
        with self.pool.connection() as conn:
            return conn.execute(sql, params).fetchone()

    def stream(self, sql: str, params: Any = None, size: int = 2000) -> Iterator[tuple]:
        """Rows through a server-side cursor, ``size`` at a time (for reading every chunk)."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor(name="rag_stream") as cur:
            cur.itersize = size
            cur.execute(sql, params)
            yield from cur


# -- the index as the engine sees it ------------------------------------------------------------
def document_from(meta: dict[str, Any], text: str) -> Document:
    return Document(**{**meta, "text": text})


class PgDocuments(Mapping[str, Document]):
    """source -> Document, read from SQL on use (``values()`` reads all in one query)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __getitem__(self, source: str) -> Document:
        row = self._db.one("SELECT meta, text FROM documents WHERE source = %s", (source,))
        if row is None:
            raise KeyError(source)
        return document_from(row[0], row[1])

    def __len__(self) -> int:
        row = self._db.one("SELECT documents FROM corpus_stats")
        return int(row[0]) if row else 0

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self._db.rows("SELECT source FROM documents ORDER BY id")])

    def values(self) -> list[Document]:  # type: ignore[override]
        return [document_from(m, t) for m, t in self._db.stream("SELECT meta, text FROM documents ORDER BY id")]

    def items(self) -> list[tuple[str, Document]]:  # type: ignore[override]
        return [(d.source, d) for d in self.values()]


class PgTexts(Mapping[str, str]):
    """source -> stored text, for quoting. Texts are cached by document row id: a changed file
    gets new rows, so a cached text never disagrees with the offsets of the chunks of its row."""

    CACHE = 2048

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._by_id: OrderedDict[int, str] = OrderedDict()
        self._id_of: dict[str, int] = {}

    def of_document(self, document_id: int, source: str) -> str:
        with self._lock:
            text = self._by_id.get(document_id)
            if text is not None:
                self._by_id.move_to_end(document_id)
                self._id_of[source] = document_id
                return text
        row = self._db.one("SELECT text FROM documents WHERE id = %s", (document_id,))
        if row is None:  # removed by an ingest since it was retrieved: the current version
            return self[source]
        self._remember(document_id, source, row[0])
        return row[0]

    def _remember(self, document_id: int, source: str, text: str) -> None:
        with self._lock:
            self._by_id[document_id] = text
            self._id_of[source] = document_id
            while len(self._by_id) > self.CACHE:
                self._by_id.popitem(last=False)

    def __getitem__(self, source: str) -> str:
        with self._lock:
            known = self._id_of.get(source)
            if known is not None and known in self._by_id:
                return self._by_id[known]
        row = self._db.one("SELECT id, text FROM documents WHERE source = %s", (source,))
        if row is None:
            raise KeyError(source)
        self._remember(row[0], source, row[1])
        return row[1]

    def __len__(self) -> int:
        row = self._db.one("SELECT documents FROM corpus_stats")
        return int(row[0]) if row else 0

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self._db.rows("SELECT source FROM documents ORDER BY id")])


class PgChunks(Sequence[Chunk]):
    """Every chunk, in ingest order, streamed from SQL (list, timeline and summary answers read
    them all, as they do in memory with the FAISS store)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __len__(self) -> int:
        row = self._db.one("SELECT chunks FROM corpus_stats")
        return int(row[0]) if row else 0

    def __iter__(self) -> Iterator[Chunk]:
        for (data,) in self._db.stream("SELECT data FROM chunks ORDER BY id"):
            yield Chunk.from_dict(data)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return list(self)[i]
        n = len(self)
        if i < 0:
            i += n
        row = self._db.one("SELECT data FROM chunks ORDER BY id OFFSET %s LIMIT 1", (i,)) if 0 <= i < n else None
        if row is None:
            raise IndexError(i)
        return Chunk.from_dict(row[0])


@dataclass
class PgIndex:
    """A connected PostgreSQL index: what ``IndexData`` is for FAISS, read on use."""

    path: Path  # the index folder named in messages (the embedded server's data lives under it)
    manifest: dict[str, Any]
    db: Database
    settings: Settings
    documents: PgDocuments = field(init=False)
    chunks: PgChunks = field(init=False)
    texts: PgTexts = field(init=False)

    def __post_init__(self) -> None:
        self.documents = PgDocuments(self.db)
        self.chunks = PgChunks(self.db)
        self.texts = PgTexts(self.db)

    @property
    def where(self) -> str:
        return self.db.where


def schema_state(conn: Any) -> tuple[int, dict[str, Any] | None]:
    """(latest migration applied, manifest) of the database; (0, None) when it holds no index."""
    import psycopg

    try:
        with conn.transaction():
            version = conn.execute("SELECT coalesce(max(version), 0) FROM rag_migrations").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0, None
    tables = [t for number, names in TABLES_OF.items() if number <= version for t in names]
    missing = conn.execute("SELECT count(*) FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NULL", (tables,)).fetchone()[0]
    if missing:
        return int(version), None  # damaged: treated as having no manifest
    row = conn.execute("SELECT manifest FROM rag_manifest WHERE id = 1").fetchone()
    return int(version), (row[0] if row else None)


def check_manifest(manifest: dict[str, Any] | None, version: int, expected: dict[str, Any], where: str, index_dir: Path) -> None:
    """Raise the FAISS store's errors, worded alike: what differs, then how to rebuild."""
    fix = FIX.format(dir=index_dir)
    if version > len(MIGRATIONS):
        raise IndexMismatchError(f"index in {where} has schema {version}, this version reads up to {len(MIGRATIONS)}; {fix}")
    if manifest is None:
        raise IndexMismatchError(f"index in {where} is damaged (a table or the manifest row is missing); {fix}")
    if version < len(MIGRATIONS):
        raise IndexMismatchError(f"index in {where} has schema {version}, this version needs {len(MIGRATIONS)}; upgrade it with: rag ingest --index {index_dir}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(f"index in {where} has format {manifest.get('format_version')}, this version reads {FORMAT_VERSION}; {fix}")
    for key, want in expected.items():
        if manifest.get(key) != want:
            raise IndexMismatchError(f"index in {where} was built with {key}={manifest.get(key)!r}, settings say {want!r}; {fix}")


def index_summary(settings: Settings) -> dict[str, Any] | None:
    """What ``rag doctor`` shows of the database: where, format, articles, chunks, embedding model;
    None when it holds no index. Raises the store's errors for a damaged or unreachable one."""
    import psycopg

    where = describe(settings)
    try:
        with psycopg.connect(database_url(settings, create=False), autocommit=True, connect_timeout=30) as conn:
            version, manifest = schema_state(conn)
            if version == 0:
                return None
            if manifest is None:
                raise IndexMismatchError(f"index in {where} is damaged (a table or the manifest row is missing); {FIX.format(dir=settings.index_dir)}")
            articles, chunks = conn.execute("SELECT documents, chunks FROM corpus_stats").fetchone() or (0, 0)
    except psycopg.OperationalError as exc:
        raise RagError(f"cannot connect to {where} ({' '.join(str(exc).split())[-200:]})") from exc
    return {"where": where, "format": manifest.get("format_version"), "articles": articles, "chunks": chunks, "embedding_model": manifest.get("embedding_model")}


def open_pg_index(settings: Settings, expected: dict[str, Any]) -> PgIndex:
    """Connect, check the manifest against ``expected`` (embedding model, dimension, chunking)."""
    import psycopg

    where = describe(settings)
    url = database_url(settings, create=False)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=30) as conn:
            version, manifest = schema_state(conn)
    except psycopg.OperationalError as exc:
        raise RagError(f"cannot connect to {where} ({' '.join(str(exc).split())[-200:]})") from exc
    if version == 0:
        raise IndexNotFoundError(f"no index in {where}; build it with: RAG_STORE=postgres rag ingest --index {settings.index_dir}")
    check_manifest(manifest, version, expected, where, settings.index_dir)
    assert manifest is not None  # checked just above
    db = Database(pool_for(url, settings.hnsw_ef_search), where)
    return PgIndex(Path(settings.index_dir), manifest, db, settings)
