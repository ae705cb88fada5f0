"""Writing the PostgreSQL store: the ingest lock, migrations, and one transaction per batch.

``PgWriter`` is what ``ingest/run.py`` drives when ``store=postgres``. It holds a session-level
advisory lock for the whole ingest (one per database, that is per corpus), so a second ingest
from any machine fails at once with the FAISS store's message; PostgreSQL releases the lock when
the session ends, also when the process is killed. An incremental ingest commits each batch of
files in its own transaction (delete the file's old rows, insert the new ones, adjust the
lexicon, the postings and the stats), so a crash leaves every file in its old or its new state, and readers
keep answering from the committed state meanwhile. A rebuild (``--rebuild``, another model or
chunking, a damaged schema) drops and recreates the tables and fills them in ONE transaction:
readers see the old index until it commits.

It reads no files and embeds nothing; ``ingest/run.py`` does both.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from ..errors import IndexMismatchError, IngestError, RagError
from ..settings import Settings
from ..types import Chunk
from .pg import (
    BM25_B,
    BM25_K1,
    FORMAT_VERSION,
    HNSW_SQL,
    IMPACT_SQL,
    LOCK_SQL,
    MIGRATIONS,
    TABLES,
    bm25_tokens,
    check_manifest,
    document_from,
    schema_state,
    tsvector_literal,
)
from .pg_server import database_url, describe
from .store import Document

COPY_CHUNKS = "COPY chunks (document_id, chunk_key, data, n_tokens, lexemes, embedding) FROM STDIN"
# the new chunks' postings, from their stored tsvectors (the first batch fixes the impacts' average length)
FIX_IMPACT_AVGDL = "UPDATE corpus_stats SET impact_avgdl = tokens::float8 / chunks WHERE impact_avgdl IS NULL AND chunks > 0 AND tokens > 0"
ADD_POSTINGS = f"""
INSERT INTO postings (chunk_id, impact, tf, lexeme)
SELECT c.id, {IMPACT_SQL}, cardinality(u.positions), u.lexeme
FROM chunks c CROSS JOIN corpus_stats s CROSS JOIN LATERAL unnest(c.lexemes) AS u WHERE c.document_id = ANY(%s)
"""


def pg_manifest(settings: Settings, expected: dict[str, Any]) -> dict[str, Any]:
    m, ef = settings.hnsw_m, max(settings.hnsw_ef_construction, 2 * settings.hnsw_m)
    return {
        "format_version": FORMAT_VERSION,
        **expected,
        "store": "postgres",
        "vector_index": {"kind": "pgvector-hnsw-cosine", "m": m, "ef_construction": ef, "exact_up_to": settings.approximate_index_above},
        "lexical_index": {"kind": "bm25-lucene", "k1": BM25_K1, "b": BM25_B, "tokens": "bm25s-english-snowball"},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


class PgWriter:
    """An open ingest: lock held, schema ready. ``rebuild`` is True when everything is re-written
    (asked for, or the stored index does not fit the settings or is damaged)."""

    def __init__(self, settings: Settings, expected: dict[str, Any], *, rebuild: bool) -> None:
        import psycopg

        self.settings, self.expected = settings, expected
        self.where = describe(settings)
        url = database_url(settings, create=True)
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=30)
        except psycopg.OperationalError as exc:
            raise IngestError(f"cannot connect to {self.where} ({' '.join(str(exc).split())[-200:]})") from exc
        try:
            if not self.conn.execute(LOCK_SQL).fetchone()[0]:
                raise IngestError(f"another ingest is writing {self.where}; wait for it to finish and retry")
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            from pgvector.psycopg import register_vector

            register_vector(self.conn)
            version, manifest = schema_state(self.conn)
            if manifest is not None and 0 < version < len(MIGRATIONS):
                with self.conn.transaction():
                    self._migrate()  # numbered migrations this version adds
                version = len(MIGRATIONS)
            try:
                check_manifest(manifest, version, expected, self.where, settings.index_dir)
                self.rebuild = rebuild
            except IndexMismatchError:
                self.rebuild = True  # another model/format/chunking, or damaged: everything is re-embedded
            self.counts = {"documents": 0, "chunks": 0}
            self.deferred_hnsw = False
            if self.rebuild:
                self.conn.execute("BEGIN")  # one transaction until ``finish``
                if self._tables_fit(version, manifest):
                    # DELETE, not DROP: readers keep answering from the old rows until COMMIT
                    self.conn.execute("DELETE FROM postings; DELETE FROM chunks; DELETE FROM documents; DELETE FROM lexicon; "
                                      "UPDATE corpus_stats SET documents = 0, chunks = 0, tokens = 0, impact_avgdl = NULL")
                else:  # another dimension or HNSW shape, damaged, or new: new tables (readers wait for COMMIT)
                    self.conn.execute(f"DROP TABLE IF EXISTS {', '.join(TABLES)} CASCADE")
                    self._migrate()
                    # nobody reads these tables before COMMIT: fill them first and build the HNSW
                    # index once in ``finish``, many times faster than inserting into the graph row by row
                    self.conn.execute("DROP INDEX chunks_embedding")
                    self.deferred_hnsw = True
                self._set_manifest()
        except BaseException:
            self.close()
            raise

    def _tables_fit(self, version: int, manifest: dict[str, Any] | None) -> bool:
        """The existing tables can take the rebuilt index as they are."""
        if manifest is None or version != len(MIGRATIONS) or manifest.get("embedding_dim") != self.expected["embedding_dim"]:
            return False
        want = pg_manifest(self.settings, self.expected)["vector_index"]
        have = manifest.get("vector_index") or {}
        return all(have.get(k) == want[k] for k in ("m", "ef_construction"))

    def _hnsw_sql(self) -> str:
        s = self.settings
        return HNSW_SQL.format(m=s.hnsw_m, ef_construction=max(s.hnsw_ef_construction, 2 * s.hnsw_m))

    def _migrate(self) -> None:
        params = {"dim": int(self.expected["embedding_dim"]), "hnsw": self._hnsw_sql(), "impact": IMPACT_SQL}
        self.conn.execute("CREATE TABLE IF NOT EXISTS rag_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {r[0] for r in self.conn.execute("SELECT version FROM rag_migrations").fetchall()}
        for number, _what, sql in MIGRATIONS:
            if number not in done:
                self.conn.execute(sql.format(**params))
                self.conn.execute("INSERT INTO rag_migrations (version) VALUES (%s)", (number,))

    def _set_manifest(self) -> None:
        from psycopg.types.json import Jsonb

        self.conn.execute(
            "INSERT INTO rag_manifest (id, manifest) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET manifest = excluded.manifest",
            (Jsonb(pg_manifest(self.settings, self.expected)),),
        )

    def old_documents(self) -> list[Document]:
        """The stored documents without their text (what incremental ingest compares files with)."""
        if self.rebuild:
            return []
        return [document_from(meta, "") for (meta,) in self.conn.execute("SELECT meta FROM documents ORDER BY id").fetchall()]

    def apply(self, removed: list[str], added: list[tuple[Document, list[Chunk]]], vectors: np.ndarray) -> None:
        """Remove the documents named ``removed`` and add ``added`` (``vectors``: one row per
        chunk, in order), in one transaction (or in the rebuild's)."""
        if not removed and not added:
            return
        try:
            if self.rebuild:
                self._apply(removed, added, vectors)
            else:
                with self.conn.transaction():
                    self._apply(removed, added, vectors)
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001 - disk full, server gone: one line, old state kept
            kept = "the previous index is unchanged" if self.rebuild else "batches committed before are kept, this one is not"
            raise IngestError(f"could not write the index in {self.where} ({' '.join(str(exc).split())[-160:]}); {kept}") from exc

    def _apply(self, removed: list[str], added: list[tuple[Document, list[Chunk]]], vectors: np.ndarray) -> None:
        from psycopg.types.json import Jsonb

        conn = self.conn
        df: Counter[str] = Counter()
        docs = chunks = tokens = 0
        if removed:
            gone = conn.execute(
                "SELECT count(DISTINCT c.document_id), count(*), coalesce(sum(c.n_tokens), 0) FROM chunks c "
                "JOIN documents d ON d.id = c.document_id WHERE d.source = ANY(%s)", (removed,)).fetchone()
            for lexeme, n in conn.execute(
                "SELECT x, count(*) FROM chunks c JOIN documents d ON d.id = c.document_id, "
                "unnest(tsvector_to_array(c.lexemes)) AS x WHERE d.source = ANY(%s) GROUP BY x", (removed,)).fetchall():
                df[lexeme] -= n
            conn.execute("DELETE FROM postings WHERE chunk_id IN (SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id "
                         "WHERE d.source = ANY(%s))", (removed,))
            deleted = conn.execute("DELETE FROM documents WHERE source = ANY(%s)", (removed,)).rowcount
            docs, chunks, tokens = -deleted, -int(gone[1]), -int(gone[2])
        row = 0
        rows: list[tuple] = []
        new_documents: list[int] = []
        for document, pieces in added:
            meta = {k: v for k, v in document.__dict__.items() if k != "text"}
            doc_id = conn.execute(
                "INSERT INTO documents (source, origin, meta, text) VALUES (%s, %s, %s, %s) RETURNING id",
                (document.source, document.origin, Jsonb(meta), document.text)).fetchone()[0]
            docs += 1
            new_documents.append(doc_id)
            for chunk in pieces:
                words = bm25_tokens(chunk.text)
                df.update(set(words))
                rows.append((doc_id, chunk.id, Jsonb(chunk.to_dict()), len(words), tsvector_literal(words), np.asarray(vectors[row], dtype=np.float32)))
                row += 1
                chunks += 1
                tokens += len(words)
        if rows:
            with conn.cursor().copy(COPY_CHUNKS) as copy:
                for r in rows:
                    copy.write_row(r)
        changed = [(k, v) for k, v in df.items() if v]
        if changed:
            conn.execute(
                "INSERT INTO lexicon (lexeme, df) SELECT * FROM unnest(%s::text[], %s::int[]) "
                "ON CONFLICT (lexeme) DO UPDATE SET df = lexicon.df + excluded.df",
                ([k for k, _ in changed], [v for _, v in changed]))
            conn.execute("DELETE FROM lexicon WHERE df <= 0")
        conn.execute("UPDATE corpus_stats SET documents = documents + %s, chunks = chunks + %s, tokens = tokens + %s", (docs, chunks, tokens))
        if new_documents:
            conn.execute(FIX_IMPACT_AVGDL)
            conn.execute(ADD_POSTINGS, (new_documents,))
        self.counts["documents"] += docs
        self.counts["chunks"] += chunks

    def total_chunks(self) -> int:
        return int(self.conn.execute("SELECT chunks FROM corpus_stats").fetchone()[0])

    def finish(self) -> None:
        """Commit a rebuild; refresh the planner's statistics after a change."""
        if self.deferred_hnsw:
            self.conn.execute("SET LOCAL maintenance_work_mem = '1GB'")  # the graph built in memory
            self.conn.execute(self._hnsw_sql())
        if self.rebuild:
            self.conn.execute("COMMIT")
        if self.rebuild or self.counts["chunks"] or self.counts["documents"]:
            self.conn.execute("ANALYZE chunks")
            self.conn.execute("ANALYZE postings")

    def close(self) -> None:
        """Roll back what is not committed, release the lock (closing the session does both)."""
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass
